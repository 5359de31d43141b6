#!/usr/bin/env node
// Cache-hit load: dnsmasq-cache vs dnsmasq 2.90 with identical flags, both in front of the same upstream, measured
// with dnsperf. Not a test; a quick check that the design is in range (the full benchmark suite is issue 6).
//
// Usage: node packages/dnsmasq-cache/bench/cache-hits.mjs [--seconds=10] [--rounds=2] [--names=1000] [--rate=20000]
//   Runs each server alternately: full speed (dnsperf -q 100), then a fixed rate both sustain (-Q rate).
//   Prints answered queries/s, server CPU seconds per 100k answers (from /proc/<pid>/stat), average latency,
//   and the ratios ours/dnsmasq. Needs dnsmasq and dnsperf (Debian dnsmasq-base, dnsperf) and a built repo.
// Profile with: DNSMASQ_CACHE_NODE_OPTIONS=--cpu-prof node packages/dnsmasq-cache/bench/cache-hits.mjs
import { Buffer } from 'node:buffer';
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);
const SECONDS = Number(args.seconds ?? 10);
const ROUNDS = Number(args.rounds ?? 2);
const NAMES = Number(args.names ?? 1000);
const RATE = Number(args.rate ?? 20000);
const bin = new URL('../bin/dnsmasq-cache', import.meta.url).pathname;
const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

for (const tool of ['dnsmasq', 'dnsperf']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`cache-hits: needs ${tool} (Debian ${tool === 'dnsmasq' ? 'dnsmasq-base' : 'dnsperf'})`);
    process.exit(2);
  }
}

/** An upstream that answers every A question with 192.0.2.1, TTL one day (so nothing expires during the run). */
async function startUpstream() {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    let end = 12;
    while (end < msg.length && msg[end] !== 0) end += msg[end] + 1;
    end += 5;
    const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 1, 0x51, 0x80, 0, 4, 192, 0, 2, 1]);
    const out = Buffer.concat([msg.subarray(0, end), answer]);
    out[2] = 0x81;
    out[3] = 0x80;
    out.writeUInt16BE(1, 6);
    out.writeUInt16BE(0, 8);
    out.writeUInt16BE(0, 10);
    socket.send(out, rinfo.port, rinfo.address);
  });
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => socket.close() };
}

async function freePort() {
  for (;;) {
    const server = net.createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const port = server.address().port;
    await new Promise((resolve) => server.close(resolve));
    const udp = dgram.createSocket('udp4');
    const ok = await new Promise((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    udp.close();
    if (ok) return port;
  }
}

function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime + stime
}

async function startServer(kind, upstreamPort) {
  const port = await freePort();
  const common = [
    '-k',
    `--port=${port}`,
    '--listen-address=127.0.0.1',
    '--bind-interfaces',
    '--conf-file=/dev/null',
    '--pid-file=',
    '--no-resolv',
    '--no-hosts',
    '--cache-size=10000',
    '--log-facility=-',
    `--server=127.0.0.1#${upstreamPort}`,
  ];
  if (process.getuid?.() === 0) common.push('--user=root');
  const command = kind === 'dnsmasq' ? 'dnsmasq' : process.execPath;
  const argv =
    kind === 'dnsmasq'
      ? common
      : [
          ...(process.env.DNSMASQ_CACHE_NODE_OPTIONS ?? '').split(' ').filter(Boolean),
          bin,
          ...common,
          '--shutdown-grace=0',
        ];
  const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.resume();
  for (let i = 0; i < 100; i++) {
    const probe = spawnSync(
      'dig',
      ['+short', '+time=1', '+tries=1', '-p', String(port), '@127.0.0.1', 'chaos', 'txt', 'cachesize.bind'],
      {
        encoding: 'utf8',
      },
    );
    if (probe.status === 0 && probe.stdout.includes('10000')) return { kind, port, child };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`${kind} did not start`);
}

/** Runs dnsperf without blocking this process: the upstream answers from here. */
async function dnsperf(port, file, extra) {
  const child = spawn('dnsperf', [
    '-s',
    '127.0.0.1',
    '-p',
    String(port),
    '-d',
    file,
    '-l',
    String(SECONDS),
    '-c',
    '8',
    ...extra,
  ]);
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
  child.stderr.resume();
  await new Promise((resolve) => child.on('exit', resolve));
  const result = { stdout };
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(result.stdout)?.[1] ?? NaN);
  const completed = Number(/Queries completed:\s+(\d+)/.exec(result.stdout)?.[1] ?? NaN);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(result.stdout)?.[1] ?? NaN);
  const latency = Number(/Average Latency \(s\):\s+([\d.]+)/.exec(result.stdout)?.[1] ?? NaN);
  return { qps, completed, lost, latencyMs: latency * 1000 };
}

const dir = mkdtempSync(join(tmpdir(), 'cache-hits-'));
const file = join(dir, 'queries.txt');
writeFileSync(file, Array.from({ length: NAMES }, (_, i) => `host${i}.bench.example A`).join('\n') + '\n');

const upstream = await startUpstream();
const servers = [await startServer('dnsmasq', upstream.port), await startServer('dnsmasq-cache', upstream.port)];
// Warm both caches with every name.
for (const server of servers) await dnsperf(server.port, file, ['-n', '1', '-l', '30', '-q', '10']);

const results = { dnsmasq: [], 'dnsmasq-cache': [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of ['full', 'fixed']) {
    for (const server of round % 2 ? [...servers].reverse() : servers) {
      const before = cpuSeconds(server.child.pid);
      const run = await dnsperf(server.port, file, mode === 'full' ? ['-q', '100'] : ['-q', '100', '-Q', String(RATE)]);
      const cpu = cpuSeconds(server.child.pid) - before;
      results[server.kind].push({ mode, ...run, cpuPer100k: (cpu / run.completed) * 100_000 });
      console.error(
        `${server.kind.padEnd(14)} ${mode.padEnd(6)} ${run.qps.toFixed(0).padStart(8)} q/s  cpu/100k ${((cpu / run.completed) * 100_000).toFixed(3)} s  avg ${run.latencyMs.toFixed(3)} ms  lost ${run.lost}`,
      );
    }
  }
}
for (const server of servers) server.child.kill('SIGTERM');
upstream.close();

const mean = (kind, mode, key) => {
  const xs = results[kind].filter((r) => r.mode === mode).map((r) => r[key]);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
};
const summary = {
  machine: `${process.platform} ${process.arch}, node ${process.version}`,
  seconds: SECONDS,
  names: NAMES,
  fixedRate: RATE,
  fullSpeedQps: { dnsmasq: mean('dnsmasq', 'full', 'qps'), ours: mean('dnsmasq-cache', 'full', 'qps') },
  cpuPer100kFull: { dnsmasq: mean('dnsmasq', 'full', 'cpuPer100k'), ours: mean('dnsmasq-cache', 'full', 'cpuPer100k') },
  cpuPer100kFixed: {
    dnsmasq: mean('dnsmasq', 'fixed', 'cpuPer100k'),
    ours: mean('dnsmasq-cache', 'fixed', 'cpuPer100k'),
  },
  avgLatencyMsFixed: {
    dnsmasq: mean('dnsmasq', 'fixed', 'latencyMs'),
    ours: mean('dnsmasq-cache', 'fixed', 'latencyMs'),
  },
};
summary.ratios = {
  throughput: summary.fullSpeedQps.ours / summary.fullSpeedQps.dnsmasq,
  cpuPerAnswerFull: summary.cpuPer100kFull.ours / summary.cpuPer100kFull.dnsmasq,
  cpuPerAnswerFixed: summary.cpuPer100kFixed.ours / summary.cpuPer100kFixed.dnsmasq,
  avgLatencyFixed: summary.avgLatencyMsFixed.ours / summary.avgLatencyMsFixed.dnsmasq,
};
console.log(JSON.stringify(summary, null, 2));
