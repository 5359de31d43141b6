import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitUntil } from '../helpers/index.js';
import { names, openWatch, request, service, startSim } from './support.js';

const TOKEN = { token: 'tok' };

test('drop watches: every open stream is cut mid-stream (programmatic and /_sim/faults/drop-watches)', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  const a = await openWatch(t, sim.url, '/api/v1/services?watch=true', TOKEN);
  const b = await openWatch(t, sim.url, '/apis/discovery.k8s.io/v1/endpointslices?watch=true', TOKEN);
  await sim.waitForWatch({ resource: 'endpointslices' });
  assert.equal(sim.faults.dropWatches(), 2);
  assert.equal(await a.ended, 'aborted');
  assert.equal(await b.ended, 'aborted');
  const c = await openWatch(t, sim.url, '/api/v1/services?watch=true', TOKEN);
  const res = await request(sim.url, 'POST', '/_sim/faults/drop-watches', TOKEN);
  assert.deepEqual(res.json, { dropped: 1 });
  assert.equal(await c.ended, 'aborted');
});

test('end watches: every stream ends cleanly, as a server timeout would', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  const a = await openWatch(
    t,
    sim.url,
    `/api/v1/services?watch=true&allowWatchBookmarks=true&resourceVersion=${sim.resourceVersion()}`,
    TOKEN,
  );
  await sim.waitForWatch();
  assert.deepEqual((await request(sim.url, 'POST', '/_sim/faults/end-watches', TOKEN)).json, { ended: 1 });
  assert.equal(await a.ended, 'end');
  assert.equal(a.pending().at(-1)?.type, 'BOOKMARK');
});

test('go down and come back on the same port, state intact; /_sim/faults/down?ms=', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  sim.objects.create(service('kept'));
  const port = sim.port;
  const watch = await openWatch(t, sim.url, '/api/v1/services?watch=true', TOKEN);
  await sim.waitForWatch();
  await sim.faults.goDown();
  assert.equal(await watch.ended, 'aborted');
  await assert.rejects(request(sim.url, 'GET', '/healthz'), /ECONNREFUSED/);
  assert.equal(sim.faults.state().down, true);
  await sim.faults.comeBack();
  assert.equal(sim.port, port);
  const list = await request(sim.url, 'GET', '/api/v1/services', TOKEN);
  assert.deepEqual(names(list.json), ['kept']);
  const down = await request(sim.url, 'POST', '/_sim/faults/down?ms=300', TOKEN);
  assert.equal(down.status, 202);
  await waitUntil('down', () =>
    request(sim.url, 'GET', '/healthz').then(
      () => false,
      () => true,
    ),
  );
  await waitUntil(
    'back up',
    () =>
      request(sim.url, 'GET', '/healthz').then(
        (r) => r.status === 200,
        () => false,
      ),
    { timeoutMs: 3000 },
  );
  assert.equal(sim.port, port);
  assert.equal((await request(sim.url, 'POST', '/_sim/faults/down', TOKEN)).status, 400, 'ms is required');
});

test('a restart that loses the history makes old versions 410', async (t) => {
  const sim = await startSim(t);
  sim.objects.create(service('a'));
  const rv = sim.resourceVersion();
  await sim.faults.restart(0, { expireHistory: true });
  const watch = await openWatch(t, sim.url, `/api/v1/services?watch=true&resourceVersion=${rv}`);
  assert.equal((await watch.next()).object.code, 410);
});

test('fail requests: all, the next N, by verb and resource; 500 and 503 Status bodies', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  sim.faults.failRequests();
  const failed = await request(sim.url, 'GET', '/api/v1/services', TOKEN);
  assert.equal(failed.status, 500);
  assert.equal(failed.json.reason, 'InternalError');
  assert.equal(failed.json.kind, 'Status');
  assert.equal((await request(sim.url, 'GET', '/api/v1/services?watch=true', TOKEN)).status, 500, 'watches too');
  sim.faults.clear();
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', TOKEN)).status, 200);
  sim.faults.failRequests({ status: 503, count: 2 });
  const unavailable = await request(sim.url, 'GET', '/api/v1/services', TOKEN);
  assert.equal(unavailable.status, 503);
  assert.equal(unavailable.json.reason, 'ServiceUnavailable');
  assert.equal((await request(sim.url, 'GET', '/api/v1/pods', TOKEN)).status, 503);
  assert.equal((await request(sim.url, 'GET', '/api/v1/pods', TOKEN)).status, 200, 'only the next 2');
  sim.faults.failRequests({ verbs: ['watch'], resources: ['endpointslices'] });
  assert.equal((await request(sim.url, 'GET', '/apis/discovery.k8s.io/v1/endpointslices', TOKEN)).status, 200);
  assert.equal((await request(sim.url, 'GET', '/apis/discovery.k8s.io/v1/endpointslices?watch=1', TOKEN)).status, 500);
  assert.equal((await request(sim.url, 'GET', '/api/v1/services?watch=1&timeoutSeconds=1', TOKEN)).status, 200);
  const viaAdmin = await request(sim.url, 'POST', '/_sim/faults/fail?status=503&count=1&resources=services', TOKEN);
  assert.deepEqual(viaAdmin.json.failRequests, { status: 503, remaining: 1, resources: ['services'] });
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', TOKEN)).status, 503);
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', TOKEN)).status, 200);
  await request(sim.url, 'POST', '/_sim/faults/fail', TOKEN);
  assert.equal((await request(sim.url, 'GET', '/_sim/state', TOKEN)).status, 200, 'the admin API is exempt');
  await request(sim.url, 'DELETE', '/_sim/faults/fail', TOKEN);
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', TOKEN)).status, 200);
});

test('slow lists delay lists only', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  await request(sim.url, 'POST', '/_sim/faults/slow-lists?ms=300', TOKEN);
  let started = Date.now();
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', TOKEN)).status, 200);
  assert.ok(Date.now() - started >= 290, 'list delayed');
  started = Date.now();
  await request(sim.url, 'GET', '/api/v1/namespaces/default', TOKEN);
  const watch = await openWatch(t, sim.url, '/api/v1/namespaces?watch=true', TOKEN);
  await watch.next();
  assert.ok(Date.now() - started < 250, 'get and watch are not');
  await request(sim.url, 'DELETE', '/_sim/faults/slow-lists', TOKEN);
  assert.equal(sim.faults.state().slowListsMs, 0);
});

test('expire history forces 410 on the next watch resume', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  const rv = sim.resourceVersion();
  const res = await request(sim.url, 'POST', '/_sim/faults/expire-history', TOKEN);
  assert.equal(res.json.resourceVersion, String(Number(rv) + 1));
  const watch = await openWatch(t, sim.url, `/api/v1/services?watch=true&resourceVersion=${rv}`, TOKEN);
  const error = await watch.next();
  assert.equal(error.type, 'ERROR');
  assert.equal(error.object.code, 410);
  assert.equal((await request(sim.url, 'POST', '/_sim/compact', TOKEN)).status, 200);
});

test('reject auth: valid credentials get 401 until cleared; the admin API still answers', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  await request(sim.url, 'POST', '/_sim/faults/reject-auth', TOKEN);
  const rejected = await request(sim.url, 'GET', '/api/v1/services', TOKEN);
  assert.equal(rejected.status, 401);
  assert.equal(rejected.json.reason, 'Unauthorized');
  assert.equal((await request(sim.url, 'GET', '/_sim/faults', TOKEN)).json.rejectAuth, true);
  await request(sim.url, 'DELETE', '/_sim/faults/reject-auth', TOKEN);
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', TOKEN)).status, 200);
  sim.faults.rejectAuth();
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', TOKEN)).status, 401);
  await request(sim.url, 'POST', '/_sim/faults/clear', TOKEN);
  assert.equal((await request(sim.url, 'GET', '/api/v1/services', TOKEN)).status, 200);
});

test('request log: method, path, query, status and RBAC attributes (incl. watch by field selector name)', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  await request(sim.url, 'GET', '/api/v1/services?limit=5', TOKEN);
  const cm = await openWatch(
    t,
    sim.url,
    '/api/v1/namespaces/kube-system/configmaps?watch=true&fieldSelector=metadata.name%3Dkube-dns',
    TOKEN,
  );
  await request(sim.url, 'POST', '/api/v1/namespaces/default/services', { ...TOKEN, body: service('a') });
  await request(sim.url, 'GET', '/api/v1/namespaces/default/services/a', TOKEN);
  await request(sim.url, 'DELETE', '/api/v1/namespaces/default/services/a', TOKEN);
  await request(sim.url, 'GET', '/version');
  const list = sim.requests.entries({ verb: 'list' });
  assert.equal(list.length, 1);
  assert.deepEqual(
    {
      method: list[0]!.method,
      path: list[0]!.path,
      query: list[0]!.query,
      status: list[0]!.status,
      resource: list[0]!.resource,
    },
    { method: 'GET', path: '/api/v1/services', query: { limit: '5' }, status: 200, resource: 'services' },
  );
  assert.equal(
    sim.requests.entries({ verb: 'watch' })[0]!.status,
    200,
    'a streaming watch has its status once headers are out',
  );
  assert.deepEqual(sim.requests.rbac(), [
    { verb: 'list', apiGroup: '', resource: 'services' },
    { verb: 'watch', apiGroup: '', resource: 'configmaps', namespace: 'kube-system', name: 'kube-dns' },
    { verb: 'create', apiGroup: '', resource: 'services', namespace: 'default' },
    { verb: 'get', apiGroup: '', resource: 'services', namespace: 'default', name: 'a' },
    { verb: 'delete', apiGroup: '', resource: 'services', namespace: 'default', name: 'a' },
    { verb: 'get', nonResourceURL: '/version' },
  ]);
  assert.equal(sim.requests.count({ resource: 'services' }), 4);
  const overHttp = await request(sim.url, 'GET', '/_sim/rbac', TOKEN);
  assert.equal(overHttp.json.rules.length, 6);
  const counted = await request(sim.url, 'GET', '/_sim/requests/count?verb=watch', TOKEN);
  assert.deepEqual(counted.json, { count: 1 });
  const state = await request(sim.url, 'GET', '/_sim/state', TOKEN);
  assert.equal(state.json.openWatches, 1);
  assert.equal(state.json.resourceVersion, sim.resourceVersion());
  assert.equal(
    (await request(sim.url, 'GET', '/_sim/watches', TOKEN)).json.watches[0].fieldSelector,
    'metadata.name=kube-dns',
  );
  await request(sim.url, 'DELETE', '/_sim/requests', TOKEN);
  assert.equal(sim.requests.count(), 0);
  cm.close();
});

test('the request log stays bounded while counts stay exact', async (t) => {
  const sim = await startSim(t, { requestLogSize: 5 });
  for (let i = 0; i < 23; i++) await request(sim.url, 'GET', i % 2 === 0 ? '/api/v1/services' : '/api/v1/pods');
  assert.equal(sim.requests.entries().length, 5);
  assert.equal(sim.requests.count(), 23);
  assert.equal(sim.requests.count({ resource: 'services' }), 12);
});
