import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { keys, names, request, service, startSim } from './support.js';

test('GET list: <Kind>List with metadata.resourceVersion, items without kind/apiVersion, key order', async (t) => {
  const sim = await startSim(t);
  sim.objects.create(service('b'));
  sim.objects.create(service('a', 'other'));
  sim.objects.create(service('a'));
  const all = await request(sim.url, 'GET', '/api/v1/services');
  assert.equal(all.status, 200);
  assert.equal(all.headers['content-type'], 'application/json');
  assert.equal(all.json.kind, 'ServiceList');
  assert.equal(all.json.apiVersion, 'v1');
  assert.equal(all.json.metadata.resourceVersion, sim.resourceVersion());
  assert.deepEqual(keys(all.json), ['default/a', 'default/b', 'other/a']);
  assert.equal(all.json.items[0].kind, undefined, 'list items carry no kind, as on the real server');
  const ns = await request(sim.url, 'GET', '/api/v1/namespaces/default/services');
  assert.deepEqual(names(ns.json), ['a', 'b']);
  const one = await request(sim.url, 'GET', '/api/v1/namespaces/default/services/a');
  assert.equal(one.json.kind, 'Service');
  assert.equal(one.json.apiVersion, 'v1');
  assert.equal(one.json.metadata.name, 'a');
  const missing = await request(sim.url, 'GET', '/api/v1/namespaces/default/services/nope');
  assert.equal(missing.status, 404);
  assert.deepEqual(
    { kind: missing.json.kind, reason: missing.json.reason, code: missing.json.code, message: missing.json.message },
    { kind: 'Status', reason: 'NotFound', code: 404, message: 'services "nope" not found' },
  );
  const slices = await request(sim.url, 'GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices');
  assert.equal(slices.json.kind, 'EndpointSliceList');
  assert.equal(slices.json.apiVersion, 'discovery.k8s.io/v1');
  const nss = await request(sim.url, 'GET', '/api/v1/namespaces');
  assert.deepEqual(names(nss.json), ['default', 'kube-node-lease', 'kube-public', 'kube-system', 'other']);
  for (const kind of ['endpoints', 'pods', 'configmaps']) {
    const list = await request(sim.url, 'GET', `/api/v1/${kind}`);
    assert.equal(list.status, 200, kind);
  }
  assert.equal((await request(sim.url, 'GET', '/api/v1/secrets')).status, 404, 'unknown resources are 404');
});

test('label and field selectors on lists', async (t) => {
  const sim = await startSim(t);
  sim.objects.create(service('web', 'default', { metadata: { labels: { app: 'web', tier: 'front' } } }));
  sim.objects.create(service('api', 'default', { metadata: { labels: { app: 'api' } } }));
  sim.objects.create(service('db', 'other', { spec: { clusterIP: 'None' } }));
  const selected = async (query: string): Promise<string[]> => {
    const res = await request(sim.url, 'GET', `/api/v1/services?${query}`);
    assert.equal(res.status, 200, `${query}: ${res.text}`);
    return names(res.json);
  };
  assert.deepEqual(await selected('labelSelector=app%3Dweb'), ['web']);
  assert.deepEqual(await selected('labelSelector=app%20in%20(web%2Capi)'), ['api', 'web']);
  assert.deepEqual(await selected('labelSelector=tier'), ['web']);
  assert.deepEqual(await selected('labelSelector=!app'), ['db']);
  assert.deepEqual(await selected('fieldSelector=metadata.name%3Dapi'), ['api']);
  assert.deepEqual(await selected('fieldSelector=metadata.namespace%3Dother'), ['db']);
  assert.deepEqual(await selected('fieldSelector=spec.clusterIP%3DNone'), ['db']);
  assert.deepEqual(await selected('fieldSelector=metadata.namespace!%3Dother,metadata.name!%3Dweb'), ['api']);
  const bad = await request(sim.url, 'GET', '/api/v1/services?fieldSelector=spec.nodeName%3Dx');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.reason, 'BadRequest');
});

test('limit/continue pages through one consistent snapshot; remainingItemCount; expired token is 410', async (t) => {
  const sim = await startSim(t, { historySize: 20 });
  for (let i = 0; i < 7; i++) sim.objects.create(service(`s${i}`));
  const first = await request(sim.url, 'GET', '/api/v1/services?limit=3');
  assert.deepEqual(names(first.json), ['s0', 's1', 's2']);
  assert.equal(first.json.metadata.remainingItemCount, 4);
  const listedAt = first.json.metadata.resourceVersion;
  // Changes after the first page do not show in the later pages.
  sim.objects.delete({ kind: 'Service', name: 's4' });
  sim.objects.create(service('s35'));
  const second = await request(sim.url, 'GET', `/api/v1/services?limit=3&continue=${first.json.metadata.continue}`);
  assert.equal(second.status, 200, second.text);
  assert.deepEqual(names(second.json), ['s3', 's4', 's5']);
  assert.equal(second.json.metadata.resourceVersion, listedAt);
  const third = await request(sim.url, 'GET', `/api/v1/services?limit=3&continue=${second.json.metadata.continue}`);
  assert.deepEqual(names(third.json), ['s6']);
  assert.equal(third.json.metadata.continue, undefined);
  // A token older than the history: 410 Expired with a fresh (inconsistent) token.
  const again = await request(sim.url, 'GET', '/api/v1/services?limit=2');
  sim.compact();
  const expired = await request(sim.url, 'GET', `/api/v1/services?limit=2&continue=${again.json.metadata.continue}`);
  assert.equal(expired.status, 410);
  assert.equal(expired.json.reason, 'Expired');
  assert.match(String(expired.json.message), /continue parameter is too old/);
  const resumed = await request(sim.url, 'GET', `/api/v1/services?limit=50&continue=${expired.json.metadata.continue}`);
  assert.equal(resumed.status, 200);
  assert.deepEqual(names(resumed.json), ['s2', 's3', 's35', 's5', 's6']);
  const garbage = await request(sim.url, 'GET', '/api/v1/services?limit=2&continue=nonsense');
  assert.equal(garbage.status, 400);
});

test('pagination with a selector gives no remainingItemCount', async (t) => {
  const sim = await startSim(t);
  for (let i = 0; i < 4; i++)
    sim.objects.create(service(`s${i}`, 'default', { metadata: { labels: { even: String(i % 2 === 0) } } }));
  const page = await request(sim.url, 'GET', '/api/v1/services?limit=1&labelSelector=even%3Dtrue');
  assert.deepEqual(names(page.json), ['s0']);
  assert.equal(page.json.metadata.remainingItemCount, undefined);
  const next = await request(
    sim.url,
    'GET',
    `/api/v1/services?limit=1&labelSelector=even%3Dtrue&continue=${page.json.metadata.continue}`,
  );
  assert.deepEqual(names(next.json), ['s2']);
  assert.equal(next.json.metadata.continue, undefined);
});

test('resourceVersion semantics of lists: 0 and unset serve the latest, Exact serves history, too new is 504', async (t) => {
  const sim = await startSim(t);
  const a = sim.objects.create(service('a'));
  const at = sim.resourceVersion();
  sim.objects.delete({ kind: 'Service', name: 'a' });
  sim.objects.create(service('b'));
  assert.deepEqual(names((await request(sim.url, 'GET', '/api/v1/services')).json), ['b']);
  const zero = await request(sim.url, 'GET', '/api/v1/services?resourceVersion=0&limit=1');
  assert.deepEqual(names(zero.json), ['b']);
  assert.equal(zero.json.metadata.continue, undefined, 'rv=0 ignores limit, as served from the watch cache');
  assert.deepEqual(
    names(
      (await request(sim.url, 'GET', `/api/v1/services?resourceVersion=${at}&resourceVersionMatch=NotOlderThan`)).json,
    ),
    ['b'],
  );
  const exact = await request(sim.url, 'GET', `/api/v1/services?resourceVersion=${at}&resourceVersionMatch=Exact`);
  assert.deepEqual(names(exact.json), ['a']);
  assert.equal(exact.json.metadata.resourceVersion, at);
  assert.equal(exact.json.items[0].metadata.uid, a.metadata.uid);
  const future = await request(sim.url, 'GET', '/api/v1/services?resourceVersion=999999');
  assert.equal(future.status, 504);
  assert.equal((await request(sim.url, 'GET', '/api/v1/services?resourceVersionMatch=Exact')).status, 400);
  sim.compact();
  const tooOld = await request(sim.url, 'GET', `/api/v1/services?resourceVersion=${at}&resourceVersionMatch=Exact`);
  assert.equal(tooOld.status, 410);
  assert.equal(tooOld.json.reason, 'Expired');
});

test('a list of 10k services and 2k slices of 25 endpoints is fast', async (t) => {
  const sim = await startSim(t);
  let started = Date.now();
  for (let i = 0; i < 10_000; i++) sim.objects.create(service(`svc-${i}`, `ns-${i % 50}`));
  for (let i = 0; i < 2000; i++) {
    const endpoints = Array.from({ length: 25 }, (_, j) => ({
      addresses: [`10.${(i >> 8) & 255}.${i & 255}.${j + 1}`],
      conditions: { ready: true, serving: true, terminating: false },
      targetRef: { kind: 'Pod', name: `pod-${i}-${j}`, namespace: `ns-${i % 50}` },
      nodeName: `node-${j}`,
    }));
    sim.objects.create({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: `svc-${i}-abcde`,
        namespace: `ns-${i % 50}`,
        labels: { 'kubernetes.io/service-name': `svc-${i}` },
      },
      addressType: 'IPv4',
      endpoints,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
  }
  const loadMs = Date.now() - started;
  started = Date.now();
  const services = await request(sim.url, 'GET', '/api/v1/services');
  const slices = await request(sim.url, 'GET', '/apis/discovery.k8s.io/v1/endpointslices');
  const listMs = Date.now() - started;
  assert.equal(services.json.items.length, 10_000);
  assert.equal(slices.json.items.length, 2000);
  assert.equal(slices.json.items[0].endpoints.length, 25);
  t.diagnostic(`load ${loadMs} ms, both lists ${listMs} ms (${Math.round(slices.text.length / 1024)} KiB of slices)`);
  assert.ok(listMs < 3000, `lists took ${listMs} ms`);
});

test('compression: gzip for big lists when the client accepts it', async (t) => {
  const sim = await startSim(t, { compression: true });
  for (let i = 0; i < 1500; i++) sim.objects.create(service(`s${i}`));
  const plain = await request(sim.url, 'GET', '/api/v1/services');
  assert.equal(plain.headers['content-encoding'], undefined);
  const zipped = await request(sim.url, 'GET', '/api/v1/services', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(zipped.headers['content-encoding'], 'gzip');
  assert.equal(JSON.parse(gunzipSync(zipped.raw).toString()).items.length, 1500);
  const small = await request(sim.url, 'GET', '/api/v1/namespaces', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(small.headers['content-encoding'], undefined, 'small bodies stay plain');
});

test('discovery, version and health endpoints', async (t) => {
  const sim = await startSim(t, { tokens: ['secret'] });
  const version = await request(sim.url, 'GET', '/version');
  assert.equal(version.status, 200, 'version needs no credentials');
  assert.equal(version.json.gitVersion, 'v1.33.0');
  assert.equal(version.json.minor, '33');
  for (const path of ['/healthz', '/readyz', '/livez']) {
    const res = await request(sim.url, 'GET', path);
    assert.equal(res.status, 200, path);
    assert.equal(res.text, 'ok');
  }
  const api = await request(sim.url, 'GET', '/api', { token: 'secret' });
  assert.deepEqual(api.json.versions, ['v1']);
  const apis = await request(sim.url, 'GET', '/apis', { token: 'secret' });
  assert.equal(apis.json.kind, 'APIGroupList');
  assert.equal(apis.json.groups[0].name, 'discovery.k8s.io');
  const core = await request(sim.url, 'GET', '/api/v1', { token: 'secret' });
  const resources = (core.json as { resources: { name: string }[] }).resources.map((r) => r.name);
  for (const name of ['namespaces', 'services', 'services/status', 'endpoints', 'pods', 'configmaps'])
    assert.ok(resources.includes(name), name);
  const group = await request(sim.url, 'GET', '/apis/discovery.k8s.io/v1', { token: 'secret' });
  assert.deepEqual(
    (group.json as { resources: { name: string }[] }).resources.map((r) => r.name),
    ['endpointslices'],
  );
  assert.equal((await request(sim.url, 'GET', '/apis/discovery.k8s.io', { token: 'secret' })).json.kind, 'APIGroup');
  assert.equal((await request(sim.url, 'GET', '/api', {})).status, 401, 'discovery needs credentials');
  assert.equal((await request(sim.url, 'GET', '/nothing-here', { token: 'secret' })).status, 404);
});

test('odd requests: malformed escapes are 404, not 500; cluster paths take no names; IPv6 loopback works', async (t) => {
  const sim = await startSim(t);
  assert.equal((await request(sim.url, 'GET', '/api/v1/namespaces/%E0%A4%A/services')).status, 404);
  assert.equal((await request(sim.url, 'GET', '/api/v1/services/name-without-namespace')).status, 404);
  assert.equal(
    (await request(sim.url, 'POST', '/api/v1/namespaces/default/services/named', { body: service('named') })).status,
    405,
  );
  const v6 = await startSim(t, { host: '::1' }).catch(() => undefined);
  if (v6 !== undefined) {
    assert.match(v6.url, /^http:\/\/\[::1\]:\d+$/);
    assert.equal((await request(v6.url, 'GET', '/healthz')).status, 200);
  }
});
