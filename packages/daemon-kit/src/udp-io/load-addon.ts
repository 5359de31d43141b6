import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The native class (native/udp_batch.c); see the comment above its constructor for the contract. */
export interface UdpBatchSocket {
  readonly port: number;
  readonly batchSize: number;
  readonly slotSize: number;
  readonly outputSize: number;
  readonly memory: ArrayBuffer;
  readonly inputOffset: number;
  readonly inputMetaOffset: number;
  readonly outputMetaOffset: number;
  readonly outputOffset: number;
  start(): void;
  /** The source address of a datagram of the current batch (only during onBatch). */
  address(slot: number): string;
  /** Sends the replies listed so far in this batch (only during onBatch). */
  flush(count: number): void;
  /** 0, or a negative errno. */
  sendTo(data: Uint8Array, address: string, port: number): number;
  close(): void;
  stats(): UdpBatchStats;
}

export interface UdpBatchStats {
  received: number;
  receiveCalls: number;
  sent: number;
  sendCalls: number;
  queued: number;
  queuedNow: number;
  dropped: number;
  sendErrors: number;
}

export interface UdpBatchSocketOptions {
  address: string;
  port: number;
  batchSize?: number;
  outputSize?: number;
  sendBufferSize?: number;
  /** Tests: every flush sends half of its replies, then queues the rest as if the kernel said EAGAIN. */
  testPartialSends?: boolean;
  onBatch: (count: number) => number;
  onError: (code: number) => void;
}

export interface UdpBatchAddon {
  UdpBatchSocket: new (options: UdpBatchSocketOptions) => UdpBatchSocket;
}

export type AddonLoad = { addon: UdpBatchAddon; path: string } | { addon: null; reason: string };

/** Where `npm install` builds the addon: packages/daemon-kit/native/build/Release (dist/udp-io → ../../native). */
export const ADDON_PATH = fileURLToPath(new URL('../../native/build/Release/udp_batch.node', import.meta.url));

/** Loads the addon, or says why not (never throws). Node caches it: loading again is a lookup. */
export function loadUdpBatchAddon(path = ADDON_PATH): AddonLoad {
  if (process.platform !== 'linux') return { addon: null, reason: `not built on ${process.platform}` };
  if (!existsSync(path)) return { addon: null, reason: `not built (no ${path})` };
  try {
    const addon = createRequire(import.meta.url)(path) as UdpBatchAddon;
    if (typeof addon.UdpBatchSocket !== 'function') return { addon: null, reason: `${path} has no UdpBatchSocket` };
    return { addon, path };
  } catch (error) {
    return { addon: null, reason: `cannot load ${path}: ${String((error as Error).message).split('\n')[0]}` };
  }
}
