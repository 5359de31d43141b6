import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { MIN_UDP_SIZE, parseQuery, truncateResponse, type DnsRequest } from '@kube-dns/daemon-kit';
import type { CacheServer } from '@kube-dns/dnsmasq-cache';
import { rr, soa, startFakeUpstream, type FakeUpstream, type ReceivedQuery } from '../helpers/index.js';
import { fakeClock, startCache, type RunningCache } from './support.js';

/** Upstream zone: `<n>.a.test` A, `cn*.test` CNAME → target, `nx*.test` NXDOMAIN + SOA, `nodata*` NODATA, `big.test` 40 A. */
function zone(query: ReceivedQuery) {
  const name = query.name;
  if (name.startsWith('nx')) return { rcode: 'NXDOMAIN' as const, authorities: [soa('test', 300, 60)] };
  if (name.startsWith('nodata')) return { authorities: [soa('test', 300, 60)] };
  if (name.startsWith('cn'))
    return { answers: [rr(name, 'CNAME', `t-${name}`, 100), rr(`t-${name}`, 'A', '10.9.9.9', 50)] };
  if (name === 'big.test') return { answers: Array.from({ length: 40 }, (_, i) => rr(name, 'A', `10.0.1.${i}`, 100)) };
  if (query.type === 'AAAA') return { answers: [rr(name, 'AAAA', 'fd00::1', 100)] };
  if (query.type === 'SRV')
    return { answers: [rr(name, 'SRV', { priority: 0, weight: 10, port: 80, target: 'x.test' }, 80)] };
  return { answers: [rr(name, 'A', '10.1.2.3', name.startsWith('short') ? 5 : 100)] };
}

/** What daemon-kit's listener does with a UDP datagram on the normal path: parse, handler, truncation. */
async function normalPath(server: CacheServer, query: Buffer, ednsPacketMax = 1232): Promise<Buffer | null> {
  const parsed = parseQuery(query);
  if (!parsed.ok) return null;
  const view = parsed.view;
  const maxSize = view.edns ? Math.min(Math.max(view.edns.udpSize, MIN_UDP_SIZE), ednsPacketMax) : MIN_UDP_SIZE;
  const request: DnsRequest = { query, view, transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 5353, maxSize };
  const response = await server.handle(request);
  if (response === null) return null;
  return response.length > maxSize ? truncateResponse(response, maxSize) : response;
}

function makeQuery(
  name: string,
  type: string,
  shape: { id?: number; rd?: boolean; cd?: boolean; edns?: number; dnssecOk?: boolean } = {},
): Buffer {
  const packet: dnsPacket.Packet = {
    type: 'query',
    id: shape.id ?? 0x4242,
    flags: (shape.rd === false ? 0 : dnsPacket.RECURSION_DESIRED) | (shape.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name, type: type as dnsPacket.RecordType }],
  };
  if (shape.edns !== undefined) {
    packet.additionals = [
      { type: 'OPT', name: '.', udpPayloadSize: shape.edns, flags: shape.dnssecOk ? 0x8000 : 0 } as never,
    ];
  }
  return dnsPacket.encode(packet);
}

function lcg(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
}

const NAMES = [
  ...Array.from({ length: 12 }, (_, i) => `${i}.a.test`),
  'cn1.test',
  'cn2.test',
  't-cn1.test',
  'nx1.test',
  'nx2.test',
  'nodata1.test',
  'short.test',
  'big.test',
  'hosted.test',
];
const TYPES = ['A', 'AAAA', 'SRV', 'TXT', 'MX', 'ANY'];

describe('dnsmasq-cache UDP fast path: the same bytes, counters and LRU order as the normal path', () => {
  let upstream: FakeUpstream;
  before(async () => {
    upstream = await startFakeUpstream(zone);
  });
  after(() => upstream.close());

  test('2,000 queries through two caches, one with the fast path first: identical replies and state', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fast-path-hosts-'));
    writeFileSync(join(dir, 'hosts'), '10.7.7.7 hosted.test\n');
    const clock = fakeClock();
    // A small cache: evictions happen, and the LRU order decides which.
    const args = ['--no-hosts', `--addn-hosts=${join(dir, 'hosts')}`, '--no-resolv', `--server=${upstream.label}`];
    const start = async (): Promise<RunningCache> => startCache([...args, '--cache-size=40'], { clock: clock.now });
    const withFast = await start();
    const normal = await start();
    t.after(() => Promise.all([withFast.close(), normal.close()]));
    const random = lcg(5);
    let fastAnswers = 0;
    for (let i = 0; i < 2000; i++) {
      const name = NAMES[random(NAMES.length)]!;
      const spelled = name
        .split('')
        .map((c) => (random(3) === 0 ? c.toUpperCase() : c))
        .join('');
      const shape = {
        id: random(0x10000),
        rd: random(10) !== 0,
        cd: random(5) === 0,
        ...(random(2) === 0 ? { edns: [512, 1232, 4096, 700][random(4)]!, dnssecOk: random(6) === 0 } : {}),
      };
      const query = makeQuery(spelled, TYPES[random(TYPES.length)]!, shape);
      const fast = withFast.handle.server.udpFastPath!(query);
      if (fast !== null) fastAnswers++;
      const a = fast ?? (await normalPath(withFast.handle.server, query));
      const b = await normalPath(normal.handle.server, query);
      assert.deepEqual(a, b, `${spelled} ${JSON.stringify(shape)}`);
      assert.deepEqual(withFast.handle.server.cache.keysByRecency(), normal.handle.server.cache.keysByRecency());
      assert.equal(withFast.handle.server.counters.hits, normal.handle.server.counters.hits);
      assert.deepEqual(withFast.handle.server.cache.counters, normal.handle.server.cache.counters);
      if (random(20) === 0) clock.advance(random(8000));
    }
    assert.ok(fastAnswers > 300, `${fastAnswers} answered by the fast path`);
  });

  test('declined: DO, RD clear, class CH, a hosts name, an answer to truncate, TXT with --dns-loop-detect', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fast-path-hosts-'));
    writeFileSync(join(dir, 'hosts'), '10.7.7.7 hosted.test\n');
    const cache = await startCache([
      '--no-hosts',
      `--addn-hosts=${join(dir, 'hosts')}`,
      '--no-resolv',
      '--dns-loop-detect',
      `--server=${upstream.label}`,
    ]);
    t.after(() => cache.close());
    const server = cache.handle.server;
    for (const [name, type] of [
      ['1.a.test', 'A'],
      ['1.a.test', 'TXT'],
      ['big.test', 'A'],
    ] as const) {
      await normalPath(server, makeQuery(name, type));
    }
    assert.notEqual(server.udpFastPath!(makeQuery('1.A.test', 'A')), null, 'a plain hit is answered');
    assert.notEqual(server.udpFastPath!(makeQuery('1.a.test', 'A', { edns: 1232 })), null, 'with a plain OPT too');
    assert.equal(server.udpFastPath!(makeQuery('1.a.test', 'A', { edns: 1232, dnssecOk: true })), null, 'DO');
    assert.equal(server.udpFastPath!(makeQuery('1.a.test', 'A', { rd: false })), null, 'RD clear');
    const chaos = makeQuery('1.a.test', 'A');
    chaos.writeUInt16BE(3, chaos.length - 2);
    assert.equal(server.udpFastPath!(chaos), null, 'class CH');
    assert.equal(server.udpFastPath!(makeQuery('1.a.test', 'TXT')), null, 'TXT under --dns-loop-detect');
    assert.equal(server.udpFastPath!(makeQuery('big.test', 'A')), null, '40 records do not fit 512 octets');
    assert.notEqual(server.udpFastPath!(makeQuery('big.test', 'A', { edns: 1232 })), null, 'they fit 1232');
    await normalPath(server, makeQuery('hosted.test', 'AAAA'));
    assert.equal(server.udpFastPath!(makeQuery('hosted.test', 'AAAA')), null, 'a name the hosts files know');
    assert.equal(server.udpFastPath!(makeQuery('2.a.test', 'A')), null, 'not cached');
  });

  test('no fast path with --log-queries or an observer (every answer must be seen)', async (t) => {
    const logged = await startCache(['--no-resolv', '--no-hosts', `--server=${upstream.label}`, '--log-queries']);
    t.after(() => logged.close());
    assert.equal(logged.handle.server.udpFastPath, null);
    const observed = await startCache(['--no-resolv', '--no-hosts', `--server=${upstream.label}`], {
      observer: { onAnswer: () => undefined },
    });
    t.after(() => observed.close());
    assert.equal(observed.handle.server.udpFastPath, null);
  });

  test('over the socket: hits through the fast path count in hits.bind as before', async (t) => {
    const cache = await startCache(['--no-resolv', '--no-hosts', `--server=${upstream.label}`]);
    t.after(() => cache.close());
    await cache.query('3.a.test', 'A');
    const before = await cache.stats();
    for (let i = 0; i < 5; i++) await cache.query('3.A.TEST', 'A');
    const after = await cache.stats();
    // Five hits, plus the statistics queries themselves (each a local answer).
    assert.equal(after.hits - before.hits, 5 + 5);
    assert.equal(after.misses, before.misses);
  });
});
