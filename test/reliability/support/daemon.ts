import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLineWaiter, followLogRecords, waitUntil, type LogRecord } from '../../helpers/index.js';

/** The repository root (this file runs from test/build/reliability/support/). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export const BINS = {
  'kube-dns': `${repoRoot}packages/kubedns/bin/kube-dns`,
  'dnsmasq-cache': `${repoRoot}packages/dnsmasq-cache/bin/dnsmasq-cache`,
  sidecar: `${repoRoot}packages/sidecar/bin/sidecar`,
} as const;

export type DaemonName = keyof typeof BINS;

const MEMPROBE = fileURLToPath(new URL('./memprobe.js', import.meta.url));

export type { LogRecord };

export interface MemorySample {
  /** Live heap after a full GC. */
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  /** V8 old-space limit: a leak proportional to the traffic turns into a crash the test sees. */
  maxOldSpaceMb?: number;
}

/** A real bin of this repository running as a child process, its stderr parsed line by line. */
export interface Daemon {
  readonly name: DaemonName;
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: LogRecord[];
  stderr(): string;
  /** Resolves with the first line (already seen or to come) `match` accepts; rejects when the process exits. */
  waitForLine(match: (line: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL (a crash) unless asked otherwise; resolves once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Live heap after a full GC inside the process, and its RSS (through the memprobe preload). */
  memory(): Promise<MemorySample>;
  /** Resident set size from /proc, without disturbing the process. */
  rssBytes(): number;
}

/** Spawns `BINS[name]` with the memprobe preload; the caller passes loopback addresses and port 0. */
export function spawnDaemon(name: DaemonName, args: string[], options: SpawnOptions = {}): Daemon {
  const nodeArgs = ['--import', MEMPROBE];
  if (options.maxOldSpaceMb !== undefined) nodeArgs.push(`--max-old-space-size=${options.maxOldSpaceMb}`);
  const child = spawn(process.execPath, [...nodeArgs, BINS[name], ...args], {
    env: {
      PATH: process.env['PATH'],
      LOG_FORMAT: 'json',
      ...(process.env['MEMPROBE_SNAPSHOT_DIR'] ? { MEMPROBE_SNAPSHOT_DIR: process.env['MEMPROBE_SNAPSHOT_DIR'] } : {}),
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const log = createLineWaiter<LogRecord, { code: number | null; signal: NodeJS.Signals | null }>(exited);
  const lines = log.lines;
  let text = '';
  child.stderr.on('data', (chunk: string) => (text += chunk));
  followLogRecords(child.stderr, (line) => log.push(line));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const tail = (): string => text.trim().split('\n').slice(-3).join(' | ');

  const waitForLine = (match: (line: LogRecord) => boolean, timeoutMs = 10_000): Promise<LogRecord> =>
    log.waitFor((line) => match(line) && line, timeoutMs, {
      timeout: () => `${name}: no matching log line within ${timeoutMs} ms (last: ${tail()})`,
      exited: ({ code, signal }) => `${name} exited (${code ?? signal}) while a test waited for a log line: ${tail()}`,
    });

  return {
    name,
    child,
    pid: child.pid!,
    lines,
    stderr: () => text,
    waitForLine,
    exited,
    running,
    signal(signal) {
      if (running()) child.kill(signal);
    },
    async stop(signal = 'SIGKILL') {
      if (running()) child.kill(signal);
      await exited;
    },
    async memory() {
      if (!running()) throw new Error(`${name} is not running: ${tail()}`);
      const before = lines.length;
      child.kill('SIGUSR2');
      const line = await waitForLine((l) => 'memprobe' in l && lines.indexOf(l) >= before, 10_000);
      return line['memprobe'] as MemorySample;
    },
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
      return kb === undefined ? 0 : Number(kb) * 1024;
    },
  };
}

/** The port part of `host:port`, `host#port` or `host:port/path` as the daemons log their addresses. */
export function portOf(address: unknown): number {
  const text = String(Array.isArray(address) ? address[0] : address);
  const match = /[:#](\d+)(?:\/.*)?$/.exec(text);
  if (!match) throw new Error(`no port in ${text}`);
  return Number(match[1]);
}

/** Fails with the daemon's last lines if it is not running any more: "no crash" checks. */
export function assertRunning(daemon: Daemon): void {
  if (!daemon.running()) {
    throw new Error(`${daemon.name} is not running: ${daemon.stderr().trim().split('\n').slice(-5).join('\n')}`);
  }
}

/** Waits until a daemon's HTTP endpoint answers `path` with `status`. */
export async function waitForHttp(port: number, path: string, status: number, timeoutMs = 10_000): Promise<void> {
  await waitUntil(
    `HTTP ${status} from 127.0.0.1:${port}${path}`,
    async () => (await fetch(`http://127.0.0.1:${port}${path}`)).status === status,
    { timeoutMs, intervalMs: 50 },
  );
}
