import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { generateTestCertificates, type TestCertificates } from '@kube-dns/apiserver-sim';
import { missingTool } from '../helpers/index.js';
import { kubeClients, openWatch, request, service, startSim } from './support.js';

test('bearer tokens: missing or wrong → 401 Status JSON; right → served, as the token user', async (t) => {
  const sim = await startSim(t, {
    tokens: ['alpha', { token: 'beta', user: 'system:serviceaccount:kube-system:kube-dns' }],
  });
  const none = await request(sim.url, 'GET', '/api/v1/services');
  assert.equal(none.status, 401);
  assert.deepEqual(none.json, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Unauthorized',
    reason: 'Unauthorized',
    code: 401,
  });
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', { token: 'gamma' })).status, 401);
  assert.equal(
    (await request(sim.url, 'GET', '/api/v1/services', { headers: { Authorization: 'Basic YTpi' } })).status,
    401,
  );
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', { token: 'alpha' })).status, 200);
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', { token: 'beta' })).status, 200);
  assert.equal((await request(sim.url, 'GET', '/_sim/state')).status, 401, 'the admin API needs credentials too');
  assert.equal((await request(sim.url, 'GET', '/_sim/state', { token: 'alpha' })).status, 200);
  const users = sim.requests.entries({ path: '/api/v1/services', status: 200 }).map((r) => r.user);
  assert.deepEqual(users, ['token-user', 'system:serviceaccount:kube-system:kube-dns']);
  assert.equal(sim.requests.count({ status: 401 }), 3);
});

test('without tokens or a client CA, everything is served anonymously', async (t) => {
  const sim = await startSim(t);
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', { token: 'anything' })).status, 200);
  assert.equal(sim.requests.entries()[0]!.user, 'system:anonymous');
});

const noOpenssl = missingTool('openssl');

function pki(t: TestContext): TestCertificates {
  const certs = generateTestCertificates({ clientUser: 'kube-dns-test', clientGroups: ['dns'] });
  t.after(() => rmSync(certs.dir, { recursive: true, force: true }));
  return certs;
}

test(
  'TLS with client certificates: a verified certificate is an identity; KubeConfig with CA + client cert works',
  { skip: noOpenssl },
  async (t) => {
    const certs = pki(t);
    const sim = await startSim(t, {
      tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.caCert, ca: certs.caCert },
      tokens: ['tok'],
    });
    assert.match(sim.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const anonymous = await request(sim.url, 'GET', '/api/v1/services', { ca: certs.caCert });
    assert.equal(anonymous.status, 401);
    const byCert = await request(sim.url, 'GET', '/api/v1/services', {
      ca: certs.caCert,
      cert: certs.clientCert,
      key: certs.clientKey,
    });
    assert.equal(byCert.status, 200);
    assert.equal(sim.requests.entries().at(-1)!.user, 'kube-dns-test');
    // A certificate from another CA is not an identity.
    const stranger = pki(t);
    const foreign = await request(sim.url, 'GET', '/api/v1/services', {
      ca: certs.caCert,
      cert: stranger.clientCert,
      key: stranger.clientKey,
    });
    assert.equal(foreign.status, 401);
    // The real client library, through a kubeconfig with certificate-authority-data and client-certificate-data.
    sim.objects.create(service('secure'));
    const yaml = sim.kubeconfig({ clientCert: { cert: certs.clientCert, key: certs.clientKey } });
    assert.match(yaml, /certificate-authority-data:/);
    assert.doesNotMatch(yaml, /insecure-skip-tls-verify/);
    const { core, kc } = kubeClients(sim, { clientCert: { cert: certs.clientCert, key: certs.clientKey } });
    const list = await core.listServiceForAllNamespaces();
    assert.deepEqual(
      list.items.map((s) => s.metadata?.name),
      ['secure'],
    );
    const informer = k8s.makeInformer(kc, '/api/v1/services', () => core.listServiceForAllNamespaces());
    const added: string[] = [];
    informer.on('add', (s) => added.push(s.metadata!.name!));
    await informer.start();
    await sim.waitForWatch({ resource: 'services' });
    sim.objects.create(service('later'));
    const deadline = Date.now() + 3000;
    while (added.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await informer.stop();
    assert.deepEqual(added, ['secure', 'later']);
    // Token over TLS, trusting the CA.
    const byToken = kubeClients(sim, { token: 'tok' });
    assert.equal((await byToken.core.listNamespace()).items.length, 4);
    // And a CA the client does not know: the TLS handshake fails.
    await assert.rejects(request(sim.url, 'GET', '/version'), /self-signed|unable to verify|certificate/i);
  },
);

test('watch over TLS streams like over HTTP', { skip: noOpenssl }, async (t) => {
  const certs = pki(t);
  const sim = await startSim(t, { tls: { cert: certs.serverCert, key: certs.serverKey } });
  sim.objects.create(service('a'));
  const watch = await openWatch(t, sim.url, '/api/v1/services?watch=true', { ca: certs.caCert });
  assert.equal((await watch.next()).object.metadata.name, 'a');
  const insecure = sim.kubeconfig({});
  assert.match(insecure, /insecure-skip-tls-verify: true/, 'no CA given: the kubeconfig skips verification');
});

test('kubeconfig for plain HTTP sets insecure-skip-tls-verify (client-node refuses http:// otherwise)', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  const yaml = sim.kubeconfig({ token: 'tok' }, { namespace: 'kube-system' });
  assert.match(yaml, /insecure-skip-tls-verify: true/);
  assert.match(yaml, /token: tok/);
  assert.match(yaml, /namespace: kube-system/);
  const strict = new k8s.KubeConfig();
  strict.loadFromString(yaml.replace(/\n\s*insecure-skip-tls-verify: true/, ''));
  await assert.rejects(strict.makeApiClient(k8s.CoreV1Api).listNamespace());
  const { core } = kubeClients(sim, { token: 'tok' });
  assert.equal((await core.listNamespace()).items.length, 4);
});
