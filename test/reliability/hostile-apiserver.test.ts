import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RecordType } from 'dns-packet';
import { queryDns, waitUntil, type QueryResult } from '../helpers/index.js';
import { assertRunning } from './support/daemon.js';
import { answerData } from './support/fixture.js';
import { startHostileApiServer, type HostileApiServer } from './support/hostile-apiserver.js';
import { metricValue, startKubeDns, type KubeDnsDaemon } from './support/launch.js';
import { startStubUpstream, type StubUpstream } from './support/stub-upstream.js';

/**
 * kube-dns (the real bin) against an apiserver that validates nothing: names over 63 characters, invalid
 * IPs, wrong JSON types, duplicate addresses, a headless service with 5,000 endpoints, garbage in the watch
 * stream. Sane records or skipped objects, each skipped object logged once (and briefly), never a crash.
 */

const ZONE = 'svc.cluster.local';
const HUGE_NAME = 'y'.repeat(100_000);

const svc = (name: string, spec: unknown, namespace: unknown = 'default'): unknown => ({
  metadata: { name, namespace, resourceVersion: '1' },
  spec,
});

function endpointSlice(
  name: string,
  service: string | null,
  endpoints: unknown,
  addressType: unknown = 'IPv4',
): unknown {
  return {
    metadata: { name, namespace: 'default', labels: service === null ? {} : { 'kubernetes.io/service-name': service } },
    addressType,
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    endpoints,
  };
}

const BIG = 5000;
const bigIp = (i: number): string => `10.50.${i >> 8}.${i & 255}`;

function hostileServices(): unknown[] {
  return [
    svc('web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
    svc('x'.repeat(64), { clusterIP: '10.96.0.21' }),
    svc('UPPER', { clusterIP: '10.96.0.22' }),
    svc('dot.ted', { clusterIP: '10.96.0.23' }),
    svc(HUGE_NAME, { clusterIP: '10.96.0.24' }),
    svc('badip', { clusterIP: '999.1.1.1' }),
    svc('mixed', { clusterIPs: ['10.96.0.30', 'garbage', '10.96.0.30', 'fd00::30', '10.96.0.31/24'] }),
    svc('dup-web', { clusterIP: '10.96.0.20' }),
    svc('ports', {
      clusterIP: '10.96.0.40',
      ports: [
        { name: 'p'.repeat(70), port: 80 },
        { name: 'toobig', port: 70000 },
        { name: 'neg', port: -1 },
        { name: 'str', port: '80' },
        { name: 'weird', port: 8080, protocol: 'FOO' },
        { name: 'fine', port: 9090, protocol: 'TCP' },
        { name: 'fine', port: 9090, protocol: 'TCP' },
        null,
        'a string',
      ],
    }),
    svc('ext-bad', { type: 'ExternalName', externalName: 'bad name..' }),
    svc('ext-long', { type: 'ExternalName', externalName: `${'a'.repeat(300)}.com` }),
    svc('ext-ok', { type: 'ExternalName', externalName: 'example.org.' }),
    svc('confused', 'a string instead of a spec'),
    svc('confused2', { clusterIP: 12345, clusterIPs: 'x', ports: { a: 1 } }),
    { metadata: { name: 'no-namespace' }, spec: { clusterIP: '10.96.0.25' } },
    svc('in-bad-ns', { clusterIP: '10.96.0.26' }, 'Bad_NS'),
    svc('big', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }),
    svc('hosts', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }),
    // The same object twice in one list.
    svc('web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
  ];
}

function hostileSlices(): unknown[] {
  const big = Array.from({ length: BIG }, (_, i) => ({
    addresses: [bigIp(i)],
    ...(i < 100 ? { hostname: `pod-${i}` } : {}),
    conditions: { ready: true },
  }));
  return [
    // 5,000 endpoints in one slice (the API allows 1,000), some listed twice, and a second slice repeating
    // the first thousand addresses.
    endpointSlice('big-1', 'big', [...big, ...big.slice(0, 10)]),
    endpointSlice('big-2', 'big', big.slice(0, 1000)),
    endpointSlice('hosts-1', 'hosts', [
      { addresses: ['10.60.0.1'], hostname: 'h'.repeat(64) },
      { addresses: ['10.60.0.2'], hostname: 'a.b' },
      { addresses: ['300.1.1.1'] },
      { addresses: [] },
      { addresses: ['10.60.0.3', '10.60.0.3'] },
      { addresses: ['fd00::1'] },
      { addresses: ['10.60.0.4'], conditions: { ready: 'yes' } },
      { addresses: ['10.60.0.5'], hostname: 'ok-host', conditions: { ready: true } },
      'not an endpoint',
    ]),
    endpointSlice('fqdn', 'hosts', [{ addresses: ['db.example.org'] }], 'FQDN'),
    endpointSlice('orphan', null, [{ addresses: ['10.70.0.1'] }]),
    endpointSlice('stringy', 'hosts', 'endpoints as a string'),
  ];
}

function hostileNamespaces(): unknown[] {
  return [
    { metadata: { name: 'default' } },
    { metadata: { name: 'n'.repeat(64) } },
    { metadata: { name: 'Bad_NS' } },
    { metadata: null },
    {},
    { metadata: { name: 'default' } },
  ];
}

describe(
  'hostile apiserver data: sane records or skipped objects, logged once, never a crash',
  { timeout: 120_000 },
  () => {
    let api: HostileApiServer;
    let upstream: StubUpstream;
    let kubeDns: KubeDnsDaemon;
    const ask = (name: string, type: RecordType, tcp = false): Promise<QueryResult> =>
      queryDns(kubeDns.dns, name, type, { tcp, edns: 1232, timeoutMs: 3000 });
    const skippedLines = (): Array<Record<string, unknown>> =>
      kubeDns.lines.filter((l) => l.message === 'skipped what cannot be served');

    before(async () => {
      api = await startHostileApiServer();
      api.setItems('namespaces', hostileNamespaces());
      api.setItems('services', hostileServices());
      api.setItems('endpointslices', hostileSlices());
      upstream = await startStubUpstream();
      kubeDns = await startKubeDns([`--kube-master-url=${api.url}`, `--nameservers=127.0.0.1:${upstream.port}`]);
      await kubeDns.waitReady(20_000);
    });
    after(async () => {
      await kubeDns?.stop();
      await upstream?.close();
      await api?.close();
    });

    test('valid objects answer exactly; duplicates collapse; invalid IPs and ports are dropped from otherwise good objects', async () => {
      const web = await ask(`web.default.${ZONE}`, 'A');
      assert.deepEqual([web.rcode, answerData(web)], ['NOERROR', ['A 10.96.0.20']]);
      const mixed = await ask(`mixed.default.${ZONE}`, 'A');
      assert.deepEqual([mixed.rcode, answerData(mixed)], ['NOERROR', ['A 10.96.0.30']]);
      const mixed6 = await ask(`mixed.default.${ZONE}`, 'AAAA');
      assert.deepEqual([mixed6.rcode, answerData(mixed6)], ['NOERROR', ['AAAA fd00::30']]);
      const ptr = await ask('20.0.96.10.in-addr.arpa', 'PTR');
      assert.equal(ptr.rcode, 'NOERROR');
      assert.deepEqual(answerData(ptr), [`PTR dup-web.default.${ZONE}`, `PTR web.default.${ZONE}`]);
      const fine = await ask(`_fine._tcp.ports.default.${ZONE}`, 'SRV');
      assert.deepEqual([fine.rcode, answerData(fine)], ['NOERROR', [`0 100 9090 ports.default.${ZONE}`]]);
      for (const port of ['toobig', 'neg', 'str', 'weird']) {
        assert.equal((await ask(`_${port}._tcp.ports.default.${ZONE}`, 'SRV')).rcode, 'NXDOMAIN', port);
      }
      const ext = await ask(`ext-ok.default.${ZONE}`, 'A');
      assert.deepEqual([ext.rcode, answerData(ext)], ['NOERROR', ['A 192.0.2.1', 'CNAME example.org']]);
      const hosts = await ask(`hosts.default.${ZONE}`, 'A');
      assert.deepEqual([hosts.rcode, answerData(hosts)], ['NOERROR', ['A 10.60.0.3', 'A 10.60.0.4', 'A 10.60.0.5']]);
      const okHost = await ask(`ok-host.hosts.default.${ZONE}`, 'A');
      assert.deepEqual(answerData(okHost), ['A 10.60.0.5']);
    });

    test('objects that cannot be served are NXDOMAIN (or NODATA), never SERVFAIL', async () => {
      for (const name of ['upper', 'dot.ted', 'ext-bad', 'ext-long', 'confused', 'no-namespace']) {
        const result = await ask(`${name}.default.${ZONE}`, 'A');
        assert.equal(result.rcode, 'NXDOMAIN', name);
      }
      assert.equal((await ask(`in-bad-ns.bad_ns.${ZONE}`, 'A')).rcode, 'NXDOMAIN');
      for (const name of ['badip', 'confused2']) {
        const result = await ask(`${name}.default.${ZONE}`, 'A');
        assert.ok(['NOERROR', 'NXDOMAIN'].includes(result.rcode), `${name}: ${result.rcode}`);
        assert.deepEqual(answerData(result), [], name);
      }
    });

    test('a headless service with 5,000 endpoints (duplicated across and within slices): TC over UDP, whole records over TCP', async () => {
      const udp = await ask(`big.default.${ZONE}`, 'A');
      assert.equal(udp.rcode, 'NOERROR');
      assert.equal(udp.flags.tc, true);
      assert.ok(udp.raw.length <= 1232);
      const tcp = await ask(`big.default.${ZONE}`, 'A', true);
      assert.equal(tcp.rcode, 'NOERROR', 'TCP answers (kept records that fit), not SERVFAIL');
      const addresses = answerData(tcp);
      assert.ok(addresses.length > 3000, `${addresses.length} records over TCP`);
      assert.equal(new Set(addresses).size, addresses.length, 'no address twice');
      assert.ok(addresses.every((a) => /^A 10\.50\.\d+\.\d+$/.test(a)));
      const srv = await ask(`_pg._tcp.big.default.${ZONE}`, 'SRV', true);
      assert.equal(srv.rcode, 'NOERROR');
      assert.ok((srv.packet.answers ?? []).length > 100);
      const pod = await ask(`pod-7.big.default.${ZONE}`, 'A');
      assert.deepEqual(answerData(pod), ['A 10.50.0.7']);
      const ptr = await ask('7.0.50.10.in-addr.arpa', 'PTR');
      assert.deepEqual(answerData(ptr), [`PTR pod-7.big.default.${ZONE}`]);
    });

    test('each skipped object is logged once, in a line of bounded size, and counted', async () => {
      const lines = skippedLines();
      const objects = lines.map((l) => String(l['object']));
      assert.equal(new Set(objects).size, objects.length, `one line per object: ${objects.join(', ')}`);
      for (const expected of [
        'default/UPPER',
        'default/dot.ted',
        'default/ext-bad',
        'default/ext-long',
        'default/ports',
        'default/hosts-1',
      ]) {
        assert.ok(objects.includes(expected), `${expected} reported (${objects.join(', ')})`);
      }
      const longest = Math.max(
        ...kubeDns
          .stderr()
          .split('\n')
          .map((l) => l.length),
      );
      assert.ok(
        longest < 2000,
        `longest log line ${longest} characters (a ${HUGE_NAME.length}-character name was served)`,
      );
      const metrics = await kubeDns.metrics();
      assert.ok(metricValue(metrics, 'skydns_skydns_watch_invalid_objects_total', { kind: 'services' }) >= 8);
    });

    test('re-lists deliver the same objects again: nothing is logged twice', async () => {
      const before = skippedLines().length;
      const lists = { ...api.lists };
      for (const resource of ['services', 'endpointslices', 'namespaces']) api.expire(resource);
      await waitUntil(
        'a re-list of every kind',
        () => ['services', 'endpointslices', 'namespaces'].every((r) => (api.lists[r] ?? 0) > (lists[r] ?? 0)),
        { timeoutMs: 15_000 },
      );
      await waitUntil('watches open again', () => api.watches('services') > 0 && api.watches('endpointslices') > 0, {
        timeoutMs: 15_000,
      });
      assert.equal(skippedLines().length, before, 'no new "skipped" lines after the re-list');
      assert.deepEqual(answerData(await ask(`web.default.${ZONE}`, 'A')), ['A 10.96.0.20']);
    });

    test('garbage in the watch stream: lines that are not JSON, events without objects or of unknown types', async () => {
      const late = svc('late', { clusterIP: '10.96.0.50' });
      api.setItems('services', [...hostileServices(), late]);
      await waitUntil('a services watch', () => api.watches('services') > 0, { timeoutMs: 15_000 });
      const meta = { name: 'ghost', namespace: 'default', resourceVersion: '5000' };
      for (const event of [
        'this is not JSON',
        '{"type":"ADDED"',
        { type: 'ADDED' },
        { type: 'ADDED', object: null },
        { type: 'BOGUS', object: { metadata: meta, spec: { clusterIP: '10.96.0.98' } } },
        {
          type: 'DELETED',
          object: { metadata: { name: 'never-existed', namespace: 'default', resourceVersion: '5001' } },
        },
        { type: 'BOOKMARK', object: {} },
        { type: 'ERROR', object: { kind: 'Status', code: 500, message: 'injected' } },
        { type: 'MODIFIED', object: { metadata: { ...meta, name: HUGE_NAME }, spec: { clusterIP: '10.96.0.97' } } },
        {
          type: 'ADDED',
          object: { ...(late as object), metadata: { name: 'late', namespace: 'default', resourceVersion: '5002' } },
        },
      ]) {
        api.send('services', event);
      }
      await waitUntil(
        'the valid object sent after the garbage answers (directly or after a re-list)',
        async () => answerData(await ask(`late.default.${ZONE}`, 'A')).join() === 'A 10.96.0.50',
        { timeoutMs: 20_000 },
      );
      assertRunning(kubeDns);
      assert.equal(
        (await ask(`ghost.default.${ZONE}`, 'A')).rcode,
        'NXDOMAIN',
        'an event of no known type adds nothing',
      );
      assert.deepEqual(answerData(await ask(`web.default.${ZONE}`, 'A')), ['A 10.96.0.20']);
      assert.equal(await kubeDns.readiness(), 200);
    });
  },
);

test('names that would be longer than 255 octets (63-octet labels in a long zone) are left out, never sent malformed', async (t) => {
  const api = await startHostileApiServer();
  t.after(() => api.close());
  const ns = 'n'.repeat(60);
  const name = 's'.repeat(60);
  const domain = `${'a'.repeat(50)}.${'b'.repeat(50)}`;
  api.setItems('namespaces', [{ metadata: { name: ns } }]);
  api.setItems('services', [svc(name, { clusterIP: 'None', ports: [{ name: 'p', port: 1, protocol: 'TCP' }] }, ns)]);
  api.setItems('endpointslices', [
    {
      metadata: { name: 'x', namespace: ns, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'p', port: 1, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.1.1.1'], hostname: 'h'.repeat(63) }, { addresses: ['10.1.1.2'] }],
    },
  ]);
  const upstream = await startStubUpstream();
  t.after(() => upstream.close());
  const kubeDns = await startKubeDns([
    `--kube-master-url=${api.url}`,
    `--nameservers=127.0.0.1:${upstream.port}`,
    `--domain=${domain}`,
  ]);
  t.after(() => kubeDns.stop());
  await kubeDns.waitReady(20_000);
  const fqdn = `${name}.${ns}.svc.${domain}`;
  const ask = (qname: string, type: RecordType): Promise<QueryResult> =>
    queryDns(kubeDns.dns, qname, type, { tcp: true });
  // The service name itself fits (227 octets): both addresses.
  assert.deepEqual(answerData(await ask(fqdn, 'A')), ['A 10.1.1.1', 'A 10.1.1.2']);
  // `hhh….sss….nnn….svc.<zone>` would be 292 octets: that endpoint gets no SRV target and no PTR; the other does.
  const srv = await ask(`_p._tcp.${fqdn}`, 'SRV');
  assert.deepEqual(answerData(srv), [`0 100 1 10-1-1-2.${fqdn}`]);
  assert.deepEqual(answerData(await ask('2.1.1.10.in-addr.arpa', 'PTR')), [`PTR 10-1-1-2.${fqdn}`]);
  assert.equal((await ask('1.1.1.10.in-addr.arpa', 'PTR')).rcode, 'NXDOMAIN', 'no name of ours: forwarded');
  assertRunning(kubeDns);
});
