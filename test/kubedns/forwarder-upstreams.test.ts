import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import {
  exchangeUdp,
  parseQuery,
  silentLogger,
  startDnsListener,
  type DnsListener,
  type StubDomain,
  type UpstreamServer,
} from '@kube-dns/daemon-kit';
import { Forwarder, storeAddressLookup, type ForwarderObserver } from '@kube-dns/kubedns';
import { clusterIp, externalName, fixtureAnswerer, makeQuery, packetSections, specFixture } from './answers-fixture.js';
import { aRecord, startFakeUpstream, type FakeUpstream, type UpstreamBehaviour } from './fake-upstream.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function upstream(behaviour: UpstreamBehaviour): Promise<FakeUpstream> {
  const server = await startFakeUpstream(behaviour);
  cleanups.push(() => server.close());
  return server;
}

const answering =
  (address: string): UpstreamBehaviour =>
  (q) => ({ kind: 'answer', answers: [aRecord(q.name, address)] });
const silent: UpstreamBehaviour = () => ({ kind: 'silent' });

interface Events {
  errors: string[];
  rejected: string[];
  overflow: number;
  requests: string[];
}

function newForwarder(
  options: {
    timeoutMs?: number;
    maxConcurrent?: number;
    stubRefreshMs?: number;
    resolveLocal?: (h: string) => string[] | null;
  } = {},
) {
  const events: Events = { errors: [], rejected: [], overflow: 0, requests: [] };
  const observer: ForwarderObserver = {
    onUpstreamError: (server, reason) => events.errors.push(`${server.port}:${reason}`),
    onRejectedResponse: (reason) => events.rejected.push(reason),
    onOverflow: () => events.overflow++,
    onUpstreamRequest: (server, route) => events.requests.push(`${server.port}:${route}`),
  };
  const forwarder = new Forwarder({ logger: silentLogger, timeoutMs: options.timeoutMs ?? 300, observer, ...options });
  cleanups.push(() => forwarder.close());
  return { forwarder, events };
}

async function forward(forwarder: Forwarder, name: string, type = 'A', transport: 'udp' | 'tcp' = 'udp', id = 0x4321) {
  const query = makeQuery(name, type, { id });
  const parsed = parseQuery(query);
  assert.ok(parsed.ok);
  const raw = await forwarder.forward(query, parsed.view, transport);
  return { raw, decoded: dnsPacket.decode(raw), sections: packetSections(raw) };
}

const stub = (domain: string, ...servers: UpstreamServer[]): StubDomain => ({
  domain,
  servers: servers.map((s) => ({ kind: 'ip' as const, host: s.host, port: s.port })),
});

describe('forwarder: upstream servers', () => {
  test("relays the answer with the client's ID; each upstream query has a random ID", async () => {
    const good = await upstream(answering('192.0.2.1'));
    const { forwarder } = newForwarder();
    forwarder.setUpstreams([good.server]);
    for (let i = 0; i < 5; i++) {
      const { decoded, sections } = await forward(forwarder, 'www.example.com', 'A', 'udp', 0x4321);
      assert.equal(decoded.id, 0x4321);
      assert.deepEqual(sections.answer, ['www.example.com. 300 IN A 192.0.2.1']);
    }
    const ids = new Set(good.queries.map((q) => q.id));
    assert.ok(ids.size >= 4, `upstream IDs ${[...ids].join(',')}`);
  });

  test('a silent server is given up after the timeout and the next one answers; it is then preferred', async () => {
    const dead = await upstream(silent);
    const good = await upstream(answering('192.0.2.2'));
    const { forwarder, events } = newForwarder({ timeoutMs: 200 });
    forwarder.setUpstreams([dead.server, good.server]);
    const started = performance.now();
    const { sections } = await forward(forwarder, 'a.example.com');
    const elapsed = performance.now() - started;
    assert.deepEqual(sections.answer, ['a.example.com. 300 IN A 192.0.2.2']);
    assert.ok(elapsed >= 190, `answered after ${elapsed} ms`);
    assert.deepEqual(events.errors, [`${dead.port}:timeout`]);
    const again = performance.now();
    await forward(forwarder, 'b.example.com');
    assert.ok(performance.now() - again < 150, 'the server that answered is asked first next time');
    assert.equal(dead.queries.length, 1);
  });

  test('SERVFAIL when every server fails; an upstream SERVFAIL moves on to the next server', async () => {
    const failing = await upstream(() => ({ kind: 'answer', rcode: 2 }));
    const dead = await upstream(silent);
    const { forwarder, events } = newForwarder({ timeoutMs: 150 });
    forwarder.setUpstreams([failing.server, dead.server]);
    const { decoded, sections } = await forward(forwarder, 'x.example.com');
    assert.equal(sections.rcode, 'SERVFAIL');
    assert.equal(decoded.id, 0x4321);
    assert.equal(decoded.flag_ra, true);
    assert.deepEqual(events.errors, [`${failing.port}:servfail`, `${dead.port}:timeout`]);
  });

  test('no upstream servers at all: SERVFAIL at once', async () => {
    const { forwarder } = newForwarder();
    assert.equal((await forward(forwarder, 'x.example.com')).sections.rcode, 'SERVFAIL');
  });

  test('a truncated UDP answer is retried over TCP with the same server', async () => {
    const server = await upstream((q) =>
      q.transport === 'udp'
        ? { kind: 'answer', truncated: true }
        : { kind: 'answer', answers: Array.from({ length: 60 }, (_, i) => aRecord(q.name, `198.51.100.${i}`)) },
    );
    const { forwarder } = newForwarder();
    forwarder.setUpstreams([server.server]);
    const { decoded } = await forward(forwarder, 'big.example.com');
    assert.equal(decoded.answers?.length, 60);
    assert.equal(decoded.flag_tc, false);
    assert.deepEqual(
      server.queries.map((q) => q.transport),
      ['udp', 'tcp'],
    );
  });

  test('a TCP client is forwarded over TCP', async () => {
    const server = await upstream(answering('192.0.2.3'));
    const { forwarder } = newForwarder();
    forwarder.setUpstreams([server.server]);
    const { sections } = await forward(forwarder, 'tcp.example.com', 'A', 'tcp');
    assert.deepEqual(sections.answer, ['tcp.example.com. 300 IN A 192.0.2.3']);
    assert.deepEqual(
      server.queries.map((q) => q.transport),
      ['tcp'],
    );
  });

  test('spoofed replies (another port, wrong ID) are ignored; the real one is taken', async () => {
    const server = await upstream((q) => ({ kind: 'spoof-then-answer', answers: [aRecord(q.name, '192.0.2.4')] }));
    const { forwarder, events } = newForwarder();
    forwarder.setUpstreams([server.server]);
    const { sections } = await forward(forwarder, 'spoof.example.com');
    assert.deepEqual(sections.answer, ['spoof.example.com. 300 IN A 192.0.2.4']);
    assert.deepEqual([...events.rejected].sort(), ['id', 'source']);
  });

  test('concurrency is bounded: past maxConcurrent queries are REFUSED at once', async () => {
    const slow = await upstream((q) => ({ kind: 'answer', answers: [aRecord(q.name, '192.0.2.5')], delayMs: 150 }));
    const { forwarder, events } = newForwarder({ maxConcurrent: 1 });
    forwarder.setUpstreams([slow.server]);
    const first = forward(forwarder, 'one.example.com');
    const second = await forward(forwarder, 'two.example.com');
    assert.equal(second.sections.rcode, 'REFUSED');
    assert.equal((await first).sections.rcode, 'NOERROR');
    assert.equal(events.overflow, 1);
    assert.equal(forwarder.pending, 0);
  });

  test('upstreams changed at runtime are used at once', async () => {
    const a = await upstream(answering('192.0.2.6'));
    const b = await upstream(answering('192.0.2.7'));
    const { forwarder } = newForwarder();
    forwarder.setUpstreams([a.server]);
    assert.deepEqual((await forward(forwarder, 'x.example.com')).sections.answer, [
      'x.example.com. 300 IN A 192.0.2.6',
    ]);
    forwarder.setUpstreams([b.server]);
    assert.deepEqual((await forward(forwarder, 'x.example.com')).sections.answer, [
      'x.example.com. 300 IN A 192.0.2.7',
    ]);
  });
});

describe('forwarder: stub domains', () => {
  test('stub domains win for their names, longest suffix first; the rest goes upstream', async () => {
    const def = await upstream(answering('192.0.2.10'));
    const acme = await upstream(answering('192.0.2.11'));
    const deep = await upstream(answering('192.0.2.12'));
    const { forwarder, events } = newForwarder();
    forwarder.setUpstreams([def.server]);
    const before = forwarder.routingVersion;
    forwarder.setStubDomains([stub('acme.local', acme.server), stub('deep.acme.local', deep.server)]);
    assert.notEqual(forwarder.routingVersion, before);
    const answer = async (name: string) => (await forward(forwarder, name)).sections.answer[0]!.split(' ').at(-1);
    assert.equal(await answer('www.acme.local'), '192.0.2.11');
    assert.equal(await answer('acme.local'), '192.0.2.11');
    assert.equal(await answer('a.deep.acme.local'), '192.0.2.12');
    assert.equal(await answer('notacme.local'), '192.0.2.10');
    assert.equal(await answer('www.example.com'), '192.0.2.10');
    assert.ok(events.requests.includes(`${acme.port}:stub`));
    const unchanged = forwarder.routingVersion;
    forwarder.setStubDomains([stub('acme.local', acme.server), stub('deep.acme.local', deep.server)]);
    assert.equal(forwarder.routingVersion, unchanged, 'the same table is no change');
  });

  test('stub servers given as host names: inside the zone from the store, else through the upstreams; re-resolved', async () => {
    const store = specFixture('insecure');
    store.upsertService(clusterIp('kube-system/corp-dns', ['127.0.0.1']));
    const resolver = await upstream((q) =>
      q.name === 'ns1.example.net' ? { kind: 'answer', answers: [aRecord(q.name, '127.0.0.1')] } : { kind: 'answer' },
    );
    const corp = await upstream(answering('192.0.2.20'));
    const { forwarder } = newForwarder({ stubRefreshMs: 50, resolveLocal: storeAddressLookup(store) });
    forwarder.setUpstreams([resolver.server]);
    forwarder.setStubDomains([
      {
        domain: 'corp.local',
        servers: [{ kind: 'hostname', hostname: 'corp-dns.kube-system.svc.cluster.local', port: corp.port }],
      },
      { domain: 'ext.local', servers: [{ kind: 'hostname', hostname: 'ns1.example.net', port: corp.port }] },
    ]);
    assert.deepEqual((await forward(forwarder, 'www.corp.local')).sections.answer, [
      'www.corp.local. 300 IN A 192.0.2.20',
    ]);
    assert.deepEqual((await forward(forwarder, 'www.ext.local')).sections.answer, [
      'www.ext.local. 300 IN A 192.0.2.20',
    ]);
    assert.deepEqual(forwarder.routing().stubs, [
      { domain: 'corp.local', servers: [{ host: '127.0.0.1', port: corp.port }] },
      { domain: 'ext.local', servers: [{ host: '127.0.0.1', port: corp.port }] },
    ]);
    // The stub server's Service moves: the periodic re-resolution follows it.
    store.upsertService(clusterIp('kube-system/corp-dns', ['127.0.0.2']));
    const deadline = Date.now() + 2000;
    while (forwarder.routing().stubs[0]!.servers[0]!.host !== '127.0.0.2' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(forwarder.routing().stubs[0]!.servers[0]!.host, '127.0.0.2');
  });

  test('a stub whose server name does not resolve gives SERVFAIL for its names', async () => {
    const { forwarder } = newForwarder({ resolveLocal: () => [] });
    forwarder.setStubDomains([
      {
        domain: 'corp.local',
        servers: [{ kind: 'hostname', hostname: 'nothing.kube-system.svc.cluster.local', port: 53 }],
      },
    ]);
    assert.equal((await forward(forwarder, 'www.corp.local')).sections.rcode, 'SERVFAIL');
  });
});

describe('handler + forwarder over real sockets', () => {
  let listener: DnsListener;
  let forwarder: Forwarder;
  let def: FakeUpstream;
  const store = specFixture('insecure');

  test('set up kube-dns on 127.0.0.1 with a real upstream', async () => {
    def = await upstream((q) =>
      q.name === 'www.example.com' || q.name === 'target.acme.local'
        ? {
            kind: 'answer',
            answers: [aRecord(q.name, q.name === 'www.example.com' ? '192.0.2.53' : '192.0.2.99', 28715)],
          }
        : {
            kind: 'answer',
            rcode: 3,
            authorities: [
              {
                type: 'SOA',
                name: 'example.com',
                ttl: 60,
                data: {
                  mname: 'ns.example.com',
                  rname: 'h.example.com',
                  serial: 1,
                  refresh: 1,
                  retry: 1,
                  expire: 1,
                  minimum: 60,
                },
              },
            ],
          },
    );
    forwarder = new Forwarder({ logger: silentLogger, timeoutMs: 500, resolveLocal: storeAddressLookup(store) });
    cleanups.push(() => forwarder.close());
    forwarder.setUpstreams([def.server]);
    const handler = fixtureAnswerer(store, forwarder).handler;
    listener = await startDnsListener({ host: '127.0.0.1', port: 0, handler, logger: silentLogger });
    cleanups.push(() => listener.close());
  });

  const ask = async (name: string, type = 'A') =>
    packetSections(
      await exchangeUdp({ host: '127.0.0.1', port: listener.port }, makeQuery(name, type, { edns: 1232 }), {
        timeoutMs: 3000,
      }),
    );

  test("ExternalName to an outside name: CNAME, then the upstream's answer with its own TTL (K-27)", async () => {
    const got = await ask('foo.default.svc.cluster.local');
    assert.equal(got.rcode, 'NOERROR');
    assert.equal(got.aa, true);
    assert.deepEqual(got.answer, [
      'foo.default.svc.cluster.local. 30 IN CNAME www.example.com.',
      'www.example.com. 28715 IN A 192.0.2.53',
    ]);
  });

  test('ExternalName to an outside name that does not exist: NXDOMAIN with our CNAME and the upstream SOA', async () => {
    store.upsertService(externalName('default/gone', 'gone.example.com'));
    const got = await ask('gone.default.svc.cluster.local');
    assert.equal(got.rcode, 'NXDOMAIN');
    assert.deepEqual(got.answer, ['gone.default.svc.cluster.local. 30 IN CNAME gone.example.com.']);
    assert.equal(got.authority.length, 1);
  });

  test('ExternalName inside the zone is chased from memory: the upstream is not asked', async () => {
    const before = def.queries.length;
    const got = await ask('ext-in.default.svc.cluster.local');
    assert.deepEqual(got.answer, [
      'ext-in.default.svc.cluster.local. 30 IN CNAME web.prod.svc.cluster.local.',
      'web.prod.svc.cluster.local. 30 IN A 10.3.0.20',
    ]);
    assert.equal(def.queries.length, before);
  });

  test('an ExternalName target in a stub domain is chased through the stub (kubernetes/dns#131)', async () => {
    const acme = await upstream(answering('192.0.2.77'));
    forwarder.setStubDomains([stub('acme.local', acme.server)]);
    store.upsertService(externalName('default/to-acme', 'target.acme.local'));
    const got = await ask('to-acme.default.svc.cluster.local');
    assert.deepEqual(got.answer, [
      'to-acme.default.svc.cluster.local. 30 IN CNAME target.acme.local.',
      'target.acme.local. 300 IN A 192.0.2.77',
    ]);
    forwarder.setStubDomains([]);
  });

  test('names outside the zone and unknown PTRs are relayed from the upstream', async () => {
    const got = await ask('www.example.com');
    assert.deepEqual(got.answer, ['www.example.com. 28715 IN A 192.0.2.53']);
    const ptr = await ask('9.9.9.9.in-addr.arpa', 'PTR');
    assert.equal(ptr.rcode, 'NXDOMAIN');
    assert.equal(def.queries.at(-1)!.name, '9.9.9.9.in-addr.arpa');
  });
});
