import type { RecordType } from 'dns-packet';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  captureLog,
  rr,
  startFakeUpstream,
  waitUntil,
  type FakeUpstream,
  type ReceivedQuery,
} from '../helpers/index.js';
import { answerData, answerTtls, startCache } from './support.js';

describe('dnsmasq-cache local answers', () => {
  let upstream: FakeUpstream;
  let dir: string;
  before(async () => {
    upstream = await startFakeUpstream((q: ReceivedQuery) =>
      q.name.startsWith('gone') || q.name === 'onlyv4.local'
        ? { rcode: 'NXDOMAIN' }
        : { answers: q.type === 'A' ? [rr(q.name, 'A', '10.7.7.7', 100)] : [] },
    );
    dir = mkdtempSync(join(tmpdir(), 'dnsmasq-cache-hosts-'));
    writeFileSync(
      join(dir, 'hosts'),
      '# comment\n10.1.2.3 onlyv4.local alias.local\n10.1.2.4 onlyv4.local\nfd00::5 Six.Local\n\n127.0.0.1 localhost\n',
    );
  });
  after(() => upstream.close());

  test('CHAOS TXT statistics as dnsmasq 2.90: names, AA, TTL 0, class CH; other *.bind NOTIMP', async () => {
    const cache = await startCache(['--no-hosts', '--no-resolv', `--server=${upstream.label}`, '--cache-size=321']);
    try {
      await cache.query('s1.test', 'A');
      await cache.query('s1.test', 'A');
      await cache.query('s1.test', 'A', { tcp: true });
      const result = await cache.query('cachesize.bind', 'TXT', { qclass: 'CH' });
      assert.deepEqual(result.flags, { aa: true, tc: false, rd: true, ra: true });
      const answer = result.packet.answers![0] as { ttl: number; class: string; data: Buffer[] };
      assert.deepEqual([answer.ttl, answer.class, answer.data.map(String)], [0, 'CH', ['321']]);
      // hits: the second s1.test and cachesize.bind (TCP not counted, as dnsmasq's forked TCP children).
      assert.deepEqual(await cache.chaos('hits.bind'), ['2']);
      assert.deepEqual(await cache.chaos('misses.bind'), ['1']);
      assert.deepEqual(await cache.chaos('insertions.bind'), ['1']);
      assert.deepEqual(await cache.chaos('evictions.bind'), ['0']);
      assert.deepEqual(await cache.chaos('auth.bind'), ['0']);
      assert.deepEqual(await cache.chaos('servers.bind'), [`${upstream.label} 1 0`]);
      assert.deepEqual(await cache.chaos('hits.bind'), ['8'], 'each statistics query counts as a hit');
      assert.deepEqual(await cache.chaos('hits.bind', { tcp: true }), ['9'], 'over TCP too');
      assert.match((await cache.chaos('version.bind'))[0]!, /^dnsmasq-cache-\d+\.\d+\.\d+/);
      for (const name of ['hostname.bind', 'id.server', 'foo.bind']) {
        const notimp = await cache.query(name, 'TXT', { qclass: 'CH' });
        assert.equal(notimp.rcode, 'NOTIMP', name);
        assert.equal(notimp.flags.aa, false);
      }
      assert.equal((await cache.query('hits.bind', 'A', { qclass: 'CH' })).rcode, 'NOTIMP', 'only TXT/ANY');
      const withEdns = await cache.query('hits.bind', 'TXT', { qclass: 'CH', edns: 4096 });
      assert.ok(
        withEdns.packet.additionals!.some((a) => a.type === 'OPT'),
        'OPT echoed',
      );
    } finally {
      await cache.close();
    }
  });

  test('--no-ident: no statistics over DNS', async () => {
    const cache = await startCache(['--no-hosts', '--no-resolv', '--no-ident']);
    try {
      assert.equal((await cache.query('hits.bind', 'TXT', { qclass: 'CH' })).rcode, 'NOTIMP');
    } finally {
      await cache.close();
    }
  });

  test('hosts files: A/AAAA/ANY/PTR answered locally with AA and --local-ttl; other types forwarded', async () => {
    const cache = await startCache([
      '--no-hosts',
      `--addn-hosts=${join(dir, 'hosts')}`,
      '--no-resolv',
      `--server=${upstream.label}`,
      '--local-ttl=5',
    ]);
    try {
      const base = upstream.queries.length;
      const a = await cache.query('OnlyV4.local', 'A');
      assert.deepEqual(answerData(a), ['10.1.2.3', '10.1.2.4']);
      assert.deepEqual(answerTtls(a), [5, 5]);
      assert.equal(a.flags.aa, true);
      assert.equal(a.packet.answers![0]!.name, 'OnlyV4.local');
      assert.deepEqual(answerData(await cache.query('alias.local', 'A')), ['10.1.2.3']);
      assert.deepEqual(answerData(await cache.query('six.local', 'AAAA')), ['fd00::5']);
      assert.deepEqual(answerData(await cache.query('3.2.1.10.in-addr.arpa', 'PTR')), ['onlyv4.local']);
      assert.deepEqual(
        answerData(
          await cache.query('5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa', 'PTR'),
        ),
        ['six.local'],
        'the PTR name in lower case, as dnsmasq 2.90 answers it (the file says Six.Local)',
      );
      assert.deepEqual(answerData(await cache.query('onlyv4.local', 'ANY' as RecordType)).sort(), [
        '10.1.2.3',
        '10.1.2.4',
      ]);
      assert.equal(upstream.queries.length, base, 'nothing forwarded');
      // A name from the hosts file, a type it does not have: forwarded; upstream's NXDOMAIN becomes NODATA.
      const mx = await cache.query('onlyv4.local', 'MX');
      assert.equal(mx.rcode, 'NOERROR');
      assert.equal(mx.flags.aa, true);
      assert.equal(upstream.queriesFor('onlyv4.local').length, 1);
      const stats = await cache.stats();
      assert.deepEqual([stats.hits, stats.misses], [6, 1]);
    } finally {
      await cache.close();
    }
  });

  test('--dns-loop-detect: a default server that sends our own probe back is disabled', async () => {
    let cachePort = 0;
    const loopback = dgram.createSocket('udp4');
    const looping = await startFakeUpstream(async (q) => {
      // A misconfigured upstream (e.g. a node resolver that forwards to us): whatever it gets, it asks us.
      const port = await waitUntil('the cache port', () => cachePort);
      loopback.send(q.raw, port, '127.0.0.1');
      return { drop: true };
    });
    const good = await startFakeUpstream((q) => ({ answers: [rr(q.name, 'A', '10.8.8.8', 100)] }));
    const log = captureLog('info');
    const cache = await startCache(
      [
        '--no-hosts',
        '--no-resolv',
        '--dns-loop-detect',
        '--strict-order',
        `--server=${looping.label}`,
        `--server=${good.label}`,
      ],
      { logger: log.logger },
    );
    cachePort = cache.server.port;
    try {
      await waitUntil(
        'loop detected',
        () => log.matching(`NOT using nameserver ${looping.label} - query loop detected`).length > 0,
      );
      assert.equal(looping.queries.length, 1, 'only the probe');
      assert.match(looping.queries[0]!.name, /^[0-9a-f]{8}\.test$/);
      assert.equal(good.queries.filter((q) => q.type === 'TXT').length, 1, 'the good server got its probe too');
      const before = looping.queries.length;
      assert.deepEqual(answerData(await cache.query('after-loop.test', 'A')), ['10.8.8.8']);
      assert.equal(looping.queries.length, before, 'the looping server is no longer used');
      assert.deepEqual(await cache.chaos('servers.bind'), [`${looping.label} 0 0`, `${good.label} 1 0`]);
    } finally {
      await cache.close();
      await looping.close();
      await good.close();
      loopback.close();
    }
  });
});
