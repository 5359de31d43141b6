import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { parseQuery, type DnsRequest, type QueryView } from '@kube-dns/daemon-kit';
import { encodeResponseReference, resolve, spellLikeQuestion, type RecordStore } from '@kube-dns/kubedns';
import {
  clusterIp,
  FakeForwarder,
  fixtureAnswerer,
  headless,
  makeQuery,
  mixCase,
  packetSections,
  slice,
  sorted,
  specFixture,
  SPEC_ROWS,
  type QueryShape,
} from './answers-fixture.js';

function request(query: Buffer, transport: 'udp' | 'tcp' = 'udp'): DnsRequest {
  const parsed = parseQuery(query);
  assert.ok(parsed.ok, 'query parses');
  return { query, view: parsed.view, transport, remoteAddress: '127.0.0.1', remotePort: 5353, maxSize: 65535 };
}

function newHandler(store: RecordStore, forwarder = new FakeForwarder()) {
  return fixtureAnswerer(store, forwarder).handler;
}

async function answer(handler: ReturnType<typeof newHandler>, query: Buffer): Promise<Buffer> {
  const response = await handler(request(query));
  assert.ok(response !== null);
  return response;
}

/** The slow path: resolver + dns-packet encoder for the same query. */
function reference(store: RecordStore, query: Buffer): Buffer {
  const view: QueryView = request(query).view;
  const resolution = resolve(store, { name: view.qname, type: view.qtype, class: view.qclass });
  assert.equal(resolution.kind, 'answer');
  if (resolution.kind !== 'answer') throw new Error('unreachable');
  return encodeResponseReference(query, view, resolution.message, 1232, { serial: store.serial });
}

const shapes: Array<[string, QueryShape]> = [
  ['no EDNS', {}],
  ['EDNS 1232', { edns: 1232 }],
  ['EDNS 4096 + DO, RD off, CD on', { edns: 4096, dnssecOk: true, rd: false, cd: true }],
];

describe('handler: pre-encoded answers equal the dns-packet reference for every SPEC row', () => {
  const store = specFixture('insecure');
  const rows = SPEC_ROWS.filter((row) => !row.forward && row.chase === undefined);
  for (const row of rows) {
    test(`${row.name} ${row.type}: ${row.why}`, async () => {
      const handler = newHandler(store);
      for (const [shapeName, shape] of shapes) {
        for (const [spelling, name] of [
          ['lower', row.name],
          ['mixed', mixCase(row.name)],
          ['MIXED', mixCase(row.name, 1)],
          ['upper', row.name.toUpperCase()],
        ] as const) {
          const query = makeQuery(name, row.type, { ...shape, id: 0xbeef });
          const label = `${spelling} ${shapeName}`;
          // Twice: the first builds the cache entry, the second is the hit path.
          for (const pass of ['miss', 'hit']) {
            const fast = await answer(handler, query);
            assert.deepEqual(dnsPacket.decode(fast), dnsPacket.decode(reference(store, query)), `${label} ${pass}`);
          }
          const got = packetSections(await answer(handler, query));
          assert.equal(got.rcode, row.rcode, label);
          const expected = (lines: string[] | undefined) =>
            (lines ?? []).map((line) =>
              line
                .split(' ')
                .map((token, i, tokens) =>
                  // Every name follows the spelling rule, except SRV targets (written out in lower case).
                  token.endsWith('.') && (i === 0 || tokens[3] !== 'SRV')
                    ? spellLikeQuestion(token.replace(/\.$/, ''), name) + '.'
                    : token,
                )
                .join(' '),
            );
          assert.deepEqual(
            row.ordered ? got.answer : sorted(got.answer),
            row.ordered ? expected(row.answer) : sorted(expected(row.answer)),
            `${label}: owners echo the question's case`,
          );
          for (const line of got.answer) {
            if (line.split(' ')[0]!.toLowerCase() === `${row.name}.`) assert.ok(line.startsWith(`${name}.`), line);
          }
        }
      }
    });
  }
});

describe('handler: fast path equals the reference on generated names', () => {
  test("3000 names built from the fixture's labels, random case, every query type", async () => {
    const store = specFixture('insecure');
    const handler = newHandler(store);
    const labels = [
      'web',
      'headless',
      'my-pet',
      '10-3-0-102',
      'fd00--6',
      'hl6',
      'multi',
      '_http',
      '_tcp',
      '_https',
      '_dns',
      '_udp',
      'foo',
      'ext-in',
      'loop-a',
      'prod',
      'default',
      'podns',
      '172-0-0-2',
      'svc',
      'pod',
      'dns-version',
      'x',
      '*',
      'dns',
      'ns',
      'nosuch',
    ];
    const types = ['A', 'AAAA', 'SRV', 'PTR', 'TXT', 'CNAME', 'NS', 'SOA', 'ANY', 'MX', 'AXFR'];
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let compared = 0;
    for (let i = 0; i < 3000; i++) {
      const count = random(6);
      const name = [...Array.from({ length: count }, () => labels[random(labels.length)]!), 'cluster', 'local']
        .join('.')
        .split('')
        .map((c) => (random(3) === 0 ? c.toUpperCase() : c))
        .join('');
      const type = types[random(types.length)]!;
      const query = makeQuery(name, type, random(2) === 0 ? {} : { edns: 1232 });
      const view = request(query).view;
      const resolution = resolve(store, { name: view.qname, type: view.qtype });
      if (resolution.kind !== 'answer') continue;
      const fast = await answer(handler, query);
      assert.deepEqual(dnsPacket.decode(fast), dnsPacket.decode(reference(store, query)), `${name} ${type}`);
      compared++;
    }
    assert.ok(compared > 2500, `${compared} compared`);
  });
});

describe('handler: header and EDNS', () => {
  const store = specFixture('insecure');
  const handler = newHandler(store);

  test('ID echoed, QR and RA set, RD and CD copied, AA inside the zone', async () => {
    for (const rd of [true, false]) {
      for (const cd of [true, false]) {
        const raw = await answer(handler, makeQuery('web.prod.svc.cluster.local', 'A', { rd, cd, id: 4242 }));
        const decoded = dnsPacket.decode(raw);
        assert.equal(decoded.id, 4242);
        assert.equal(decoded.flag_qr, true);
        assert.equal(decoded.flag_ra, true);
        assert.equal(decoded.flag_aa, true);
        assert.equal(decoded.flag_rd, rd);
        assert.equal(decoded.flag_cd, cd);
      }
    }
  });

  test('OPT in the reply iff the query had one; our size advertised; DO copied', async () => {
    const plain = dnsPacket.decode(await answer(handler, makeQuery('web.prod.svc.cluster.local', 'A')));
    assert.equal(plain.additionals?.length ?? 0, 0);
    const edns = dnsPacket.decode(
      await answer(handler, makeQuery('web.prod.svc.cluster.local', 'A', { edns: 4096, dnssecOk: true })),
    );
    const opt = edns.additionals?.find((rr) => rr.type === 'OPT') as { udpPayloadSize: number; flag_do: boolean };
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.flag_do, true);
    const srv = dnsPacket.decode(
      await answer(handler, makeQuery('_http._tcp.web.prod.svc.cluster.local', 'SRV', { edns: 1232 })),
    );
    assert.equal(srv.additionals?.at(-1)?.type, 'OPT', 'OPT comes after the glue');
  });

  test('AXFR and IXFR are REFUSED without AA; CHAOS is REFUSED', async () => {
    for (const type of ['AXFR', 'IXFR']) {
      const got = packetSections(await answer(handler, makeQuery('cluster.local', type)));
      assert.equal(got.rcode, 'REFUSED');
      assert.equal(got.aa, false);
    }
    const chaos = packetSections(await answer(handler, makeQuery('version.bind', 'TXT', { qclass: 'CH' })));
    assert.equal(chaos.rcode, 'REFUSED');
  });

  test('a question with an escaped dot takes the slow path and is answered NXDOMAIN', async () => {
    const query = dnsPacket.encode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: 'web.prod.svc.cluster.local', type: 'A' }],
    });
    // Turn the first label "web" into one 3-octet label "w.b" (a literal dot inside a label).
    query[13 + 1] = 0x2e;
    const view = request(query).view;
    assert.equal(view.qname, 'w\\.b.prod.svc.cluster.local');
    const got = packetSections(await answer(handler, query));
    assert.equal(got.rcode, 'NXDOMAIN');
    assert.equal(got.authority.length, 1);
  });
});

describe('handler: cached answers follow the store', () => {
  test('an endpoint change is served at once; other namespaces keep their cache entries', async () => {
    const store = specFixture('insecure');
    const handler = newHandler(store);
    const ask = async (name: string, type = 'A') => packetSections(await answer(handler, makeQuery(name, type))).answer;
    assert.equal((await ask('headless.default.svc.cluster.local')).length, 3);
    await ask('web.prod.svc.cluster.local');
    store.upsertEndpoints(slice('default/headless-b', 'headless', ['10.3.0.102'], ['https/tcp/443']));
    store.upsertEndpoints(slice('default/headless-a', 'headless', ['10.3.0.100=my-pet'], ['https/tcp/443']));
    assert.deepEqual(await ask('headless.default.svc.cluster.local'), [
      'headless.default.svc.cluster.local. 30 IN A 10.3.0.100',
      'headless.default.svc.cluster.local. 30 IN A 10.3.0.102',
    ]);
    assert.deepEqual(await ask('101.0.3.10.in-addr.arpa', 'PTR'), ['101.0.3.10.in-addr.arpa. 60 IN TXT "forwarded"']);
    store.upsertService(clusterIp('prod/web', ['10.3.0.21'], ['http/tcp/80']));
    assert.deepEqual(await ask('web.prod.svc.cluster.local'), ['web.prod.svc.cluster.local. 30 IN A 10.3.0.21']);
  });

  test('a new namespace turns a cached NXDOMAIN into an answer; ExternalName chains follow their target', async () => {
    const store = specFixture('insecure');
    const handler = newHandler(store);
    const ask = async (name: string) => packetSections(await answer(handler, makeQuery(name, 'A')));
    assert.equal((await ask('api.newns.svc.cluster.local')).rcode, 'NXDOMAIN');
    store.upsertService(clusterIp('newns/api', ['10.3.9.9']));
    assert.deepEqual((await ask('api.newns.svc.cluster.local')).answer, [
      'api.newns.svc.cluster.local. 30 IN A 10.3.9.9',
    ]);
    assert.equal((await ask('ext-in.default.svc.cluster.local')).answer.length, 2);
    store.deleteService('prod', 'web');
    const after = await ask('ext-in.default.svc.cluster.local');
    assert.equal(after.rcode, 'NXDOMAIN');
    assert.deepEqual(after.answer, ['ext-in.default.svc.cluster.local. 30 IN CNAME web.prod.svc.cluster.local.']);
  });

  test('the SOA serial is patched into cached answers on every send', async () => {
    let now = 1_700_000_000_000;
    const store = specFixture('insecure');
    Object.assign(store, { now: () => now });
    const handler = newHandler(store);
    const serialOf = async (name: string, type: string): Promise<number> => {
      const decoded = dnsPacket.decode(await answer(handler, makeQuery(name, type)));
      const soa = [...(decoded.answers ?? []), ...(decoded.authorities ?? [])].find((rr) => rr.type === 'SOA');
      return (soa as { data: { serial: number } }).data.serial;
    };
    assert.equal(await serialOf('cluster.local', 'SOA'), 1_700_000_000);
    assert.equal(await serialOf('nosuch.prod.svc.cluster.local', 'A'), 1_700_000_000);
    now += 5000;
    store.upsertService(headless('other/x'));
    assert.equal(await serialOf('cluster.local', 'SOA'), 1_700_000_005);
    assert.equal(await serialOf('nosuch.prod.svc.cluster.local', 'A'), 1_700_000_005);
  });

  test('before the first sync: SERVFAIL, not cached; answers right after the sync', async () => {
    const store = specFixture('insecure');
    Object.assign(store, { synced: false });
    const handler = newHandler(store);
    const got = packetSections(await answer(handler, makeQuery('web.prod.svc.cluster.local', 'A')));
    assert.equal(got.rcode, 'SERVFAIL');
    store.markSynced();
    const after = packetSections(await answer(handler, makeQuery('web.prod.svc.cluster.local', 'A')));
    assert.equal(after.rcode, 'NOERROR');
  });
});

describe('handler: forwarding and chasing', () => {
  test('outside names, unknown PTRs and stub-domain names go to the forwarder; stubs win over the zone', async () => {
    const store = specFixture('insecure');
    const forwarder = new FakeForwarder();
    const handler = newHandler(store, forwarder);
    await answer(handler, makeQuery('www.example.com', 'A'));
    await answer(handler, makeQuery('9.9.9.9.in-addr.arpa', 'PTR'));
    assert.equal(packetSections(await answer(handler, makeQuery('web.prod.svc.cluster.local', 'A'))).aa, true);
    forwarder.stubs = ['prod.svc.cluster.local'];
    forwarder.routingVersion++;
    const stubbed = packetSections(await answer(handler, makeQuery('web.prod.svc.cluster.local', 'A')));
    assert.deepEqual(stubbed.answer, ['web.prod.svc.cluster.local. 60 IN TXT "forwarded"']);
    assert.deepEqual(forwarder.forwarded, ['www.example.com', '9.9.9.9.in-addr.arpa', 'web.prod.svc.cluster.local']);
  });

  test('ExternalName outside the zone: our CNAME first, then the upstream records with their own TTL (K-27)', async () => {
    const store = specFixture('insecure');
    const forwarder = new FakeForwarder();
    const handler = newHandler(store, forwarder);
    const got = packetSections(await answer(handler, makeQuery('Foo.Default.svc.cluster.local', 'A', { edns: 1232 })));
    assert.equal(got.rcode, 'NOERROR');
    assert.equal(got.aa, true);
    assert.deepEqual(got.answer, [
      'Foo.Default.svc.cluster.local. 30 IN CNAME www.example.com.',
      'www.example.com. 28715 IN A 192.0.2.53',
    ]);
    assert.deepEqual(forwarder.lookups, ['www.example.com 1']);
  });

  test('ExternalName whose target cannot be resolved: SERVFAIL', async () => {
    const store = specFixture('insecure');
    store.upsertService({
      ...clusterIp('default/dead', []),
      kind: 'ExternalName',
      externalName: 'unreachable.example',
    });
    const handler = newHandler(store);
    const got = packetSections(await answer(handler, makeQuery('dead.default.svc.cluster.local', 'A')));
    assert.equal(got.rcode, 'SERVFAIL');
  });
});
