import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { KubeObject } from '@kube-dns/apiserver-sim';
import { kubeClients, names, openWatch, request, service, startSim } from './support.js';

test('POST creates (201) with uid, creationTimestamp, resourceVersion and defaults; duplicates are 409', async (t) => {
  const sim = await startSim(t);
  const created = await request(sim.url, 'POST', '/api/v1/namespaces/default/services', { body: service('web') });
  assert.equal(created.status, 201);
  assert.equal(created.json.kind, 'Service');
  assert.match(String(created.json.metadata.uid), /^[0-9a-f-]{36}$/);
  assert.match(String(created.json.metadata.creationTimestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(created.json.metadata.resourceVersion, sim.resourceVersion());
  assert.equal(created.json.spec.type, 'ClusterIP');
  assert.match(String(created.json.spec.clusterIP), /^10\.96\./);
  assert.deepEqual(created.json.status, { loadBalancer: {} });
  const again = await request(sim.url, 'POST', '/api/v1/namespaces/default/services', { body: service('web') });
  assert.equal(again.status, 409);
  assert.equal(again.json.reason, 'AlreadyExists');
  assert.equal(again.json.message, 'services "web" already exists');
  const generated = await request(sim.url, 'POST', '/api/v1/namespaces/default/configmaps', {
    body: { metadata: { generateName: 'cfg-' }, data: { a: 'b' } },
  });
  assert.match(String(generated.json.metadata.name), /^cfg-[a-z0-9]{5}$/);
  const mismatch = await request(sim.url, 'POST', '/api/v1/namespaces/default/services', {
    body: service('x', 'other'),
  });
  assert.equal(mismatch.status, 400);
  const invalid = await request(sim.url, 'POST', '/api/v1/namespaces/default/services', { body: service('Not_Valid') });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.json.reason, 'Invalid');
  const yaml = await request(sim.url, 'POST', '/api/v1/namespaces/default/configmaps', {
    body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n',
    contentType: 'application/yaml',
  });
  assert.equal(yaml.status, 201);
  assert.equal(yaml.json.data.k, 'v');
  const pod = await request(sim.url, 'POST', '/api/v1/namespaces/default/pods', {
    body: { metadata: { name: 'p' }, spec: { containers: [] }, status: { podIP: '10.1.1.1', phase: 'Running' } },
  });
  assert.deepEqual(
    pod.json.status,
    { phase: 'Pending', qosClass: 'BestEffort' },
    'status is reset on create, as the real server does',
  );
  assert.equal(pod.json.metadata.generation, 1);
  const slice = await request(sim.url, 'POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
    body: { metadata: { name: 'noaddr' }, endpoints: [] },
  });
  assert.equal(slice.status, 422, 'addressType is required');
});

test('PUT replaces with optimistic concurrency; status is its own subresource', async (t) => {
  const sim = await startSim(t);
  const created = (
    await request(sim.url, 'POST', '/api/v1/namespaces/default/pods', { body: { metadata: { name: 'p' }, spec: {} } })
  ).json;
  const path = '/api/v1/namespaces/default/pods/p';
  const updated = await request(sim.url, 'PUT', path, {
    body: { ...created, metadata: { ...created.metadata, labels: { a: 'b' } }, status: { podIP: '10.0.0.9' } },
  });
  assert.equal(updated.status, 200);
  assert.equal(updated.json.metadata.labels.a, 'b');
  assert.equal(updated.json.status.podIP, undefined, 'PUT of the main resource keeps the old status');
  assert.equal(Number(updated.json.metadata.resourceVersion), Number(created.metadata.resourceVersion) + 1);
  const stale = await request(sim.url, 'PUT', path, { body: created });
  assert.equal(stale.status, 409);
  assert.equal(stale.json.reason, 'Conflict');
  assert.match(String(stale.json.message), /the object has been modified/);
  const status = await request(sim.url, 'PUT', `${path}/status`, {
    body: {
      ...updated.json,
      metadata: { ...updated.json.metadata, labels: { ignored: 'yes' } },
      status: { phase: 'Running', podIP: '10.0.0.9' },
    },
  });
  assert.equal(status.status, 200);
  assert.equal(status.json.status.podIP, '10.0.0.9');
  assert.deepEqual(status.json.metadata.labels, { a: 'b' }, 'a status update changes only status');
  const wrongName = await request(sim.url, 'PUT', path, { body: { metadata: { name: 'q' }, spec: {} } });
  assert.equal(wrongName.status, 400);
  const missing = await request(sim.url, 'PUT', '/api/v1/namespaces/default/services/none', { body: service('none') });
  assert.equal(missing.status, 404);
  const endpoints = await request(sim.url, 'PUT', '/api/v1/namespaces/default/endpoints/ep', {
    body: { metadata: { name: 'ep' }, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80 }] }] },
  });
  assert.equal(endpoints.status, 201, 'Endpoints are created on update, as the real server allows');
  assert.equal(endpoints.json.subsets[0].ports[0].protocol, 'TCP');
});

test('PATCH: merge, strategic (as merge), JSON patch, apply; resourceVersion in a patch is a precondition', async (t) => {
  const sim = await startSim(t);
  const created = sim.objects.create(service('web')) as { spec: { clusterIP: string } } & KubeObject;
  const path = '/api/v1/namespaces/default/services/web';
  const merge = await request(sim.url, 'PATCH', path, {
    body: { metadata: { labels: { a: '1' } } },
    contentType: 'application/merge-patch+json',
  });
  assert.equal(merge.status, 200);
  assert.equal(merge.json.metadata.labels.a, '1');
  assert.equal(merge.json.spec.clusterIP, created.spec.clusterIP);
  const strategic = await request(sim.url, 'PATCH', path, {
    body: { metadata: { labels: { b: '2' } } },
    contentType: 'application/strategic-merge-patch+json',
  });
  assert.deepEqual(strategic.json.metadata.labels, { a: '1', b: '2' });
  const json = await request(sim.url, 'PATCH', path, {
    body: [{ op: 'remove', path: '/metadata/labels/a' }],
    contentType: 'application/json-patch+json',
  });
  assert.deepEqual(json.json.metadata.labels, { b: '2' });
  const conflict = await request(sim.url, 'PATCH', path, {
    body: { metadata: { resourceVersion: created.metadata.resourceVersion, labels: { c: '3' } } },
    contentType: 'application/merge-patch+json',
  });
  assert.equal(conflict.status, 409);
  const unsupported = await request(sim.url, 'PATCH', path, { body: {}, contentType: 'application/json' });
  assert.equal(unsupported.status, 415);
  const applyPath = '/api/v1/namespaces/default/configmaps/applied?fieldManager=test';
  const applied = await request(sim.url, 'PATCH', applyPath, {
    body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n',
    contentType: 'application/apply-patch+yaml',
  });
  assert.equal(applied.status, 200);
  assert.equal(applied.json.data.k, 'v');
  const noManager = await request(sim.url, 'PATCH', '/api/v1/namespaces/default/configmaps/applied', {
    body: 'data: {}',
    contentType: 'application/apply-patch+yaml',
  });
  assert.equal(noManager.status, 400);
  const missing = await request(sim.url, 'PATCH', '/api/v1/namespaces/default/services/none', {
    body: {},
    contentType: 'application/merge-patch+json',
  });
  assert.equal(missing.status, 404);
});

test('DELETE returns the last state; preconditions; deletecollection by selector', async (t) => {
  const sim = await startSim(t);
  const a = sim.objects.create(service('a', 'default', { metadata: { labels: { group: 'x' } } }));
  sim.objects.create(service('b', 'default', { metadata: { labels: { group: 'x' } } }));
  sim.objects.create(service('c'));
  const wrongUid = await request(sim.url, 'DELETE', '/api/v1/namespaces/default/services/a', {
    body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'nope' } },
  });
  assert.equal(wrongUid.status, 409);
  const deleted = await request(sim.url, 'DELETE', '/api/v1/namespaces/default/services/a', {
    body: { preconditions: { uid: a.metadata.uid } },
  });
  assert.equal(deleted.status, 200);
  assert.equal(deleted.json.metadata.name, 'a');
  assert.equal(deleted.json.metadata.resourceVersion, sim.resourceVersion());
  assert.equal((await request(sim.url, 'DELETE', '/api/v1/namespaces/default/services/a')).status, 404);
  const collection = await request(sim.url, 'DELETE', '/api/v1/namespaces/default/services?labelSelector=group%3Dx');
  assert.equal(collection.status, 200);
  assert.deepEqual(names(collection.json), ['b']);
  assert.deepEqual(
    sim.objects.list('services').map((s) => s.metadata.name),
    ['c'],
  );
});

test('deleting a namespace over HTTP cascades, and watchers see every deletion', async (t) => {
  const sim = await startSim(t);
  sim.objects.create(service('a', 'team'));
  sim.objects.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'team' } });
  const services = await openWatch(t, sim.url, `/api/v1/services?watch=true&resourceVersion=${sim.resourceVersion()}`);
  const namespaces = await openWatch(
    t,
    sim.url,
    `/api/v1/namespaces?watch=true&resourceVersion=${sim.resourceVersion()}`,
  );
  const res = await request(sim.url, 'DELETE', '/api/v1/namespaces/team');
  assert.equal(res.status, 200);
  assert.equal(res.json.status.phase, 'Terminating');
  assert.ok(res.json.metadata.deletionTimestamp);
  const gone = await services.next();
  assert.equal(gone.type, 'DELETED');
  assert.equal(gone.object.metadata.name, 'a');
  assert.deepEqual(
    (await namespaces.take(2)).map((e) => `${e.type} ${e.object.status.phase}`),
    ['MODIFIED Terminating', 'DELETED Terminating'],
  );
  assert.equal(sim.objects.count('configmaps'), 0);
  assert.equal((await request(sim.url, 'GET', '/api/v1/namespaces/team')).status, 404);
});

test('the real client library creates, replaces, patches and deletes', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  const { core, discovery } = kubeClients(sim, { token: 'tok' });
  const created = await core.createNamespacedService({
    namespace: 'default',
    body: { metadata: { name: 'lib' }, spec: { ports: [{ port: 80 }] } },
  });
  assert.equal(created.metadata?.name, 'lib');
  assert.ok(created.spec?.clusterIP);
  created.metadata.labels = { via: 'replace' };
  const replaced = await core.replaceNamespacedService({ name: 'lib', namespace: 'default', body: created });
  assert.equal(replaced.metadata?.labels?.['via'], 'replace');
  await assert.rejects(
    core.replaceNamespacedService({ name: 'lib', namespace: 'default', body: created }),
    (error: { code?: number }) => error.code === 409,
  );
  const patched = await core.patchNamespacedService(
    { name: 'lib', namespace: 'default', body: { metadata: { labels: { via: 'patch' } } } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
  assert.equal(patched.metadata?.labels?.['via'], 'patch');
  const jsonPatched = await core.patchNamespacedService({
    name: 'lib',
    namespace: 'default',
    body: [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }],
  });
  assert.equal(jsonPatched.metadata?.annotations?.['a'], 'b');
  const slice = await discovery.createNamespacedEndpointSlice({
    namespace: 'default',
    body: {
      metadata: { name: 'lib-1', labels: { 'kubernetes.io/service-name': 'lib' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.2.0.1'] }],
    },
  });
  assert.equal(slice.metadata?.generation, 1);
  await core.deleteNamespacedService({ name: 'lib', namespace: 'default' });
  await assert.rejects(
    core.readNamespacedService({ name: 'lib', namespace: 'default' }),
    (error: { code?: number }) => error.code === 404,
  );
  const verbs = sim.requests.rbac().map((r) => `${r.verb} ${r.resource ?? r.nonResourceURL}`);
  for (const expected of [
    'create services',
    'update services',
    'patch services',
    'delete services',
    'get services',
    'create endpointslices',
  ]) {
    assert.ok(verbs.includes(expected), `${expected} in ${verbs.join(', ')}`);
  }
});
