import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandLine, type Clock, type SidecarConfig } from '@kube-dns/sidecar';
import { waitUntil } from '../helpers/index.js';

/** A clock the test moves by hand: scheduled callbacks run in time order as it advances. */
export class FakeClock implements Clock {
  private time = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  wallNow(): number {
    return 1_700_000_000_000 + this.time;
  }

  schedule(ms: number, callback: () => void): () => void {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), callback });
    return () => this.timers.delete(id);
  }

  /** When the next callback is due, or null. */
  nextAt(): number | null {
    let next: number | null = null;
    for (const timer of this.timers.values()) if (next === null || timer.at < next) next = timer.at;
    return next;
  }

  pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      let dueId: number | null = null;
      let due: { at: number; callback: () => void } | null = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= until && (due === null || timer.at < due.at)) {
          dueId = id;
          due = timer;
        }
      }
      if (due === null || dueId === null) break;
      this.timers.delete(dueId);
      this.time = due.at;
      due.callback();
    }
    this.time = until;
  }
}

/** A config from sidecar flags, serving HTTP on 127.0.0.1 and an ephemeral port. */
export function configFrom(args: string[]): SidecarConfig {
  return parseCommandLine(['--prometheus-addr=127.0.0.1', '--prometheus-port=0', ...args], {});
}

/** Shortens every probe's interval below the flag's 1 s floor, for fast tests. */
export function withProbeInterval(config: SidecarConfig, intervalMs: number): SidecarConfig {
  return { ...config, probes: config.probes.map((probe) => ({ ...probe, intervalMs })) };
}

export async function httpGet(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; body: string; type: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') ?? '' };
}

/** Sample values of the metrics text format, keyed by series (name plus labels). */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

/** Every series under `prefix` (counters and histograms only) must be ≥ its value in the sample before. */
export function assertNeverDecreases(samples: Map<string, number>[], prefix: string): void {
  for (let i = 1; i < samples.length; i++) {
    for (const [series, value] of samples[i]!) {
      if (!series.startsWith(prefix)) continue;
      const before = samples[i - 1]!.get(series);
      if (before !== undefined) assert.ok(value >= before, `${series} went from ${before} to ${value}`);
    }
  }
}

/** The repository root, from test/build/sidecar/. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface SidecarProcess {
  readonly port: number;
  readonly child: ChildProcess;
  output(): string;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Spawns the real bin with JSON logs and an ephemeral HTTP port on 127.0.0.1, and waits for its
 * "sidecar started" line, which carries the port it bound.
 */
export async function startSidecarBin(args: string[]): Promise<SidecarProcess> {
  const child = spawn(
    join(repoRoot, 'packages/sidecar/bin/sidecar'),
    ['--prometheus-addr=127.0.0.1', '--prometheus-port=0', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LOG_FORMAT: 'json' } },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const [code] = await exited;
    return code;
  };
  try {
    const port = await waitUntil('the sidecar to start', () => {
      if (child.exitCode !== null) throw new Error(`sidecar exited ${child.exitCode}: ${stderr.trim()}`);
      for (const line of stderr.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { message?: string; port?: number };
        if (entry.message === 'sidecar started') return entry.port;
      }
      return undefined;
    });
    return { port, child, output: () => stderr, stop };
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  }
}
