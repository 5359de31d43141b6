import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import {
  DEFAULT_EDNS_UDP_SIZE,
  MIN_UDP_SIZE,
  parseQuery,
  questionHash,
  RawQuestion,
  silentLogger,
  startDnsListener,
  truncateResponse,
  type DnsListenerObserver,
  type DnsRequest,
} from '@kube-dns/daemon-kit';
import { createDnsMetrics, type DnsMetrics, type RecordStore } from '@kube-dns/kubedns';
import { FakeForwarder, fixtureAnswerer, headless, makeQuery, mixCase, slice, specFixture } from './answers-fixture.js';

function newAnswerer(store: RecordStore, forwarder = new FakeForwarder(), metrics?: DnsMetrics) {
  return fixtureAnswerer(store, forwarder, metrics ? { metrics } : {});
}

/**
 * What daemon-kit's listener sends for a UDP datagram on the normal path (parse, handler, truncation), and
 * what it reports to its observer.
 */
async function normalPath(
  answerer: ReturnType<typeof newAnswerer>,
  query: Buffer,
  observer?: DnsListenerObserver,
): Promise<Buffer | null> {
  const parsed = parseQuery(query);
  if (!parsed.ok) return null;
  const view = parsed.view;
  const maxSize = view.edns ? Math.min(Math.max(view.edns.udpSize, MIN_UDP_SIZE), DEFAULT_EDNS_UDP_SIZE) : MIN_UDP_SIZE;
  const request: DnsRequest = { query, view, transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 5353, maxSize };
  const response = await answerer.handler(request);
  if (response === null) return null;
  const out = response.length > maxSize ? truncateResponse(response, maxSize) : response;
  observer?.onResponse?.(request, out, 0.0001, out !== response);
  return out;
}

const LABELS = ['web', 'headless', 'my-pet', '10-3-0-102', 'dual', 'v6', 'dns', '_http', '_tcp', '_dns', '_udp'];
const LABELS_2 = ['prod', 'default', 'podns', 'nosuch', 'svc', 'pod', 'dns-version', 'x'];
const TYPES = ['A', 'AAAA', 'SRV', 'PTR', 'TXT', 'CNAME', 'NS', 'SOA', 'ANY', 'MX'];

function lcg(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
}

describe('kube-dns UDP fast path: byte for byte what the normal path sends', () => {
  test('2,000 generated queries (names, case, types, IDs, RD/CD, EDNS sizes and DO): equal, or left to the normal path', async () => {
    const store = specFixture('insecure');
    const answerer = newAnswerer(store);
    const random = lcg(11);
    let fast = 0;
    for (let i = 0; i < 2000; i++) {
      const labels = Array.from({ length: 1 + random(3) }, () => LABELS[random(LABELS.length)]!);
      const name = [...labels, LABELS_2[random(LABELS_2.length)]!, 'svc', 'cluster', 'local']
        .slice(random(2))
        .join('.');
      const shape = {
        id: random(0x10000),
        rd: random(4) !== 0,
        cd: random(4) === 0,
        ...(random(2) === 0 ? { edns: [512, 1232, 4096, 600][random(4)]!, dnssecOk: random(3) === 0 } : {}),
      };
      const query = makeQuery(random(2) === 0 ? mixCase(name, random(2)) : name, TYPES[random(TYPES.length)]!, shape);
      // First the normal path (it builds the cache entry), then both on the same query.
      await normalPath(answerer, query);
      const viaFast = answerer.udpFastPath(query);
      const viaNormal = await normalPath(answerer, query);
      if (viaFast === null) continue;
      fast++;
      assert.deepEqual(viaFast, viaNormal, `${name} ${JSON.stringify(shape)}`);
    }
    assert.ok(fast > 1500, `${fast} answered by the fast path`);
  });

  test('anything unusual is left to the normal path', async () => {
    const store = specFixture('insecure');
    const answerer = newAnswerer(store);
    const name = 'web.prod.svc.cluster.local';
    const plain = makeQuery(name, 'A');
    await normalPath(answerer, plain);
    assert.notEqual(answerer.udpFastPath(plain), null, 'the plain query is answered');
    const variants: Array<[string, Buffer]> = [];
    const edit = (what: string, change: (q: Buffer) => Buffer): void => {
      variants.push([what, change(Buffer.from(plain))]);
    };
    edit('a response (QR set)', (q) => ((q[2] = q[2]! | 0x80), q));
    edit('opcode NOTIFY', (q) => ((q[2] = (q[2]! & 0x87) | (4 << 3)), q));
    edit('two questions', (q) => ((q[5] = 2), q));
    edit('an answer record counted', (q) => ((q[7] = 1), q));
    edit('an authority record counted', (q) => ((q[9] = 1), q));
    edit('two additional records counted', (q) => ((q[11] = 2), q));
    edit('trailing octets', (q) => Buffer.concat([q, Buffer.from([0])]));
    edit('cut short', (q) => q.subarray(0, q.length - 1));
    edit('class CH', (q) => (q.writeUInt16BE(3, q.length - 2), q));
    edit('class ANY', (q) => (q.writeUInt16BE(255, q.length - 2), q));
    edit('a literal dot in a label', (q) => ((q[14] = 0x2e), q));
    edit('a space in a label', (q) => ((q[14] = 0x20), q));
    edit('an octet above 0x7e', (q) => ((q[14] = 0xe9), q));
    variants.push([
      'a compressed question name',
      Buffer.concat([plain.subarray(0, 12), Buffer.from([0xc0, 0x0c]), plain.subarray(plain.length - 4)]),
    ]);
    const withOpt = makeQuery(name, 'A', { edns: 1232 });
    await normalPath(answerer, withOpt);
    assert.notEqual(answerer.udpFastPath(withOpt), null, 'the plain EDNS query is answered');
    const optAt = withOpt.length - 11;
    const editOpt = (what: string, change: (q: Buffer) => void): void => {
      const q = Buffer.from(withOpt);
      change(q);
      variants.push([what, q]);
    };
    editOpt('EDNS version 1', (q) => (q[optAt + 6] = 1));
    editOpt('an OPT with an owner name', (q) => (q[optAt] = 1));
    editOpt('an OPT with options (RDLENGTH)', (q) => (q[optAt + 10] = 4));
    editOpt('another record type than OPT', (q) => q.writeUInt16BE(1, optAt + 1));
    for (const [what, query] of variants) assert.equal(answerer.udpFastPath(query), null, what);
  });

  test('a store change makes the entry stale: normal path, then the new answer from the fast path', async () => {
    const store = specFixture('insecure');
    const answerer = newAnswerer(store);
    const query = makeQuery('headless.default.svc.cluster.local', 'A');
    await normalPath(answerer, query);
    const before = answerer.udpFastPath(query);
    assert.ok(before !== null);
    store.upsertEndpoints(slice('default/headless-extra', 'headless', ['10.3.0.199'], ['https/tcp/443']));
    assert.equal(answerer.udpFastPath(query), null, 'stale');
    const after = await normalPath(answerer, query);
    assert.deepEqual(answerer.udpFastPath(query), after);
    assert.notDeepEqual(after, before);
  });

  test('stub domains changed: the normal path (which clears the cache), then the fast path again', async () => {
    const store = specFixture('insecure');
    const forwarder = new FakeForwarder();
    const answerer = newAnswerer(store, forwarder);
    const query = makeQuery('web.prod.svc.cluster.local', 'A');
    await normalPath(answerer, query);
    assert.notEqual(answerer.udpFastPath(query), null);
    forwarder.routingVersion++;
    assert.equal(answerer.udpFastPath(query), null);
    await normalPath(answerer, query);
    assert.notEqual(answerer.udpFastPath(query), null);
  });

  test('an answer too big for the client is left to the normal path (it truncates)', async () => {
    const store = specFixture('insecure');
    store.upsertService(headless('default/wide', ['https/tcp/443']));
    const ips = Array.from({ length: 60 }, (_, i) => `10.9.0.${i + 1}`);
    store.upsertEndpoints(slice('default/wide-a', 'wide', ips, ['https/tcp/443']));
    const answerer = newAnswerer(store);
    const small = makeQuery('wide.default.svc.cluster.local', 'A');
    await normalPath(answerer, small);
    assert.equal(answerer.udpFastPath(small), null, '60 A records do not fit 512 octets');
    const large = makeQuery('wide.default.svc.cluster.local', 'A', { edns: 4096 });
    await normalPath(answerer, large);
    assert.deepEqual(answerer.udpFastPath(large), await normalPath(answerer, large));
  });

  test('metrics count a fast-path reply exactly as the listener observer counts the normal one', async () => {
    const queries = [
      makeQuery('web.prod.svc.cluster.local', 'A'),
      makeQuery('web.prod.svc.cluster.local', 'AAAA', { edns: 1232 }),
      makeQuery('nosuch.prod.svc.cluster.local', 'A'),
      makeQuery('emptyns.svc.cluster.local', 'A'),
      makeQuery('20.0.3.10.in-addr.arpa', 'PTR'),
      makeQuery('_http._tcp.web.prod.svc.cluster.local', 'SRV'),
      makeQuery('dns-version.cluster.local', 'TXT'),
    ];
    const counted = async (viaFast: boolean): Promise<string> => {
      const registry = new Registry();
      const metrics = createDnsMetrics(registry);
      const answerer = newAnswerer(specFixture('insecure'), new FakeForwarder(), metrics);
      for (const query of queries) await normalPath(answerer, query); // builds the entries, not counted
      for (const query of queries) {
        if (viaFast) assert.ok(answerer.udpFastPath(query) !== null);
        else await normalPath(answerer, query, metrics.observer);
      }
      // Everything but the durations must be the same (and the misses, counted once by both).
      return (await registry.metrics())
        .split('\n')
        .filter((line) => !line.startsWith('#') && !/duration/.test(line))
        .join('\n');
    };
    const fast = await counted(true);
    assert.match(fast, /dns_requests_total\{proto="udp",type="PTR"\} 1/);
    assert.equal(fast, await counted(false));
  });
});

describe('kube-dns UDP fast path: the question hash', () => {
  test('the hash of the wire question equals the hash of the lower-cased name, any case', () => {
    const random = lcg(3);
    const question = new RawQuestion();
    for (let i = 0; i < 500; i++) {
      const name = Array.from(
        { length: random(5) },
        () => ['a', 'Web', 'x-1', '_tcp', 'CLUSTER', 'z9'][random(6)],
      ).join('.');
      const types = ['A', 'AAAA', 'SRV', 'PTR', 'ANY', 'MX'] as const;
      const typeNames: Record<string, number> = { A: 1, AAAA: 28, SRV: 33, PTR: 12, ANY: 255, MX: 15 };
      const typeName = types[random(types.length)]!;
      const type = typeNames[typeName]!;
      const query = dnsPacket.encode({
        type: 'query',
        id: 1,
        questions: [{ name: name || '.', type: typeName as never }],
      });
      assert.ok(question.scan(query), name);
      assert.equal(question.hash, questionHash(name.toLowerCase(), type), name);
      assert.equal(question.qtype, type);
    }
  });
});

describe('daemon-kit listener: udpFastPath', () => {
  test('used for UDP before parsing; null or a throw takes the normal path; TCP never uses it', async (t) => {
    const seen: string[] = [];
    const listener = await startDnsListener({
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger,
      udpFastPath: (query) => {
        const kind = query[query.length - 1] === 0xaa ? 'fast' : query[query.length - 1] === 0xbb ? 'throw' : 'null';
        seen.push(kind);
        if (kind === 'throw') throw new Error('boom');
        return kind === 'fast' ? Buffer.from('fast-reply') : null;
      },
      handler: (request) => {
        seen.push(`handler ${request.transport}`);
        const reply = Buffer.from(request.query);
        reply[2] = reply[2]! | 0x80;
        return reply;
      },
    });
    t.after(() => listener.close());
    const socket = dgram.createSocket('udp4');
    t.after(() => socket.close());
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const exchange = (payload: Buffer): Promise<Buffer> =>
      new Promise((resolve) => {
        socket.once('message', resolve);
        socket.send(payload, listener.port, '127.0.0.1');
      });
    const query = (last: number): Buffer => {
      const q = makeQuery('a.example', 'A');
      return Buffer.concat([q, Buffer.from([last])]);
    };
    assert.equal((await exchange(query(0xaa))).toString(), 'fast-reply');
    assert.equal((await exchange(query(0x00)))[2]! & 0x80, 0x80);
    assert.equal((await exchange(query(0xbb)))[2]! & 0x80, 0x80);
    assert.deepEqual(seen, ['fast', 'null', 'handler udp', 'throw', 'handler udp']);
  });
});
