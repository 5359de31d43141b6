import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@kube-dns/daemon-kit';
import {
  CACHE_STATS,
  createCacheStatsExporter,
  createCacheStatsMonitor,
  createDnsmasqMetrics,
  createMetricsRegistry,
  fetchCacheStats,
  parseInt64,
  systemClock,
  systemResolver,
  type CacheStats,
  type DnsmasqMetrics,
} from '@kube-dns/sidecar';
import {
  chaosStatsScript,
  freeDnsPort,
  missingTool,
  startRealDnsmasq,
  startScriptedDnsServer,
  type ScriptedDnsServer,
} from '../helpers/index.js';

const values: Record<string, number | string | string[]> = {};
let server: ScriptedDnsServer;
const target = () => ({ host: '127.0.0.1', port: server.port });

before(async () => {
  server = await startScriptedDnsServer(chaosStatsScript(values));
});
after(() => server.close());

function setValues(next: Record<string, number | string | string[]>): void {
  for (const key of Object.keys(values)) delete values[key];
  Object.assign(values, next);
}

async function counterValues(metrics: DnsmasqMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const stat of CACHE_STATS) out[stat] = (await metrics.counters[stat].get()).values[0]?.value ?? 0;
  out['errors'] = (await metrics.errors.get()).values[0]?.value ?? 0;
  return out;
}

describe('reading the CHAOS TXT counters', () => {
  test('the five counters the original reads', async () => {
    setValues({ hits: 11, misses: 22, evictions: 3, insertions: 44, cachesize: 1000, auth: 9 });
    assert.deepEqual(await fetchCacheStats(target(), { timeoutMs: 300 }), {
      hits: 11,
      misses: 22,
      evictions: 3,
      insertions: 44,
      cachesize: 1000,
    });
  });

  const broken: [string, Record<string, number | string | string[]>, string][] = [
    ['a missing counter', { hits: 1 }, 'invalid number of Answer records for misses.bind.: 0'],
    ['two strings', { hits: 1, misses: ['1', '2'] }, 'invalid number of TXT records for misses.bind.: 2'],
    ['not a number', { hits: 'many' }, 'strconv.ParseInt: parsing "many": invalid syntax'],
    ['beyond int64', { hits: '9223372036854775808' }, 'value out of range'],
  ];
  for (const [what, next, message] of broken) {
    test(`${what} fails the whole poll: ${message}`, async () => {
      setValues(next);
      await assert.rejects(fetchCacheStats(target(), { timeoutMs: 300 }), (error: Error) =>
        error.message.includes(message),
      );
    });
  }

  test('an answer that is not TXT', async () => {
    const other = await startScriptedDnsServer((question) => ({
      answers: [{ type: 'A', name: question.name, ttl: 0, data: '1.2.3.4' }],
    }));
    try {
      await assert.rejects(fetchCacheStats({ host: '127.0.0.1', port: other.port }, { timeoutMs: 300 }), {
        message: 'missing TXT record for hits.bind.',
      });
    } finally {
      await other.close();
    }
  });

  test('silence times out', async () => {
    const other = await startScriptedDnsServer(() => ({ silent: true }));
    try {
      await assert.rejects(fetchCacheStats({ host: '127.0.0.1', port: other.port }, { timeoutMs: 100 }), /no answer/);
    } finally {
      await other.close();
    }
  });

  test("strconv.ParseInt's syntax", () => {
    assert.equal(parseInt64('0'), 0);
    assert.equal(parseInt64('+12'), 12);
    assert.equal(parseInt64('-3'), -3);
    assert.equal(parseInt64('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(parseInt64('9223372036854775807'), 2 ** 63);
    for (const bad of ['', ' 1', '1.0', '0x10', '1e3']) assert.throws(() => parseInt64(bad), /invalid syntax/);
  });

  test('real dnsmasq 2.90 answers them', { skip: missingTool('dnsmasq') }, async () => {
    const dnsmasq = await startRealDnsmasq(await freeDnsPort(), ['--no-resolv', '--no-hosts', '--cache-size=1337']);
    try {
      const stats = await fetchCacheStats({ host: '127.0.0.1', port: dnsmasq.port }, { timeoutMs: 1000 });
      assert.equal(stats.cachesize, 1337);
      for (const stat of CACHE_STATS) assert.ok(Number.isInteger(stats[stat]) && stats[stat] >= 0, stat);
    } finally {
      await dnsmasq.kill();
    }
  });
});

describe('counters fed by deltas', () => {
  test("the original's vector: successive samples are exported as they grow", async () => {
    const metrics = createDnsmasqMetrics(createMetricsRegistry(), 'dnsmasq');
    const exportStats = createCacheStatsExporter(metrics);
    const base = [10, 20, 30, 40, 50];
    for (let i = 1; i <= 3; i++) {
      const stats = Object.fromEntries(CACHE_STATS.map((stat, j) => [stat, base[j]! * i])) as CacheStats;
      exportStats(stats);
      const exported = await counterValues(metrics);
      for (const [j, stat] of CACHE_STATS.entries()) assert.equal(exported[stat], base[j]! * i, stat);
    }
  });

  test('a restarted cache never makes a counter go backwards; counts since the restart are kept', async () => {
    const metrics = createDnsmasqMetrics(createMetricsRegistry(), 'kubedns');
    const exportStats = createCacheStatsExporter(metrics);
    const sample = (hits: number, cachesize: number): CacheStats => ({
      hits,
      misses: hits * 2,
      evictions: 0,
      insertions: hits,
      cachesize,
    });
    exportStats(sample(100, 1000));
    exportStats(sample(150, 1000));
    // Restart: raw values fall back to small numbers.
    exportStats(sample(5, 1000));
    assert.deepEqual(await counterValues(metrics), {
      hits: 155,
      misses: 310,
      evictions: 0,
      insertions: 155,
      cachesize: 1000,
      errors: 0,
    });
    exportStats(sample(7, 1000));
    assert.equal((await counterValues(metrics))['hits'], 157);
    // A smaller cache after a restart: the size is not a count, the baseline moves and nothing is added.
    exportStats(sample(9, 500));
    exportStats(sample(10, 800));
    const exported = await counterValues(metrics);
    assert.equal(exported['cachesize'], 1300);
    assert.equal(exported['hits'], 160);
  });

  test('the poll loop: errors counted, values exported, stop ends it', async () => {
    const metrics = createDnsmasqMetrics(createMetricsRegistry(), 'kubedns');
    const monitor = createCacheStatsMonitor({
      host: '127.0.0.1',
      port: server.port,
      intervalMs: 10,
      timeoutMs: 200,
      clock: systemClock,
      resolveHost: systemResolver,
      fetch: fetchCacheStats,
      metrics,
      logger: silentLogger,
    });
    setValues({ hits: 1 });
    await monitor.pollOnce();
    assert.equal((await counterValues(metrics))['errors'], 1);
    assert.match(monitor.status().lastError ?? '', /misses\.bind/);
    setValues({ hits: 5, misses: 6, evictions: 0, insertions: 6, cachesize: 150 });
    await monitor.pollOnce();
    const status = monitor.status();
    assert.equal(status.lastError, null);
    assert.deepEqual(status.last, { hits: 5, misses: 6, evictions: 0, insertions: 6, cachesize: 150 });
    assert.equal(status.polls, 2);
    assert.equal(status.failures, 1);
    assert.equal((await counterValues(metrics))['hits'], 5);
    monitor.stop();
  });
});
