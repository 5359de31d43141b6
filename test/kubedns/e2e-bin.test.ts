import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startApiServer, type ApiServerHandle, type KubeObject } from '@kube-dns/apiserver-sim';
import { dig, missingTool, startFakeUpstream, waitUntil, type FakeUpstream } from '../helpers/index.js';
import { kubeDnsTestFlags } from '../helpers/kube-dns-flags.js';
import { spawnKubeDns, type KubeDnsProcess } from './kube-dns-process.js';
import { kubeconfigFile } from './watch-harness.js';
import {
  clusterIpService,
  endpointSlice,
  endpointsObject,
  externalNameService,
  headlessService,
} from './watch-fixtures.js';

const skip = missingTool('dig');
const Z = 'cluster.local.';

const cluster: KubeObject[] = [
  clusterIpService('default', 'kubernetes', '10.96.0.1', [['https', 443]]),
  clusterIpService('default', 'web', '10.96.0.20', [
    ['http', 80],
    ['', 8080],
  ]),
  {
    ...clusterIpService('default', 'dual', '10.96.0.30', [['http', 80]]),
    spec: {
      clusterIP: '10.96.0.30',
      clusterIPs: ['10.96.0.30', 'fd00::30'],
      ipFamilies: ['IPv4', 'IPv6'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    },
  },
  headlessService('default', 'hl', [['http', 8080]]),
  endpointSlice(
    'default',
    'hl',
    'hl-a',
    [{ ip: '10.244.1.5', hostname: 'web-0' }, { ip: '10.244.1.6' }, { ip: '10.244.1.7', ready: false }],
    [['http', 8080]],
  ),
  headlessService('default', 'empty', [['http', 8080]]),
  externalNameService('default', 'ext', 'www.example.org'),
];

function baseFlags(kubecfg: string, upstream: FakeUpstream): string[] {
  return kubeDnsTestFlags(kubecfg, [`--nameservers=${upstream.host}:${upstream.port}`, '--shutdown-grace=0s']);
}

async function readiness(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/readiness`);
  await response.text();
  return response.status;
}

describe('kube-dns bin end to end: the real binary, the simulator, dig over UDP and TCP', { skip }, () => {
  let sim: ApiServerHandle;
  let upstream: FakeUpstream;
  let proc: KubeDnsProcess;
  let dnsPort = 0;
  let healthzPort = 0;
  let metricsPort: number | null = null;

  before(async () => {
    sim = await startApiServer({ tokens: ['e2e-token'], seed: cluster, serviceCidrs: ['10.96.0.0/12', 'fd00::/112'] });
    upstream = await startFakeUpstream((query) =>
      query.name === 'www.example.org'
        ? { answers: [{ name: 'www.example.org', type: 'A', ttl: 300, data: '192.0.2.80' }] }
        : query.name === 'outside.example'
          ? { answers: [{ name: 'outside.example', type: 'A', ttl: 120, data: '192.0.2.10' }] }
          : { rcode: 'NXDOMAIN' },
    );
    proc = spawnKubeDns(
      ['--domain=cluster.local.', ...baseFlags(await kubeconfigFile(sim, { token: 'e2e-token' }), upstream), '--v=2'],
      {
        PROMETHEUS_PORT: '0',
      },
    );
    ({ dns: dnsPort, healthz: healthzPort, metrics: metricsPort } = await proc.listening);
    await waitUntil('ready', async () => (await readiness(healthzPort)) === 200, { timeoutMs: 10_000 });
  });
  after(async () => {
    proc?.kill();
    await upstream?.close();
    await sim?.close();
  });

  for (const transport of ['udp', 'tcp'] as const) {
    const q = (name: string, type: string, ...extra: string[]) =>
      dig('127.0.0.1', dnsPort, name, type, ...(transport === 'tcp' ? ['+tcp'] : []), ...extra);

    test(`${transport}: ClusterIP A, AAAA NODATA with SOA, case echoed, AA set, TTL 30`, async () => {
      const a = await q('web.default.svc.cluster.local', 'A');
      assert.equal(a.status, 'NOERROR');
      assert.ok(a.flags.includes('aa') && a.flags.includes('qr') && a.flags.includes('ra'), a.flags.join());
      assert.deepEqual(a.answer, ['web.default.svc.cluster.local. 30 IN A 10.96.0.20']);
      const nodata = await q('web.default.svc.cluster.local', 'AAAA');
      assert.equal(nodata.status, 'NOERROR');
      assert.deepEqual(nodata.answer, []);
      assert.match(
        nodata.authority[0] ?? '',
        /^cluster\.local\. 5 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$/,
      );
      const mixed = await q('WeB.DeFault.SVC.cluster.local', 'A');
      assert.deepEqual(mixed.answer, ['WeB.DeFault.SVC.cluster.local. 30 IN A 10.96.0.20']);
    });

    test(`${transport}: dual-stack clusterIPs`, async () => {
      assert.deepEqual((await q('dual.default.svc.cluster.local', 'A')).answer, [
        'dual.default.svc.cluster.local. 30 IN A 10.96.0.30',
      ]);
      assert.deepEqual((await q('dual.default.svc.cluster.local', 'AAAA')).answer, [
        'dual.default.svc.cluster.local. 30 IN AAAA fd00::30',
      ]);
    });

    test(`${transport}: SRV on a named port with the target address in additional; unnamed ports have none`, async () => {
      const srv = await q('_http._tcp.web.default.svc.cluster.local', 'SRV');
      assert.equal(srv.status, 'NOERROR');
      assert.deepEqual(srv.answer, [
        '_http._tcp.web.default.svc.cluster.local. 30 IN SRV 0 100 80 web.default.svc.cluster.local.',
      ]);
      assert.deepEqual(srv.additional, ['web.default.svc.cluster.local. 30 IN A 10.96.0.20']);
      assert.equal((await q('_http._udp.web.default.svc.cluster.local', 'SRV')).status, 'NXDOMAIN');
    });

    test(`${transport}: headless: ready endpoints only, hostname and dashed-IP names, SRV N×M`, async () => {
      const a = await q('hl.default.svc.cluster.local', 'A');
      assert.deepEqual(a.answer.sort(), [
        'hl.default.svc.cluster.local. 30 IN A 10.244.1.5',
        'hl.default.svc.cluster.local. 30 IN A 10.244.1.6',
      ]);
      assert.deepEqual((await q('web-0.hl.default.svc.cluster.local', 'A')).answer, [
        'web-0.hl.default.svc.cluster.local. 30 IN A 10.244.1.5',
      ]);
      assert.deepEqual((await q('10-244-1-6.hl.default.svc.cluster.local', 'A')).answer, [
        '10-244-1-6.hl.default.svc.cluster.local. 30 IN A 10.244.1.6',
      ]);
      const srv = await q('_http._tcp.hl.default.svc.cluster.local', 'SRV');
      assert.deepEqual(srv.answer.sort(), [
        '_http._tcp.hl.default.svc.cluster.local. 30 IN SRV 0 50 8080 10-244-1-6.hl.default.svc.cluster.local.',
        '_http._tcp.hl.default.svc.cluster.local. 30 IN SRV 0 50 8080 web-0.hl.default.svc.cluster.local.',
      ]);
      assert.equal((await q('empty.default.svc.cluster.local', 'A')).status, 'NXDOMAIN');
    });

    test(`${transport}: PTR of a cluster IP and of a headless endpoint; unknown IPs forwarded`, async () => {
      assert.deepEqual((await q('20.0.96.10.in-addr.arpa', 'PTR')).answer, [
        '20.0.96.10.in-addr.arpa. 30 IN PTR web.default.svc.cluster.local.',
      ]);
      assert.deepEqual((await q('5.1.244.10.in-addr.arpa', 'PTR')).answer, [
        '5.1.244.10.in-addr.arpa. 30 IN PTR web-0.hl.default.svc.cluster.local.',
      ]);
      const before = upstream.queriesFor('9.9.9.10.in-addr.arpa').length;
      assert.equal((await q('9.9.9.10.in-addr.arpa', 'PTR')).status, 'NXDOMAIN');
      assert.equal(upstream.queriesFor('9.9.9.10.in-addr.arpa').length, before + 1, 'asked upstream');
    });

    test(`${transport}: ExternalName CNAME chased upstream; dns-version; apex SOA/NS; NXDOMAIN with SOA; AXFR refused`, async () => {
      const ext = await q('ext.default.svc.cluster.local', 'A');
      assert.equal(ext.answer[0], 'ext.default.svc.cluster.local. 30 IN CNAME www.example.org.');
      assert.match(ext.answer[1] ?? '', /^www\.example\.org\. \d+ IN A 192\.0\.2\.80$/);
      // Not cluster data: the Kubernetes DNS spec's example TTL (28800), the answers helper's choice.
      assert.match(
        (await q(`dns-version.${Z}`, 'TXT')).answer[0] ?? '',
        /^dns-version\.cluster\.local\. \d+ IN TXT "1\.1\.0"$/,
      );
      const soa = await q(Z, 'SOA');
      assert.match(
        soa.answer[0] ?? '',
        /^cluster\.local\. \d+ IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$/,
      );
      assert.match((await q(Z, 'NS')).answer[0] ?? '', /^cluster\.local\. \d+ IN NS ns\.dns\.cluster\.local\.$/);
      const nx = await q('nosuch.default.svc.cluster.local', 'A');
      assert.equal(nx.status, 'NXDOMAIN');
      assert.ok(nx.flags.includes('aa'));
      assert.match(nx.authority[0] ?? '', /^cluster\.local\. 5 IN SOA /);
      assert.equal((await q('svc.cluster.local', 'A')).status, 'NOERROR', 'empty non-terminal is NODATA');
      if (transport === 'tcp') {
        const axfr = await dig('127.0.0.1', dnsPort, Z, 'AXFR');
        assert.match(axfr.text, /Transfer failed|REFUSED/);
      }
    });

    test(`${transport}: names outside the zone are forwarded to --nameservers`, async () => {
      const out = await q('outside.example', 'A');
      assert.equal(out.status, 'NOERROR');
      assert.deepEqual(out.answer, ['outside.example. 120 IN A 192.0.2.10']);
    });
  }

  test('watch changes reach the answers; a watch fault does not lose records; metrics are served', async () => {
    sim.objects.create(clusterIpService('default', 'late', '10.96.0.44'));
    await waitUntil(
      'added service answered',
      async () => (await dig('127.0.0.1', dnsPort, 'late.default.svc.cluster.local', 'A')).answer.length === 1,
    );
    sim.faults.dropWatches();
    sim.objects.delete({ kind: 'Service', namespace: 'default', name: 'late' });
    await waitUntil(
      'deleted service NXDOMAIN',
      async () => (await dig('127.0.0.1', dnsPort, 'late.default.svc.cluster.local', 'A')).status === 'NXDOMAIN',
      { timeoutMs: 10_000 },
    );
    assert.equal((await dig('127.0.0.1', dnsPort, 'web.default.svc.cluster.local', 'A')).answer.length, 1);
    assert.ok(metricsPort);
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /skydns_skydns_dns_request_count_total\{system="auth"\} [1-9]/);
    assert.match(metrics, /skydns_skydns_watch_restarts_total\{kind="services"\} [1-9]/);
  });

  test('the effective config is logged at startup, the token never', () => {
    const starting = proc.lines.find((l) => l['message'] === 'starting');
    assert.ok(starting);
    assert.equal((starting['config'] as Record<string, unknown>)['dnsAddress'], '127.0.0.1:0');
    assert.ok(!proc.stderr().includes('e2e-token'));
  });
});

describe('kube-dns bin: process lifecycle', { skip }, () => {
  test('SIGTERM: readiness 503 at once, still answering during --shutdown-grace, then exit 0', async (t) => {
    const sim = await startApiServer({ seed: cluster });
    t.after(() => sim.close());
    const upstream = await startFakeUpstream(() => ({ rcode: 'NXDOMAIN' }));
    t.after(() => upstream.close());
    const flags = baseFlags(await kubeconfigFile(sim, { token: 'unused' }), upstream).map((f) =>
      f === '--shutdown-grace=0s' ? '--shutdown-grace=1500ms' : f,
    );
    const proc = spawnKubeDns(flags);
    t.after(() => proc.kill());
    const ports = await proc.listening;
    await waitUntil('ready', async () => (await readiness(ports.healthz)) === 200, { timeoutMs: 10_000 });
    const sentAt = Date.now();
    proc.child.kill('SIGTERM');
    await waitUntil('readiness 503', async () => (await readiness(ports.healthz)) === 503);
    const during = await dig('127.0.0.1', ports.dns, 'web.default.svc.cluster.local', 'A', '+tcp');
    assert.deepEqual(during.answer, ['web.default.svc.cluster.local. 30 IN A 10.96.0.20']);
    const exit = await proc.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - sentAt >= 1400, 'waited for the grace period');
  });

  test('--initial-sync-timeout exceeded: exit non-zero with one clear line', async (t) => {
    const sim = await startApiServer({ tokens: ['right'] });
    t.after(() => sim.close());
    const upstream = await startFakeUpstream(() => ({ rcode: 'NXDOMAIN' }));
    t.after(() => upstream.close());
    const flags = baseFlags(await kubeconfigFile(sim, { token: 'wrong' }), upstream).map((f) =>
      f.startsWith('--initial-sync-timeout') ? '--initial-sync-timeout=1s' : f,
    );
    const proc = spawnKubeDns(flags);
    t.after(() => proc.kill());
    const exit = await proc.exited;
    assert.equal(exit.code, 1);
    const last = proc.stderr().trim().split('\n').pop() ?? '';
    assert.match(
      last,
      /^kube-dns: initial sync with the apiserver http:\/\/127\.0\.0\.1:\d+ did not complete within --initial-sync-timeout=1s \(waiting for services: HTTP 401/,
    );
  });

  test('invalid flags: exit 2 with one line, before anything starts', async () => {
    const proc = spawnKubeDns(['--dns-port=99999']);
    const exit = await proc.exited;
    assert.equal(exit.code, 2);
    assert.equal(proc.stderr(), 'kube-dns: --dns-port: invalid port "99999"\n');
  });

  test('a DNS port already in use: exit 1 with one line', async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    t.after(() => blocker.close());
    const port = (blocker.address() as { port: number }).port;
    const proc = spawnKubeDns([
      '--kube-master-url=http://127.0.0.1:1',
      '--healthz-bind-address=127.0.0.1',
      '--healthz-port=0',
      '--dns-bind-address=127.0.0.1',
      `--dns-port=${port}`,
    ]);
    assert.equal((await proc.exited).code, 1);
    assert.equal(
      proc.stderr().trim().split('\n').pop(),
      `kube-dns: cannot listen for DNS on 127.0.0.1:${port}: address in use`,
    );
  });

  test('--version prints the version and exits 0', async () => {
    const proc = spawnKubeDns(['--version']);
    assert.equal((await proc.exited).code, 0);
    assert.match(proc.stdout(), /^kube-dns \d+\.\d+\.\d+\n$/);
  });

  test('--endpoints-api=endpoints, --pod-records=verified and --config-map, with the apiserver restarting', async (t) => {
    const sim = await startApiServer({
      seed: [
        headlessService('default', 'db', [['pg', 5432]]),
        endpointsObject(
          'default',
          'db',
          [
            { ip: '10.1.0.1', hostname: 'db-0' },
            { ip: '10.1.0.2', ready: false },
          ],
          [['pg', 5432]],
        ),
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { namespace: 'default', name: 'p' },
          spec: { containers: [{ name: 'c', image: 'x' }] },
          status: { podIP: '10.244.0.9', podIPs: [{ ip: '10.244.0.9' }] },
        },
      ],
    });
    t.after(() => sim.close());
    const first = await startFakeUpstream(() => ({
      answers: [{ name: 'outside.example', type: 'A', ttl: 60, data: '192.0.2.1' }],
    }));
    const second = await startFakeUpstream(() => ({
      answers: [{ name: 'outside.example', type: 'A', ttl: 60, data: '192.0.2.2' }],
    }));
    t.after(() => first.close());
    t.after(() => second.close());
    sim.objects.create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: 'kube-system', name: 'kube-dns' },
      data: { upstreamNameservers: JSON.stringify([`${first.host}:${first.port}`]) },
    });
    const flags = baseFlags(await kubeconfigFile(sim, { token: 'unused' }), first).filter(
      (f) => !f.startsWith('--nameservers'),
    );
    const proc = spawnKubeDns([
      ...flags,
      '--endpoints-api=endpoints',
      '--pod-records=verified',
      '--config-map=kube-dns',
    ]);
    t.after(() => proc.kill());
    const ports = await proc.listening;
    await waitUntil('ready', async () => (await readiness(ports.healthz)) === 200, { timeoutMs: 10_000 });
    const q = (name: string, type = 'A') => dig('127.0.0.1', ports.dns, name, type);
    assert.deepEqual((await q('db.default.svc.cluster.local')).answer, [
      'db.default.svc.cluster.local. 30 IN A 10.1.0.1',
    ]);
    assert.deepEqual((await q('10-244-0-9.default.pod.cluster.local')).answer, [
      '10-244-0-9.default.pod.cluster.local. 30 IN A 10.244.0.9',
    ]);
    assert.equal((await q('10-244-0-8.default.pod.cluster.local')).status, 'NXDOMAIN', 'verified: no such pod');
    assert.deepEqual((await q('outside.example')).answer, ['outside.example. 60 IN A 192.0.2.1']);

    // The ConfigMap changes: the next forwarded query goes to the new upstream, no restart.
    sim.objects.patch(
      { kind: 'ConfigMap', namespace: 'kube-system', name: 'kube-dns' },
      { data: { upstreamNameservers: JSON.stringify([`${second.host}:${second.port}`]) } },
    );
    await waitUntil(
      'new upstream',
      async () => (await q('outside.example')).answer[0] === 'outside.example. 60 IN A 192.0.2.2',
    );

    // The apiserver restarts with its history gone; meanwhile db-0 became unready and the pod went away.
    await sim.faults.goDown();
    sim.objects.apply(
      endpointsObject('default', 'db', [{ ip: '10.1.0.1', ready: false }, { ip: '10.1.0.2' }], [['pg', 5432]]),
    );
    sim.objects.delete({ kind: 'Pod', namespace: 'default', name: 'p' });
    assert.deepEqual(
      (await q('db.default.svc.cluster.local')).answer,
      ['db.default.svc.cluster.local. 30 IN A 10.1.0.1'],
      'last known state',
    );
    assert.equal(await readiness(ports.healthz), 200);
    await sim.faults.comeBack({ expireHistory: true });
    await waitUntil(
      're-listed',
      async () =>
        (await q('db.default.svc.cluster.local')).answer[0] === 'db.default.svc.cluster.local. 30 IN A 10.1.0.2',
      {
        timeoutMs: 15_000,
      },
    );
    await waitUntil('pod gone', async () => (await q('10-244-0-9.default.pod.cluster.local')).status === 'NXDOMAIN');
    proc.child.kill('SIGTERM');
    assert.equal((await proc.exited).code, 0);
  });
});
