import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { frameMessage } from '@kube-dns/daemon-kit';
import { buildQuery, rr, startFakeUpstream, type FakeUpstream } from '../helpers/index.js';
import { answerData, startCache, type RunningCache } from './support.js';

/** Deterministic pseudo-random bytes. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return (s >>> 8) & 0xff;
  };
}

/** A valid query, then damaged: truncated, bytes flipped, counts and lengths lying, pointers anywhere. */
function mutate(base: Buffer, next: () => number): Buffer {
  const kind = next() % 6;
  const out = Buffer.from(base);
  if (kind === 0) return out.subarray(0, next() % out.length);
  if (kind === 1) {
    for (let i = 0; i < 1 + (next() % 4); i++) out[next() % out.length] = next();
    return out;
  }
  if (kind === 2) {
    out.writeUInt16BE((next() << 8) | next(), 4 + 2 * (next() % 4));
    return out;
  }
  if (kind === 3) {
    out[12] = 0xc0 | (next() & 0x3f);
    out[13] = next();
    return out;
  }
  if (kind === 4) return Buffer.from(Array.from({ length: next() % 80 }, () => next()));
  out[2] = out[2]! | 0x80; // a response sent as a query
  return out;
}

describe('dnsmasq-cache under hostile input and load', () => {
  let upstream: FakeUpstream;
  let cache: RunningCache;
  before(async () => {
    upstream = await startFakeUpstream((q) => ({
      answers: q.type === 'A' ? [rr(q.name, 'A', '10.6.6.6', 300)] : [],
      delayMs: q.name.startsWith('slow') ? 2000 : 0,
    }));
    cache = await startCache([
      '--no-hosts',
      '--no-resolv',
      `--server=${upstream.label}`,
      '--dns-forward-max=50',
      '--upstream-timeout=2500ms',
      '--forward-deadline=3s',
    ]);
    await cache.query('good.test', 'A');
  });
  after(async () => {
    await cache.close();
    await upstream.close();
  });

  test('20,000 mutated UDP packets: no crash, valid queries interleaved are answered correctly', async () => {
    const next = prng(42);
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    socket.on('message', () => undefined);
    const bases = ['good.test', 'x.example', 'hits.bind'].map((name) => buildQuery(name, 'A'));
    // A lost datagram is retried, as a resolver would: the machine may be busy, and UDP drops what overflows.
    const good = async (): Promise<string[]> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return answerData(await cache.query('good.test', 'A', { timeoutMs: 1000 }));
        } catch (error) {
          if (attempt >= 2) throw error;
        }
      }
    };
    try {
      // Bursts small enough for the socket buffers.
      for (let i = 0; i < 20_000; i++) {
        socket.send(mutate(bases[i % bases.length]!, next), cache.server.port, '127.0.0.1');
        if (i % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 1));
        if (i % 2000 === 0) assert.deepEqual(await good(), ['10.6.6.6']);
      }
    } finally {
      socket.close();
    }
    assert.deepEqual(await good(), ['10.6.6.6']);
    assert.equal((await cache.query('hits.bind', 'TXT', { qclass: 'CH' })).rcode, 'NOERROR');
  });

  test('TCP lengths that lie and garbage frames do not stop other clients', async () => {
    const next = prng(7);
    for (let c = 0; c < 20; c++) {
      const socket = net.connect(cache.server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(frameMessage(mutate(buildQuery('good.test', 'A'), next)));
      socket.write(Buffer.from([0xff, 0xff, 1, 2, 3]));
      socket.destroy();
    }
    assert.deepEqual(answerData(await cache.query('good.test', 'A', { tcp: true })), ['10.6.6.6']);
  });

  test('5,000 concurrent distinct misses: --dns-forward-max holds, hits keep being answered', async () => {
    const before = upstream.queries.length;
    const misses: Promise<Awaited<ReturnType<RunningCache['query']>> | Error>[] = [];
    for (let i = 0; i < 5000; i++) {
      // One retry for a datagram the busy machine dropped, as a resolver would.
      const ask = () => cache.query(`slow${i}.test`, 'A', { timeoutMs: 2500 });
      misses.push(
        ask()
          .catch(ask)
          .catch((error: Error) => error),
      );
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const started = performance.now();
    assert.deepEqual(answerData(await cache.query('good.test', 'A')), ['10.6.6.6']);
    assert.ok(performance.now() - started < 200, 'a hit is not stuck behind the misses');
    const results = await Promise.all(misses);
    const rcodes = results.map((r) => (r instanceof Error ? 'error' : r.rcode));
    // Each forwarded miss holds a slot for the upstream's 2 s delay; on a busy machine the first ones finish
    // before the last are sent, so count overlap at the upstream, not the total sent.
    const arrivals = upstream.queries.slice(before).map((q) => q.at);
    const inFlight = Math.max(0, ...arrivals.map((t) => arrivals.filter((u) => u <= t && u > t - 1900).length));
    assert.ok(inFlight <= 50, `at most --dns-forward-max in flight (${inFlight} at once, ${arrivals.length} sent)`);
    const counts: Record<string, number> = {};
    for (const rcode of rcodes) counts[rcode] = (counts[rcode] ?? 0) + 1;
    assert.ok(
      (counts['REFUSED'] ?? 0) >= 5000 - arrivals.length,
      `the rest REFUSED at once: ${JSON.stringify(counts)}`,
    );
    assert.ok(!rcodes.includes('error'), `every query got an answer: ${JSON.stringify(counts)}`);
  });
});
