import net from 'node:net';
import { loadUdpBatchAddon, type UdpBatchAddon } from './load-addon.js';
import type { UdpIoKind, UdpIoMode } from './udp-endpoint.js';

export type UdpIoChoice =
  | { kind: 'batched'; addon: UdpBatchAddon; why: string }
  | { kind: 'dgram'; why: string; /** Set when batched was asked for and is not available. */ refused?: string };

/** DNS_UDP_IO's value, or undefined when it is unset or not one of dgram, batched, auto. */
export function parseUdpIoMode(value: string | undefined): UdpIoMode | undefined {
  return value === 'dgram' || value === 'batched' || value === 'auto' ? value : undefined;
}

/**
 * Which UDP I/O a listener on `host` gets: dgram when asked, else batched if the addon loads and the host is an IP
 * literal (the addon does not resolve names), else dgram with the reason.
 */
export function chooseUdpIo(mode: UdpIoMode, host: string, load = loadUdpBatchAddon): UdpIoChoice {
  if (mode === 'dgram') return { kind: 'dgram', why: 'DNS_UDP_IO=dgram' };
  const unavailable = (reason: string): UdpIoChoice =>
    mode === 'batched' ? { kind: 'dgram', why: reason, refused: reason } : { kind: 'dgram', why: reason };
  if (net.isIP(host) === 0) return unavailable(`${host} is not an IP address`);
  const loaded = load();
  if (loaded.addon === null) return unavailable(`batched UDP I/O ${loaded.reason}`);
  return { kind: 'batched', addon: loaded.addon, why: `recvmmsg/sendmmsg addon ${loaded.path}` };
}

export type { UdpIoKind };
