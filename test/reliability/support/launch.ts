import { mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiServerHandle, KubeconfigAuth } from '@kube-dns/apiserver-sim';
import type { UpstreamServer } from '@kube-dns/daemon-kit';
import { portOf, spawnDaemon, waitForHttp, type Daemon, type LogRecord, type SpawnOptions } from './daemon.js';

export interface KubeDnsDaemon extends Daemon {
  readonly dns: UpstreamServer;
  readonly healthzPort: number;
  readonly metricsPort: number;
  /** GET /readiness status. */
  readiness(): Promise<number>;
  /** Waits until /readiness answers 200 (it has synced with the apiserver). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** The Prometheus exposition text. */
  metrics(): Promise<string>;
}

/** A fresh temporary folder. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `reliability-${prefix}-`));
}

/** The simulator's kubeconfig in a temporary file (mode 0600). */
export async function writeKubeconfig(sim: ApiServerHandle, auth: KubeconfigAuth = {}): Promise<string> {
  const path = join(await tempDir('kubeconfig'), 'kubeconfig');
  await sim.writeKubeconfig(path, auth);
  return path;
}

/** Waits for a daemon's start-up line; one that never logs it is killed, not left behind. */
async function startupLine(daemon: Daemon, match: (line: LogRecord) => boolean): Promise<LogRecord> {
  try {
    return await daemon.waitForLine(match, 15_000);
  } catch (error) {
    daemon.signal('SIGKILL');
    throw error;
  }
}

/**
 * The real kube-dns bin on 127.0.0.1 with free ports (DNS, /readiness, metrics), debug-free JSON logs.
 * `args` come after the defaults, so a test may override any of them.
 */
export async function startKubeDns(args: string[], options: SpawnOptions = {}): Promise<KubeDnsDaemon> {
  const daemon = spawnDaemon(
    'kube-dns',
    [
      '--dns-bind-address=127.0.0.1',
      '--dns-port=0',
      '--healthz-bind-address=127.0.0.1',
      '--healthz-port=0',
      '--log-format=json',
      ...args,
    ],
    { ...options, env: { PROMETHEUS_PORT: '0', ...options.env } },
  );
  const listening = await startupLine(daemon, (line) => line.message === 'listening');
  const healthzPort = portOf(listening['healthz']);
  const metricsPort = portOf(listening['metrics']);
  return Object.assign(daemon, {
    dns: { host: '127.0.0.1', port: portOf(listening['dns']) },
    healthzPort,
    metricsPort,
    readiness: async () => (await fetch(`http://127.0.0.1:${healthzPort}/readiness`)).status,
    waitReady: (timeoutMs = 15_000) => waitForHttp(healthzPort, '/readiness', 200, timeoutMs),
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
  });
}

export interface CacheDaemon extends Daemon {
  readonly dns: UpstreamServer;
  readonly metricsPort: number | null;
}

/**
 * The real dnsmasq-cache bin on 127.0.0.1 (`--port=0` unless `args` name one), no hosts file, no resolv file,
 * short upstream timeouts; `args` come last.
 */
export async function startCacheDaemon(args: string[], options: SpawnOptions = {}): Promise<CacheDaemon> {
  // dnsmasq refuses a single-valued option given twice: a default gives way to the test's own.
  const given = new Set(args.map((arg) => arg.split('=')[0]));
  const defaults = [
    '-k',
    '--port=0',
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--no-hosts',
    '--no-resolv',
    '--log-facility=-',
    '--upstream-timeout=500ms',
    '--forward-deadline=1500ms',
    '--shutdown-grace=0',
  ].filter((arg) => !given.has(arg.split('=')[0]));
  const daemon = spawnDaemon('dnsmasq-cache', [...defaults, ...args], options);
  const started = await startupLine(daemon, (line) => String(line.message).startsWith('started, version'));
  const metricsPort = started['metricsPort'];
  return Object.assign(daemon, {
    dns: { host: '127.0.0.1', port: portOf(started['listen']) },
    metricsPort: typeof metricsPort === 'number' ? metricsPort : null,
  });
}

/**
 * The cache's arguments as the Pod manifest gives them: the cluster zones forwarded to kube-dns at `kubeDns`
 * (`host#port`), everything else to the upstream on 127.0.0.1:`upstreamPort`.
 */
export function podCacheArgs(kubeDns: string, upstreamPort: number): string[] {
  return [
    '--cache-size=1000',
    '--no-negcache',
    `--server=/cluster.local/${kubeDns}`,
    `--server=/in-addr.arpa/${kubeDns}`,
    `--server=/ip6.arpa/${kubeDns}`,
    `--server=127.0.0.1#${upstreamPort}`,
  ];
}

export interface SidecarDaemon extends Daemon {
  readonly httpPort: number;
  /** GET /healthcheck/<label>: status and the JSON body. */
  health(label: string): Promise<{ status: number; body: { IsOk?: boolean; Err?: string } }>;
}

/** The real sidecar bin, HTTP on 127.0.0.1 with a free port. */
export async function startSidecar(args: string[], options: SpawnOptions = {}): Promise<SidecarDaemon> {
  const daemon = spawnDaemon(
    'sidecar',
    ['--prometheus-addr=127.0.0.1', '--prometheus-port=0', '--log-format=json', ...args],
    options,
  );
  const started = await startupLine(daemon, (line) => line.message === 'sidecar started');
  const httpPort = Number(started['port']);
  return Object.assign(daemon, {
    httpPort,
    async health(label: string) {
      const response = await fetch(`http://127.0.0.1:${httpPort}/healthcheck/${label}`);
      return { status: response.status, body: (await response.json()) as { IsOk?: boolean; Err?: string } };
    },
  });
}

/**
 * Makes a kube-dns ConfigMap folder hold exactly `data`, laid out and updated as the kubelet does it: the
 * files live in a fresh `..<version>` folder, `..data` points at it and is swapped atomically, and each key
 * is a symlink through `..data`. A poll never sees half an update (as long as the set of keys stays the same:
 * like the kubelet, new keys get their symlink after the swap and removed ones lose it after).
 */
export async function writeConfigDir(dir: string, data: Record<string, string>): Promise<void> {
  const version = `..${Date.now()}_${Math.random().toString(36).slice(2)}`;
  await mkdir(join(dir, version));
  for (const [key, value] of Object.entries(data)) await writeFile(join(dir, version, key), value);
  const entries = await readdir(dir);
  const previous = entries.includes('..data') ? await readlink(join(dir, '..data')) : null;
  await symlink(version, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const key of Object.keys(data)) {
    if (!entries.includes(key)) await symlink(join('..data', key), join(dir, key));
  }
  for (const entry of entries) {
    if (!entry.startsWith('.') && !(entry in data)) await rm(join(dir, entry));
  }
  if (previous !== null) await rm(join(dir, previous), { recursive: true, force: true });
}

/** The value of one series in a Prometheus exposition (sum over series matching `labels`; 0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const seriesLabels = Object.fromEntries(
      [...(match[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => seriesLabels[k] === v)) total += Number(match[4]);
  }
  return total;
}
