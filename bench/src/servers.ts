import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { RRClass, RRType } from '@kube-dns/daemon-kit';
import type { DnsClient } from './dns-client.js';

/** The repository root (this file is bench/dist/servers.js). */
export const repoRoot = new URL('../../', import.meta.url).pathname;
export const bins = {
  kubeDns: join(repoRoot, 'packages/kubedns/bin/kube-dns'),
  dnsmasqCache: join(repoRoot, 'packages/dnsmasq-cache/bin/dnsmasq-cache'),
};

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  /** DNS port (UDP and TCP) on 127.0.0.1. */
  readonly port: number;
  readonly child: ChildProcess;
  /** The last lines it wrote on stderr (for error messages). */
  stderrTail(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A port free for both UDP and TCP on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (;;) {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    if (ok) return port;
  }
}

/**
 * Extra Node options for our processes, from BENCH_NODE_OPTIONS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`):
 * profiling without changing what is measured otherwise. Our bins are run as they ship (their shebang).
 */
function nodeEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  if (process.env['BENCH_NODE_OPTIONS']) env['NODE_OPTIONS'] = process.env['BENCH_NODE_OPTIONS'];
  return env;
}

function launch(name: string, command: string, args: string[], port: number, env?: NodeJS.ProcessEnv): ServerProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
  let tail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    pid: child.pid!,
    port,
    child,
    stderrTail: () => tail.trim().split('\n').slice(-5).join('\n'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // dnsmasq-cache and kube-dns keep answering for a grace period after SIGTERM: do not wait for it.
      const done = await Promise.race([exited.then(() => true), sleep(1500).then(() => false)]);
      if (!done) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Polls `check` every 20 ms until it is true; throws with the server's last words after `timeoutMs`. */
export async function waitFor(server: ServerProcess, what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.child.exitCode !== null) {
      throw new Error(`${server.name} exited (${server.child.exitCode}) before ${what}: ${server.stderrTail()}`);
    }
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`${server.name}: no ${what} within ${timeoutMs} ms: ${server.stderrTail()}`);
    await sleep(20);
  }
}

/** Answers DNS at all (any rcode) on its port. */
export async function waitAnswering(
  server: ServerProcess,
  client: DnsClient,
  name: string,
  qtype: number,
  qclass = RRClass.IN as number,
) {
  await waitFor(
    server,
    'DNS answer',
    async () => (await client.query(server.port, name, qtype, { qclass, timeoutMs: 200 })) !== null,
  );
}

/** The raw echo (floor-echo.ts, dgram or batched UDP I/O) in a Node process of its own, answering on `port`. */
export async function startFloorEcho(
  port: number,
  client: DnsClient,
  io: 'dgram' | 'batched' = 'dgram',
): Promise<ServerProcess> {
  const script = join(repoRoot, 'bench/dist/floor-echo.js');
  const server = launch(`node-${io}-floor`, process.execPath, [script, String(port), io], port, nodeEnv());
  await waitAnswering(server, client, 'floor.bench.example', RRType.A);
  return server;
}

/** dnsmasq 2.90 in the foreground with the given flags (plus --user=root when run as root: it drops privileges otherwise). */
export async function startDnsmasq(args: string[], port: number, client: DnsClient): Promise<ServerProcess> {
  const server = launch('dnsmasq', 'dnsmasq', args, port);
  await waitAnswering(server, client, 'cachesize.bind', RRType.TXT, RRClass.CH);
  return server;
}

export async function startDnsmasqCache(args: string[], port: number, client: DnsClient): Promise<ServerProcess> {
  const server = launch('dnsmasq-cache', bins.dnsmasqCache, args, port, nodeEnv());
  await waitAnswering(server, client, 'cachesize.bind', RRType.TXT, RRClass.CH);
  return server;
}

/** The dnsmasq flags both caches get in a benchmark: listen on 127.0.0.1:port only, no config files. */
export function cacheCommonFlags(port: number): string[] {
  const flags = ['-k', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--conf-file=/dev/null'];
  flags.push('--pid-file=', '--no-hosts', '--log-facility=-');
  if (process.getuid?.() === 0) flags.push('--user=root');
  return flags;
}

export interface KubeDnsProcess extends ServerProcess {
  readonly healthzPort: number;
  /** ms from spawn to /readiness 200. */
  readonly readyAfterMs: number;
}

/** kube-dns from its bin against a kubeconfig; resolves once /readiness answers 200. */
export async function startKubeDns(kubeconfig: string, extra: string[] = []): Promise<KubeDnsProcess> {
  const port = await freePort();
  const healthzPort = await freePort();
  const started = performance.now();
  const args = [
    '--domain=cluster.local.',
    `--kubecfg-file=${kubeconfig}`,
    '--dns-bind-address=127.0.0.1',
    `--dns-port=${port}`,
    '--healthz-bind-address=127.0.0.1',
    `--healthz-port=${healthzPort}`,
    '--shutdown-grace=0s',
    '--v=0',
    ...extra,
  ];
  const server = launch('kube-dns', bins.kubeDns, args, port, nodeEnv());
  await waitFor(
    server,
    '/readiness 200',
    async () => (await fetch(`http://127.0.0.1:${healthzPort}/readiness`)).status === 200,
    120_000,
  );
  return { ...server, healthzPort, readyAfterMs: performance.now() - started };
}

/**
 * knotd serving one zone file from `dir`, one UDP and one TCP worker (kube-dns and dnsmasq answer on one
 * thread; CPU per answer is compared, so thread counts only matter for throughput).
 */
export async function startKnot(
  dir: string,
  zone: string,
  zoneFile: string,
  client: DnsClient,
): Promise<ServerProcess> {
  const port = await freePort();
  mkdirSync(join(dir, 'db'), { recursive: true });
  const conf = join(dir, 'knot.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `  rundir: "${dir}"`,
      `  listen: 127.0.0.1@${port}`,
      '  udp-workers: 1',
      '  tcp-workers: 1',
      '  background-workers: 1',
      ...(process.getuid?.() === 0 ? ['  user: root:root'] : []),
      'database:',
      `  storage: "${join(dir, 'db')}"`,
      'log:',
      '  - target: stderr',
      '    any: warning',
      'template:',
      '  - id: default',
      `    storage: "${dir}"`,
      '    zonefile-sync: -1',
      '    zonefile-load: whole',
      '    journal-content: none',
      'zone:',
      `  - domain: ${zone}`,
      `    file: "${zoneFile}"`,
      '',
    ].join('\n'),
  );
  const server = launch('knotd', 'knotd', ['-c', conf], port);
  await waitFor(server, 'SOA answer', async () => {
    const response = await client.query(port, zone, RRType.SOA, { timeoutMs: 200 });
    return response !== null && response.rcode === 0 && response.records.length > 0;
  });
  return server;
}
