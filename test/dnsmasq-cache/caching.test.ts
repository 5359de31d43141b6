import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exchangeUdp } from '@kube-dns/daemon-kit';
import {
  buildQuery,
  describeResponse,
  rr,
  soa,
  startFakeUpstream,
  type FakeUpstream,
  type ReceivedQuery,
} from '../helpers/index.js';
import { answerData, answerTtls, fakeClock, startCache, type RunningCache } from './support.js';

/**
 * Upstream zone for these tests: `<n>.a.test` A (TTL 100), `two.test` two A records, `cn.test` CNAME → `target.test`,
 * `nx*.test` NXDOMAIN (+SOA unless the name has `nosoa`), `nodata*.test` NODATA, `short.test` TTL 5, `zero.test`
 * TTL 0, `txt.test` TXT.
 */
function zone(query: ReceivedQuery) {
  const name = query.name;
  const soaRecord = soa('test', 300, 60);
  if (name.startsWith('nx'))
    return { rcode: 'NXDOMAIN' as const, authorities: name.includes('nosoa') ? [] : [soaRecord] };
  if (name.startsWith('nodata')) return { authorities: name.includes('nosoa') ? [] : [soaRecord] };
  if (name === 'two.test') return { answers: [rr(name, 'A', '10.0.0.1', 100), rr(name, 'A', '10.0.0.2', 100)] };
  if (name === 'cn.test') {
    return { answers: [rr('cn.test', 'CNAME', 'target.test', 100), rr('target.test', 'A', '10.9.9.9', 50)] };
  }
  if (name === 'cnnx.test')
    return {
      rcode: 'NXDOMAIN' as const,
      answers: [rr('cnnx.test', 'CNAME', 'nxgone.test', 100)],
      authorities: [soaRecord],
    };
  if (query.type === 'TXT') return { answers: [rr(name, 'TXT', 'hello', 100)] };
  if (query.type === 'AAAA') return { answers: [rr(name, 'AAAA', 'fd00::1', 100)] };
  const ttl = name === 'short.test' ? 5 : name === 'zero.test' ? 0 : 100;
  return { answers: [rr(name, 'A', '10.1.2.3', ttl)] };
}

describe('dnsmasq-cache caching', () => {
  let upstream: FakeUpstream;
  before(async () => {
    upstream = await startFakeUpstream(zone);
  });
  after(() => upstream.close());

  const withCache = async (
    args: string[],
    run: (cache: RunningCache, clock: ReturnType<typeof fakeClock>) => Promise<void>,
  ) => {
    const clock = fakeClock();
    const cache = await startCache(['--no-hosts', '--no-resolv', `--server=${upstream.label}`, ...args], {
      clock: clock.now,
    });
    try {
      await run(cache, clock);
    } finally {
      await cache.close();
    }
  };

  test('a hit is served from the cache with the remaining TTL, counting down, and expires', () =>
    withCache([], async (cache, clock) => {
      const first = await cache.query('1.a.test', 'A');
      assert.deepEqual(answerTtls(first), [100]);
      const before = upstream.queriesFor('1.a.test').length;
      clock.advance(30_000);
      const second = await cache.query('1.a.test', 'A');
      assert.deepEqual(answerTtls(second), [70]);
      assert.deepEqual(answerData(second), ['10.1.2.3']);
      assert.equal(upstream.queriesFor('1.a.test').length, before, 'served from the cache');
      clock.advance(69_500);
      assert.deepEqual(answerTtls(await cache.query('1.a.test', 'A')), [1], 'the last second shows 1');
      clock.advance(500);
      assert.deepEqual(answerTtls(await cache.query('1.a.test', 'A')), [100], 'expired: fetched again');
      assert.equal(upstream.queriesFor('1.a.test').length, before + 1);
      const stats = await cache.stats();
      assert.deepEqual([stats.hits, stats.misses, stats.insertions], [2, 2, 2]);
    }));

  test('the owner name echoes the case of each query, and RD/RA/AA flags are dnsmasq’s', () =>
    withCache([], async (cache) => {
      await cache.query('2.a.test', 'A');
      const hit = await cache.query('2.A.TeSt', 'A');
      assert.equal(hit.packet.answers![0]!.name, '2.A.TeSt');
      assert.equal(hit.packet.questions![0]!.name, '2.A.TeSt');
      assert.deepEqual(hit.flags, { aa: false, tc: false, rd: true, ra: true });
      assert.equal(hit.rcode, 'NOERROR');
    }));

  test('--max-ttl caps what clients see while the cache keeps the true TTL; --max-cache-ttl and --min-cache-ttl', async () => {
    await withCache(['--max-ttl=30'], async (cache, clock) => {
      assert.deepEqual(answerTtls(await cache.query('3.a.test', 'A')), [30], 'forwarded answer capped');
      clock.advance(50_000);
      assert.deepEqual(answerTtls(await cache.query('3.a.test', 'A')), [30], 'still cached after 50 s (true TTL 100)');
      clock.advance(20_000);
      assert.deepEqual(answerTtls(await cache.query('3.a.test', 'A')), [30]);
      assert.equal(upstream.queriesFor('3.a.test').length, 1);
    });
    await withCache(['--max-cache-ttl=10'], async (cache, clock) => {
      assert.deepEqual(answerTtls(await cache.query('4.a.test', 'A')), [100], 'first answer is upstream’s');
      assert.deepEqual(answerTtls(await cache.query('4.a.test', 'A')), [10], 'cached for at most 10 s');
      clock.advance(10_000);
      await cache.query('4.a.test', 'A');
      assert.equal(upstream.queriesFor('4.a.test').length, 2, 'expired after 10 s');
    });
    await withCache(['--min-cache-ttl=60'], async (cache, clock) => {
      await cache.query('short.test', 'A');
      clock.advance(30_000);
      assert.deepEqual(answerTtls(await cache.query('short.test', 'A')), [30], 'a 5 s TTL kept 60 s');
      assert.equal(upstream.queriesFor('short.test').length, 1);
    });
  });

  test('records with TTL 0, TXT answers, RD=0 queries and DNSSEC-OK queries are not answered from the cache', () =>
    withCache([], async (cache) => {
      await cache.query('zero.test', 'A');
      await cache.query('zero.test', 'A');
      assert.equal(upstream.queriesFor('zero.test').length, 2, 'TTL 0 not cached');
      await cache.query('txt.test', 'TXT');
      await cache.query('txt.test', 'TXT');
      assert.equal(upstream.queriesFor('txt.test').length, 2, 'dnsmasq 2.90 caches A, AAAA, SRV, CNAME, PTR only');
      await cache.query('5.a.test', 'A');
      await cache.query('5.a.test', 'A', { recursionDesired: false });
      assert.equal(upstream.queriesFor('5.a.test').length, 2, 'RD=0 goes upstream (no cache snooping)');
      const stats = await cache.stats();
      assert.equal(stats.insertions, 2, '5.a.test inserted twice (the RD=0 answer replaces the first)');
    }));

  test('CD (checking disabled): the reply carries the client’s CD; answers to CD queries are not cached', () =>
    withCache([], async (cache) => {
      const ask = async (name: string, cd: boolean) => {
        const query = buildQuery(name, 'A');
        if (cd) query[3]! |= 0x10;
        return describeResponse(await exchangeUdp(cache.server, query, { timeoutMs: 3000 }));
      };
      // The fake upstream does not echo CD: the flag comes from the client's query, as dnsmasq restores it.
      const forwarded = await ask('cd1.a.test', true);
      assert.equal(forwarded.raw[3]! & 0x10, 0x10, 'CD set in the forwarded reply');
      const plain = await ask('cd1.a.test', false);
      assert.equal(plain.raw[3]! & 0x10, 0, 'no CD when not asked');
      assert.equal(upstream.queriesFor('cd1.a.test').length, 2, 'the CD answer was not cached (dnsmasq 2.90)');
      const hit = await ask('cd1.a.test', true);
      assert.equal(upstream.queriesFor('cd1.a.test').length, 2, 'a CD query may be answered from the cache');
      assert.equal(hit.raw[3]! & 0x10, 0x10);
      assert.deepEqual(answerData(hit), ['10.1.2.3']);
    }));

  test('a CNAME chain is cached as dnsmasq does: the target alone is a hit too, insertions count records', () =>
    withCache([], async (cache) => {
      const first = await cache.query('cn.test', 'A');
      assert.deepEqual(answerData(first), ['target.test', '10.9.9.9']);
      const hit = await cache.query('CN.test', 'A');
      assert.deepEqual(answerData(hit), ['target.test', '10.9.9.9']);
      assert.deepEqual(answerTtls(hit), [100, 50]);
      const target = await cache.query('target.test', 'A');
      assert.deepEqual(answerData(target), ['10.9.9.9']);
      assert.equal(upstream.queriesFor('target.test').length, 0);
      const stats = await cache.stats();
      assert.deepEqual([stats.hits, stats.misses, stats.insertions], [2, 1, 2]);
    }));

  test('two records of one answer count as two cache records', () =>
    withCache([], async (cache) => {
      await cache.query('two.test', 'A');
      const hit = await cache.query('two.test', 'A');
      assert.deepEqual(answerData(hit).sort(), ['10.0.0.1', '10.0.0.2']);
      assert.equal((await cache.stats()).insertions, 2);
    }));

  test('negative caching: NXDOMAIN for the name (any type) and NODATA per type, TTL min(SOA TTL, MINIMUM)', () =>
    withCache([], async (cache, clock) => {
      const nx = await cache.query('nx1.test', 'A');
      assert.equal(nx.rcode, 'NXDOMAIN');
      const nxAaaa = await cache.query('nx1.test', 'AAAA');
      assert.equal(nxAaaa.rcode, 'NXDOMAIN', 'NXDOMAIN answers every type of the name');
      assert.equal(nxAaaa.packet.authorities![0]!.type, 'SOA');
      assert.equal(upstream.queriesFor('nx1.test').length, 1);
      const nodata = await cache.query('nodata1.test', 'A');
      assert.equal(nodata.rcode, 'NOERROR');
      await cache.query('nodata1.test', 'A');
      assert.equal(upstream.queriesFor('nodata1.test').length, 1);
      await cache.query('nodata1.test', 'AAAA');
      assert.equal(upstream.queriesFor('nodata1.test').length, 2, 'NODATA is per type');
      clock.advance(59_000);
      const stillCached = await cache.query('nx1.test', 'A');
      assert.equal(
        (stillCached.packet.authorities![0] as { ttl?: number }).ttl,
        241,
        'the SOA counts down from its own TTL',
      );
      clock.advance(1_000);
      await cache.query('nx1.test', 'A');
      assert.equal(upstream.queriesFor('nx1.test').length, 2, 'negative TTL = min(300, 60)');
      const stats = await cache.stats();
      assert.equal(stats.insertions, 2 + 2 + 2 + 2, 'each negative answer is an entry plus its SOA');
    }));

  test('negative answers without SOA are cached only with --neg-ttl; --no-negcache caches none', async () => {
    await withCache([], async (cache) => {
      await cache.query('nx-nosoa1.test', 'A');
      await cache.query('nx-nosoa1.test', 'A');
      assert.equal(upstream.queriesFor('nx-nosoa1.test').length, 2);
    });
    await withCache(['--neg-ttl=7'], async (cache, clock) => {
      await cache.query('nx-nosoa2.test', 'A');
      const hit = await cache.query('nx-nosoa2.test', 'A');
      assert.equal(hit.rcode, 'NXDOMAIN');
      assert.equal(upstream.queriesFor('nx-nosoa2.test').length, 1);
      clock.advance(7_000);
      await cache.query('nx-nosoa2.test', 'A');
      assert.equal(upstream.queriesFor('nx-nosoa2.test').length, 2);
    });
    await withCache(['--no-negcache', '--neg-ttl=7'], async (cache) => {
      await cache.query('nx2.test', 'A');
      await cache.query('nx2.test', 'A');
      await cache.query('nodata2.test', 'A');
      await cache.query('nodata2.test', 'A');
      assert.equal(upstream.queriesFor('nx2.test').length, 2);
      assert.equal(upstream.queriesFor('nodata2.test').length, 2);
      assert.equal((await cache.stats()).insertions, 0);
    });
  });

  test('a CNAME to a name that does not exist: the chain and the NXDOMAIN of its target', () =>
    withCache([], async (cache) => {
      const first = await cache.query('cnnx.test', 'A');
      assert.equal(first.rcode, 'NXDOMAIN');
      const hit = await cache.query('cnnx.test', 'A');
      assert.equal(hit.rcode, 'NXDOMAIN');
      assert.deepEqual(answerData(hit), ['nxgone.test']);
      const target = await cache.query('nxgone.test', 'MX');
      assert.equal(target.rcode, 'NXDOMAIN');
      assert.equal(upstream.queriesFor('cnnx.test').length + upstream.queriesFor('nxgone.test').length, 1);
    }));

  test('SIGHUP (reload) clears the cache and starts insertions.bind and evictions.bind from 0, as dnsmasq 2.90', () =>
    withCache(['--cache-size=2'], async (cache) => {
      for (const n of [1, 2, 3, 4]) await cache.query(`${n}.hup.test`, 'A');
      const before = await cache.stats();
      assert.deepEqual([before.insertions, before.evictions, before.misses], [4, 2, 4]);
      cache.handle.reload();
      const after = await cache.stats();
      assert.deepEqual([after.insertions, after.evictions, after.misses], [0, 0, 4], 'hits and misses go on');
      await cache.query('4.hup.test', 'A');
      assert.equal(upstream.queriesFor('4.hup.test').length, 2, 'the cache was cleared');
      assert.equal((await cache.stats()).insertions, 1);
    }));

  test('--cache-size=0 disables caching', () =>
    withCache(['--cache-size=0'], async (cache) => {
      await cache.query('6.a.test', 'A');
      await cache.query('6.a.test', 'A');
      assert.equal(upstream.queriesFor('6.a.test').length, 2);
      const stats = await cache.stats();
      assert.deepEqual([stats.cachesize, stats.insertions, stats.hits, stats.misses], [0, 0, 0, 2]);
    }));

  test('least recently used entries are evicted first and counted in evictions.bind', () =>
    withCache(['--cache-size=3'], async (cache) => {
      for (const n of [1, 2, 3]) await cache.query(`${n}.lru.test`, 'A');
      await cache.query('1.lru.test', 'A'); // 1 is now the most recently used; 2 the least
      await cache.query('4.lru.test', 'A'); // evicts 2
      const before = upstream.queries.length;
      await cache.query('1.lru.test', 'A');
      await cache.query('3.lru.test', 'A');
      await cache.query('4.lru.test', 'A');
      assert.equal(upstream.queries.length, before, '1, 3, 4 still cached');
      await cache.query('2.lru.test', 'A');
      assert.equal(upstream.queries.length, before + 1, '2 was evicted');
      assert.deepEqual(cache.handle.server.cache.keysByRecency(), ['2.lru.test/1', '4.lru.test/1', '3.lru.test/1']);
      const stats = await cache.stats();
      assert.deepEqual([stats.insertions, stats.evictions], [5, 2]);
    }));

  test('expired entries make room before live ones are evicted (not counted as evictions)', () =>
    withCache(['--cache-size=2'], async (cache, clock) => {
      await cache.query('short.test', 'A');
      await cache.query('7.a.test', 'A');
      clock.advance(6_000);
      await cache.query('8.a.test', 'A');
      assert.deepEqual(cache.handle.server.cache.keysByRecency(), ['8.a.test/1', '7.a.test/1']);
      assert.equal((await cache.stats()).evictions, 0);
    }));
});
