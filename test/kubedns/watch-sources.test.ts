import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateTestCertificates, startApiServer } from '@kube-dns/apiserver-sim';
import { StartupError } from '@kube-dns/daemon-kit';
import { loadKubeConfig } from '@kube-dns/kubedns/watch/kube-config';
import { missingTool, waitUntil } from '../helpers/index.js';
import {
  clusterIpService,
  endpointSlice,
  endpointsObject,
  externalNameService,
  headlessService,
  pod,
} from './watch-fixtures.js';
import { metricValue, startWatchUnderTest, watchesOpen, watchWith } from './watch-harness.js';

describe('kube-dns watch: kinds, modes and ingest', () => {
  test('--endpoints-api=endpoints: v1 Endpoints, notReadyAddresses are not ready', async (t) => {
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
      ],
    });
    t.after(() => sim.close());
    const w = await startWatchUnderTest(t, sim, { endpointsApi: 'endpoints' });
    await w.watch.synced;
    assert.deepEqual(w.writer.readyAddresses('default', 'db'), ['10.1.0.1']);
    assert.equal(w.writer.endpoints.get('default/db')?.subsets[0]?.endpoints[0]?.hostname, 'db-0');
    assert.equal(sim.requests.count({ resource: 'endpointslices' }), 0, 'no EndpointSlice requests');
    await watchesOpen(sim, ['endpoints']);
    sim.objects.apply(
      endpointsObject('default', 'db', [{ ip: '10.1.0.1', hostname: 'db-0' }, { ip: '10.1.0.2' }], [['pg', 5432]]),
    );
    await waitUntil('both ready', () => w.writer.readyAddresses('default', 'db').length === 2);
    sim.objects.delete({ kind: 'Endpoints', namespace: 'default', name: 'db' });
    await waitUntil('gone', () => !w.writer.endpoints.has('default/db'));
  });

  test('--pod-records=verified watches Pods; other modes do not', async (t) => {
    const sim = await startApiServer({ seed: [pod('default', 'p1', ['10.244.0.9', 'fd00::9'])] });
    t.after(() => sim.close());
    const verified = await startWatchUnderTest(t, sim, { podRecords: 'verified' });
    await verified.watch.synced;
    assert.deepEqual(verified.writer.pods.get('default/p1')?.ips, ['10.244.0.9', 'fd00::9']);
    await watchesOpen(sim, ['pods']);
    sim.objects.delete({ kind: 'Pod', namespace: 'default', name: 'p1' });
    await waitUntil('pod gone', () => !verified.writer.pods.has('default/p1'));

    const before = sim.requests.count({ resource: 'pods' });
    const insecure = await startWatchUnderTest(t, sim, { podRecords: 'insecure' });
    await insecure.watch.synced;
    assert.equal(sim.requests.count({ resource: 'pods' }), before, 'no Pod list or watch');
  });

  test('ingest keeps only DNS fields, canonical IPs, lower-case names; dual-stack clusterIPs', async (t) => {
    const sim = await startApiServer({
      serviceCidrs: ['10.96.0.0/12', 'fd00:10:96::/112'],
      seed: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { namespace: 'default', name: 'dual', labels: { big: 'x'.repeat(60) }, annotations: { note: 'y' } },
          spec: {
            clusterIP: '10.96.0.31',
            clusterIPs: ['10.96.0.31', 'fd00:10:96:0:0:0:0:31'],
            ipFamilies: ['IPv4', 'IPv6'],
            ipFamilyPolicy: 'RequireDualStack',
            ports: [
              { name: 'HTTP', port: 80, protocol: 'TCP' },
              { port: 8080 },
              { name: 'dns', port: 53, protocol: 'UDP' },
            ],
            selector: { app: 'dual' },
          },
        },
        externalNameService('default', 'ext', 'WWW.Example.COM.'),
        endpointSlice('default', 'dual', 'dual-v6', [{ ip: 'FD00:0:0:0:0:0:0:0A', pod: 'dual-1' }], [['http', 8080]]),
      ],
    });
    t.after(() => sim.close());
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    assert.deepEqual(w.writer.services.get('default/dual'), {
      namespace: 'default',
      name: 'dual',
      kind: 'ClusterIP',
      clusterIPs: ['10.96.0.31', 'fd00:10:96::31'],
      externalName: null,
      ports: [
        { name: 'http', protocol: 'tcp', port: 80 },
        { name: '', protocol: 'tcp', port: 8080 },
        { name: 'dns', protocol: 'udp', port: 53 },
      ],
    });
    assert.deepEqual(w.writer.services.get('default/ext'), {
      namespace: 'default',
      name: 'ext',
      kind: 'ExternalName',
      clusterIPs: [],
      externalName: 'www.example.com',
      ports: [],
    });
    assert.deepEqual(w.writer.endpoints.get('default/dual-v6'), {
      namespace: 'default',
      name: 'dual-v6',
      serviceName: 'dual',
      subsets: [
        {
          ports: [{ name: 'http', protocol: 'tcp', port: 8080 }],
          endpoints: [{ addresses: ['fd00::a'], hostname: null, ready: true, podName: 'dual-1' }],
        },
      ],
    });
  });

  test('what cannot be served is skipped and logged once per object: bad IPs, long hostnames, FQDN slices', async (t) => {
    const badSlice = endpointSlice('default', 'hl', 'hl-bad', [
      { ip: '10.0.0.1' },
      { ip: '999.1.1.1' },
      { ip: '10.0.0.3', hostname: 'h'.repeat(64) },
    ]);
    const fqdnSlice = {
      ...endpointSlice('default', 'hl', 'hl-fqdn', []),
      addressType: 'FQDN',
      endpoints: [{ addresses: ['example.com'] }],
    };
    const sim = await startApiServer({ seed: [headlessService('default', 'hl'), badSlice, fqdnSlice] });
    t.after(() => sim.close());
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    assert.deepEqual(w.writer.readyAddresses('default', 'hl'), ['10.0.0.1'], 'the valid endpoint is kept');
    assert.ok(!w.writer.endpoints.has('default/hl-fqdn'));
    const skipped = w.log.matching('skipped what cannot be served');
    assert.equal(skipped.length, 2);
    assert.match(
      String(skipped.find((l) => l['object'] === 'default/hl-bad')?.['problems']),
      /invalid IP "999\.1\.1\.1".*hostname/,
    );
    assert.match(String(skipped.find((l) => l['object'] === 'default/hl-fqdn')?.['problems']), /FQDN/);
    // The same problem again (an unrelated update): not logged again.
    await watchesOpen(sim);
    sim.objects.patch(
      { kind: 'EndpointSlice', namespace: 'default', name: 'hl-bad' },
      { metadata: { labels: { touched: 'yes' } } },
    );
    sim.objects.create(clusterIpService('default', 'marker', '10.96.0.90'));
    await waitUntil('later event seen', () => w.writer.services.has('default/marker'));
    await waitUntil(
      'update seen',
      () => w.writer.operations.filter((o) => o === 'upsertEndpoints default/hl-bad').length === 2,
    );
    assert.equal(w.log.matching('skipped what cannot be served').length, 2);
    assert.equal(await w.metric('skydns_skydns_watch_invalid_objects_total'), 2);
  });

  test('dns_programming_duration_seconds: headless services, from the last-change-trigger-time annotation', async (t) => {
    const sim = await startApiServer({
      seed: [headlessService('default', 'hl'), clusterIpService('default', 'web', '10.96.0.20')],
    });
    t.after(() => sim.close());
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    await watchesOpen(sim);
    const trigger = new Date(Date.now() - 1500).toISOString();
    const annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': trigger };
    sim.objects.create(endpointSlice('default', 'hl', 'hl-1', [{ ip: '10.0.0.1' }], [], annotations));
    sim.objects.create(endpointSlice('default', 'web', 'web-1', [{ ip: '10.0.0.2' }], [], annotations));
    await waitUntil(
      'both seen',
      () => w.writer.endpoints.has('default/hl-1') && w.writer.endpoints.has('default/web-1'),
    );
    const name = 'skydns_skydns_dns_programming_duration_seconds';
    assert.equal(
      await metricValue(w.registry, name, { service_kind: 'headless_with_selector' }),
      1,
      'only the headless one',
    );
    const sum = (await w.registry.getSingleMetric(name)!.get()).values.find((v) =>
      (v as { metricName?: string }).metricName?.endsWith('_sum'),
    );
    assert.ok(sum && sum.value >= 1.4 && sum.value < 30, `observed ${sum?.value}`);
  });

  test('kubecfg-file with a bearer token; --kube-master-url overrides its server', async (t) => {
    const sim = await startApiServer({ tokens: ['s3cret'], seed: [clusterIpService('default', 'web', '10.96.0.20')] });
    t.after(() => sim.close());
    const w = await startWatchUnderTest(t, sim, { auth: { token: 's3cret' } });
    await w.watch.synced;
    assert.ok(w.writer.services.has('default/web'));
    assert.ok(
      sim.requests.count({ user: 'token-user', verb: 'watch' }) +
        sim.requests.count({ user: 'token-user', verb: 'list' }) >=
        3,
    );
    assert.ok(!w.log.text().includes('s3cret'), 'the token is never logged');
    assert.match(sim.requests.entries({ verb: 'list' })[0]!.path, /^\/api/);

    // The kubeconfig names a dead server; the master URL wins (client-go BuildConfigFromFlags).
    const dead = sim.kubeconfig({ token: 's3cret' }).replace(sim.url, 'http://127.0.0.1:1');
    const path = join(await mkdtemp(join(tmpdir(), 'kube-dns-kc-')), 'kubeconfig');
    await writeFile(path, dead);
    const kc = loadKubeConfig({ kubeMasterUrl: sim.url, kubecfgFile: path, userAgent: 'kube-dns/test' });
    assert.equal(kc.getCurrentCluster()?.server, sim.url);
  });

  test('a server URL with a trailing slash (kubeconfig or --kube-master-url) works as client-go: no //api paths', async (t) => {
    const sim = await startApiServer({ tokens: ['s3cret'], seed: [clusterIpService('default', 'web', '10.96.0.20')] });
    t.after(() => sim.close());
    const dir = await mkdtemp(join(tmpdir(), 'kube-dns-kc-'));
    await writeFile(join(dir, 'kubeconfig'), sim.kubeconfig({ token: 's3cret' }).replace(sim.url, `${sim.url}/`));
    const fromFile = loadKubeConfig({ kubeMasterUrl: null, kubecfgFile: join(dir, 'kubeconfig'), userAgent: 'x' });
    assert.equal(fromFile.getCurrentCluster()?.server, sim.url);
    const fromFlag = loadKubeConfig({ kubeMasterUrl: `${sim.url}//`, kubecfgFile: null, userAgent: 'x' });
    assert.equal(fromFlag.getCurrentCluster()?.server, sim.url);
    const { writer, watch } = watchWith(t, fromFile);
    await watch.synced;
    assert.ok(writer.services.has('default/web'));
    assert.equal(sim.requests.count({ status: 404 }), 0);
  });

  test(
    "kubecfg-file with client-go's tokenFile: relative to the kubeconfig, trimmed, re-read as it rotates",
    { timeout: 20_000 },
    async (t) => {
      const sim = await startApiServer({
        tokens: [
          { token: 'rotated-1', user: 'first' },
          { token: 'rotated-2', user: 'second' },
        ],
        seed: [clusterIpService('default', 'web', '10.96.0.20')],
      });
      t.after(() => sim.close());
      const dir = await mkdtemp(join(tmpdir(), 'kube-dns-kc-'));
      // kubectl and client-go read `tokenFile` (client-node only its own `token-file`, once): a kubeconfig for a
      // projected service account token names the file, relative paths resolved against the kubeconfig's folder.
      await writeFile(join(dir, 'token'), 'rotated-1\n');
      const kubeconfig = sim.kubeconfig({ token: 'rotated-1' }).replace(/token: rotated-1/, 'tokenFile: token');
      assert.match(kubeconfig, /tokenFile: token/);
      await writeFile(join(dir, 'kubeconfig'), kubeconfig);
      const kubeConfig = loadKubeConfig({
        kubeMasterUrl: null,
        kubecfgFile: join(dir, 'kubeconfig'),
        userAgent: 'kube-dns/test',
        tokenFileRereadMs: 0,
      });
      const { writer, watch } = watchWith(t, kubeConfig);
      await watch.synced;
      assert.ok(writer.services.has('default/web'));
      assert.ok(sim.requests.count({ user: 'first', verb: 'list' }) >= 3);

      // The kubelet rotates the token in place: the next requests carry the new one.
      await writeFile(join(dir, 'token'), 'rotated-2\n');
      sim.faults.dropWatches();
      await waitUntil(
        'watches with the rotated token',
        () => sim.requests.count({ user: 'second', verb: 'watch' }) >= 3,
        {
          timeoutMs: 10_000,
        },
      );
      assert.equal(sim.requests.count({ status: 401 }), 0);

      // A tokenFile that cannot be read is a startup error naming it, as for the service account's.
      await writeFile(join(dir, 'missing'), kubeconfig.replace('tokenFile: token', 'tokenFile: /nonexistent/token'));
      assert.throws(
        () => loadKubeConfig({ kubeMasterUrl: null, kubecfgFile: join(dir, 'missing'), userAgent: 'x' }),
        (error: unknown) =>
          error instanceof StartupError &&
          /--kubecfg-file .*missing: .*tokenFile \/nonexistent\/token/.test(error.line),
      );
    },
  );

  test('kubecfg-file with client certificates and a CA (HTTPS)', { skip: missingTool('openssl') }, async (t) => {
    const pki = generateTestCertificates({ clientUser: 'system:kube-dns' });
    const sim = await startApiServer({
      tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert, ca: pki.caCert },
      seed: [clusterIpService('default', 'web', '10.96.0.20')],
    });
    t.after(() => sim.close());
    assert.match(sim.url, /^https:/);
    const w = await startWatchUnderTest(t, sim, {
      auth: { clientCert: { cert: pki.clientCert, key: pki.clientKey } },
      kubeconfigOptions: { caCert: pki.caCert },
    });
    await w.watch.synced;
    assert.ok(w.writer.services.has('default/web'));
    assert.ok(
      sim.requests.count({ user: 'system:kube-dns', verb: 'list' }) >= 3,
      'authenticated by the client certificate',
    );
  });

  test(
    'in-cluster service account (token file and CA under the standard path)',
    { skip: missingTool('openssl') },
    async (t) => {
      const pki = generateTestCertificates();
      const sim = await startApiServer({
        tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
        tokens: [{ token: 'sa-token', user: 'system:serviceaccount:kube-system:kube-dns' }],
        seed: [clusterIpService('default', 'web', '10.96.0.20')],
      });
      t.after(() => sim.close());
      const root = await mkdtemp(join(tmpdir(), 'kube-dns-sa-'));
      const dir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
      await mkdir(dir, { recursive: true });
      // With a trailing newline: client-node's own FileAuth would send it in the header (rejected by node-fetch).
      await writeFile(join(dir, 'token'), 'sa-token\n');
      await writeFile(join(dir, 'ca.crt'), pki.caCert);
      await writeFile(join(dir, 'namespace'), 'kube-system');
      const kubeConfig = loadKubeConfig({
        kubeMasterUrl: null,
        kubecfgFile: null,
        serviceAccountPathPrefix: root,
        env: { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(sim.port) },
        userAgent: 'kube-dns/test',
      });
      const { writer, watch } = watchWith(t, kubeConfig);
      await watch.synced;
      assert.ok(writer.services.has('default/web'));
      assert.ok(sim.requests.count({ user: 'system:serviceaccount:kube-system:kube-dns' }) >= 3);
      assert.match(sim.requests.entries({ verb: 'list' })[0]!.path, /^\/api/);
    },
  );

  test('in-cluster: always https://host:port as client-go (client-node picks http for ports 80, 8080, 8001)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'kube-dns-sa-'));
    const dir = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'token'), 'sa-token');
    const server = (host: string, port: string): string | undefined =>
      loadKubeConfig({
        kubeMasterUrl: null,
        kubecfgFile: null,
        serviceAccountPathPrefix: root,
        env: { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port },
        userAgent: 'x',
      }).getCurrentCluster()?.server;
    assert.equal(server('10.96.0.1', '443'), 'https://10.96.0.1:443');
    assert.equal(server('10.96.0.1', '8080'), 'https://10.96.0.1:8080');
    assert.equal(server('10.96.0.1', '80'), 'https://10.96.0.1:80');
    assert.equal(server('fd00::1', '443'), 'https://[fd00::1]:443');
  });

  test('--kube-master-url=http://… alone works (client-node needs insecure-skip-tls-verify for http)', async (t) => {
    const sim = await startApiServer({ seed: [clusterIpService('default', 'web', '10.96.0.20')] });
    t.after(() => sim.close());
    const kubeConfig = loadKubeConfig({
      kubeMasterUrl: sim.url,
      kubecfgFile: null,
      userAgent: 'kube-dns/9.9.9 (linux/x64)',
    });
    const { writer, watch } = watchWith(t, kubeConfig);
    await watch.synced;
    assert.ok(writer.services.has('default/web'));
  });

  test('startup errors of the client configuration are one line naming what is wrong', async () => {
    const line = (access: Parameters<typeof loadKubeConfig>[0]): string => {
      try {
        loadKubeConfig(access);
      } catch (error) {
        assert.ok(error instanceof StartupError);
        return error.line;
      }
      assert.fail('accepted');
    };
    assert.match(
      line({ kubeMasterUrl: null, kubecfgFile: '/nonexistent/kubeconfig', userAgent: 'x' }),
      /^kube-dns: --kubecfg-file \/nonexistent\/kubeconfig: .*ENOENT/,
    );
    assert.match(line({ kubeMasterUrl: null, kubecfgFile: null, env: {}, userAgent: 'x' }), /not in a cluster/);
    assert.match(
      line({
        kubeMasterUrl: null,
        kubecfgFile: null,
        env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' },
        serviceAccountPathPrefix: '/nonexistent',
        userAgent: 'x',
      }),
      /no service account token/,
    );
    const empty = join(await mkdtemp(join(tmpdir(), 'kube-dns-kc-')), 'kubeconfig');
    await writeFile(empty, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    assert.match(
      line({ kubeMasterUrl: null, kubecfgFile: empty, userAgent: 'x' }),
      /no current-context|no known cluster/,
    );
  });

  test('lists and watches carry the User-Agent kube-dns/<version> (<os>/<arch>)', async (t) => {
    const seen = new Set<string>();
    const server = http.createServer((req, res) => {
      const watching = (req.url ?? '').includes('watch=true');
      seen.add(`${watching ? 'watch' : 'list'} ${req.headers['user-agent']}`);
      if (watching) {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"kind":"List","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const kubeConfig = loadKubeConfig({
      kubeMasterUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      kubecfgFile: null,
      userAgent: 'kube-dns/1.2.3 (linux/x64)',
    });
    watchWith(t, kubeConfig);
    await waitUntil('both seen', () => seen.size === 2);
    assert.deepEqual([...seen].sort(), ['list kube-dns/1.2.3 (linux/x64)', 'watch kube-dns/1.2.3 (linux/x64)']);
  });
});
