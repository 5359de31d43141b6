import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UpstreamServer } from '@kube-dns/daemon-kit';
import { hasTool, queryDns, waitUntil } from '../helpers/index.js';
import { assertRunning } from './support/daemon.js';
import { answerData, startSmallCluster } from './support/fixture.js';
import { validQuery } from './support/fuzz-packets.js';
import { startCacheDaemon, startKubeDns } from './support/launch.js';
import { startStubUpstream } from './support/stub-upstream.js';

/**
 * Load that a busy or hostile cluster produces: ten thousand distinct misses at once, and thousands of TCP
 * connections left open and idle. Limits hold, memory stays bounded, and other clients are still served.
 */

const MB = 1024 * 1024;

interface Flood {
  sent: number;
  rcodes: Record<string, number>;
  answered: number;
  /** Datagrams the kernel dropped because the server's receive buffer was full (Linux /proc/net/udp). */
  kernelDrops: number;
}

/** The `drops` counter of the UDP socket bound to 127.0.0.1:`port`. */
function udpDrops(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  try {
    const line = readFileSync('/proc/net/udp', 'utf8')
      .split('\n')
      .find((l) => l.trim().split(/\s+/)[1] === local);
    return line === undefined ? 0 : Number(line.trim().split(/\s+/).pop());
  } catch {
    return 0;
  }
}

/** Sends `count` distinct A questions from one socket in bursts (every one in flight at once) and collects the answers. */
async function floodDistinct(server: UpstreamServer, count: number, name: (i: number) => string): Promise<Flood> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind({ address: '127.0.0.1', port: 0 }, () => resolve()));
  socket.setRecvBufferSize(8 * 1024 * 1024);
  const flood: Flood = { sent: 0, rcodes: {}, answered: 0, kernelDrops: 0 };
  const dropsBefore = udpDrops(server.port);
  const seen = new Set<number>();
  socket.on('message', (message) => {
    const id = message.readUInt16BE(0);
    if (seen.has(id)) return;
    seen.add(id);
    flood.answered++;
    const rcode = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'][message[3]! & 0xf] ?? 'other';
    flood.rcodes[rcode] = (flood.rcodes[rcode] ?? 0) + 1;
  });
  for (let i = 0; i < count; i++) {
    const query = validQuery(name(i), 1);
    query.writeUInt16BE(i, 0);
    socket.send(query, server.port, server.host);
    flood.sent++;
    // Bursts of 50 (10k in about a second): the server's default receive buffer (208 KiB) holds a burst.
    if (i % 50 === 49) await sleep(5);
  }
  await waitUntil(`answers to ${count} queries`, () => flood.answered + udpDrops(server.port) - dropsBefore >= count, {
    timeoutMs: 15_000,
  }).catch(() => undefined);
  flood.kernelDrops = udpDrops(server.port) - dropsBefore;
  socket.close();
  return flood;
}

/** Asks a cached name over TCP again and again while `busy` runs; returns the slowest answer. */
async function hitsDuring(
  server: UpstreamServer,
  name: string,
  expected: string[],
  busy: Promise<unknown>,
): Promise<{ count: number; slowestMs: number }> {
  let done = false;
  void busy.finally(() => (done = true));
  let count = 0;
  let slowestMs = 0;
  while (!done) {
    const started = performance.now();
    const result = await queryDns(server, name, 'A', { tcp: true, timeoutMs: 2000 });
    slowestMs = Math.max(slowestMs, performance.now() - started);
    assert.deepEqual(answerData(result), expected, 'a hit during the flood');
    count++;
    await sleep(5);
  }
  return { count, slowestMs };
}

test(
  '10k concurrent distinct misses: --dns-forward-max holds, excess refused at once, memory bounded, hits still served',
  { timeout: 60_000 },
  async (t) => {
    const upstream = await startStubUpstream({ delayMs: 300 });
    t.after(() => upstream.close());
    const cache = await startCacheDaemon(
      [
        '--cache-size=1000',
        '--dns-forward-max=150',
        '--upstream-timeout=2s',
        '--forward-deadline=4s',
        `--server=127.0.0.1#${upstream.port}`,
      ],
      { maxOldSpaceMb: 64 },
    );
    t.after(() => cache.stop());
    assert.deepEqual(answerData(await queryDns(cache.dns, 'hot.example.org', 'A')), ['A 192.0.2.1']);
    const before = await cache.memory();
    upstream.maxInFlight = 0;
    const flood = floodDistinct(cache.dns, 10_000, (i) => `miss-${i}.example.org`);
    const hits = await hitsDuring(cache.dns, 'hot.example.org', ['A 192.0.2.1'], flood);
    const result = await flood;
    const after = await cache.memory();
    t.diagnostic(
      `rcodes ${JSON.stringify(result.rcodes)}, ${result.kernelDrops} dropped by the kernel, upstream saw at most ${upstream.maxInFlight} at once, ${hits.count} hits (slowest ${Math.round(hits.slowestMs)} ms), heap ${(before.heapUsed / MB).toFixed(1)} → ${(after.heapUsed / MB).toFixed(1)} MB, rss ${(after.rss / MB).toFixed(1)} MB`,
    );
    assert.ok(upstream.maxInFlight <= 150, `forwards in flight at once: ${upstream.maxInFlight}`);
    assert.ok(upstream.maxInFlight >= 100, 'the limit was reached');
    assert.equal(result.answered + result.kernelDrops, 10_000, 'every query that reached the process was answered');
    // The kernel drops part of a burst when the machine is busy (the whole suite runs alongside): what
    // reached the process must all be answered.
    assert.ok(
      result.answered >= 2000,
      `${result.answered} answered (${result.kernelDrops} dropped by the kernel, buffer full)`,
    );
    assert.equal(
      (result.rcodes['REFUSED'] ?? 0) + (result.rcodes['NOERROR'] ?? 0),
      result.answered,
      'forwarded or refused',
    );
    assert.ok((result.rcodes['REFUSED'] ?? 0) > result.answered / 2, 'the excess is refused at once');
    assert.ok((result.rcodes['NOERROR'] ?? 0) >= 150);
    assert.ok(
      hits.count > 10 && hits.slowestMs < 500,
      `hits kept being answered (slowest ${Math.round(hits.slowestMs)} ms)`,
    );
    assert.ok(after.heapUsed - before.heapUsed < 16 * MB, 'live heap bounded');
    assertRunning(cache);
  },
);

test(
  '10k concurrent distinct names in the zone: kube-dns answers every one from memory, memory bounded',
  { timeout: 60_000 },
  async (t) => {
    const { kubeconfig } = await startSmallCluster(t, 'load-token');
    const kubeDns = await startKubeDns([`--kubecfg-file=${kubeconfig}`, '--nameservers=127.0.0.1:9'], {
      maxOldSpaceMb: 128,
    });
    t.after(() => kubeDns.stop());
    await kubeDns.waitReady();
    const before = await kubeDns.memory();
    const flood = floodDistinct(kubeDns.dns, 10_000, (i) => `miss-${i}.default.svc.cluster.local`);
    const hits = await hitsDuring(kubeDns.dns, 'web.default.svc.cluster.local', ['A 10.96.0.20'], flood);
    const result = await flood;
    const after = await kubeDns.memory();
    t.diagnostic(
      `rcodes ${JSON.stringify(result.rcodes)}, ${result.kernelDrops} dropped by the kernel, ${hits.count} hits (slowest ${Math.round(hits.slowestMs)} ms), heap ${(before.heapUsed / MB).toFixed(1)} → ${(after.heapUsed / MB).toFixed(1)} MB`,
    );
    assert.equal(result.answered + result.kernelDrops, 10_000, 'every query that reached the process was answered');
    // The kernel drops part of a burst when the machine is busy (the whole suite runs alongside): what
    // reached the process must all be answered.
    assert.ok(
      result.answered >= 2000,
      `${result.answered} answered (${result.kernelDrops} dropped by the kernel, buffer full)`,
    );
    assert.deepEqual(Object.keys(result.rcodes), ['NXDOMAIN']);
    assert.ok(after.heapUsed - before.heapUsed < 24 * MB, 'live heap bounded');
    assertRunning(kubeDns);
  },
);

/** Server-side established TCP connections on `port`, from `ss` (null when ss is missing). */
function serverConnections(port: number): number | null {
  if (!hasTool('ss')) return null;
  const out = spawnSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.split('\n').filter((l) => l.trim() !== '').length : null;
}

async function openIdle(
  server: UpstreamServer,
  count: number,
): Promise<{ sockets: net.Socket[]; closedByServer: () => number }> {
  let closed = 0;
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.all(
      Array.from(
        { length: Math.min(100, count - i) },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const socket = net.connect({ host: server.host, port: server.port }, () => resolve(socket));
            socket.on('error', reject);
          }),
      ),
    );
    for (const socket of batch) {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      socket.on('close', () => closed++);
      sockets.push(socket);
    }
  }
  return { sockets, closedByServer: () => closed };
}

test(
  '2,000 idle TCP connections: bounded, idle ones closed, new clients still served',
  { timeout: 90_000 },
  async (t) => {
    const { kubeconfig } = await startSmallCluster(t, 'load-token');
    const upstream = await startStubUpstream();
    t.after(() => upstream.close());
    const kubeDns = await startKubeDns([`--kubecfg-file=${kubeconfig}`, `--nameservers=127.0.0.1:${upstream.port}`]);
    t.after(() => kubeDns.stop());
    const cache = await startCacheDaemon(['--max-tcp-connections=500', `--server=127.0.0.1#${upstream.port}`]);
    t.after(() => cache.stop());
    await kubeDns.waitReady();

    const targets = [
      {
        name: 'kube-dns',
        server: kubeDns.dns,
        limit: 1024,
        daemon: kubeDns,
        probe: 'web.default.svc.cluster.local',
        answer: ['A 10.96.0.20'],
      },
      {
        name: 'dnsmasq-cache',
        server: cache.dns,
        limit: 500,
        daemon: cache,
        probe: 'probe.example.org',
        answer: ['A 192.0.2.1'],
      },
    ];
    const opened = await Promise.all(targets.map((target) => openIdle(target.server, 2000)));
    const openedAt = Date.now();
    for (const [i, target] of targets.entries()) {
      const { closedByServer } = opened[i]!;
      // Past the limit the least recently active connection goes to make room for the new one.
      await waitUntil(
        `${target.name}: connections past ${target.limit} closed`,
        () => closedByServer() >= 2000 - target.limit,
        { timeoutMs: 10_000 },
      );
      const held = serverConnections(target.server.port);
      t.diagnostic(
        `${target.name}: ${closedByServer()} of 2000 closed at once, ${held ?? '?'} held (limit ${target.limit})`,
      );
      if (held !== null) assert.ok(held <= target.limit, `${target.name} holds ${held} connections`);
      // New clients are served over TCP (evicting an idle one) and UDP.
      for (const tcp of [true, false]) {
        const result = await queryDns(target.server, target.probe, 'A', { tcp, timeoutMs: 2000 });
        assert.deepEqual(answerData(result), target.answer, `${target.name} ${tcp ? 'TCP' : 'UDP'}`);
      }
    }
    // Idle connections are closed by the servers (10 s idle timeout, RFC 7766 §6.2.3).
    await waitUntil(
      'every idle connection closed by the servers',
      () => opened.every((o) => o.closedByServer() === 2000),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    t.diagnostic(`all idle connections closed ${Date.now() - openedAt} ms after opening`);
    for (const target of targets) {
      assertRunning(target.daemon);
      assert.equal(serverConnections(target.server.port) ?? 0, 0);
    }
  },
);
