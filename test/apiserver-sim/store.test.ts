import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, resourceByName, type KubeObject } from '@kube-dns/apiserver-sim';
import { EventHistory } from '@kube-dns/apiserver-sim/event-history';
import { ObjectStore } from '@kube-dns/apiserver-sim/object-store';
import { applyJsonPatch, applyMergePatch } from '@kube-dns/apiserver-sim/patch';
import type { StoredObject } from '@kube-dns/apiserver-sim/stored-object';
import { matchesLabels, parseFieldSelector, parseLabelSelector } from '@kube-dns/apiserver-sim/selectors';

const services = resourceByName('services')!;
const namespaces = resourceByName('namespaces')!;
const slices = resourceByName('EndpointSlice')!;
const pods = resourceByName('pod')!;

function newStore(historySize = 1000): ObjectStore {
  return new ObjectStore({
    historySize,
    autoCreateNamespaces: true,
    serviceCidrs: ['10.96.0.0/12'],
    now: () => new Date('2024-05-01T10:00:00.123Z'),
  });
}

interface ServiceSpecJson {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ipFamilies?: string[];
  ports: { targetPort?: number }[];
}

/** The spec of a stored Service, typed for reading. */
function specOf(stored: StoredObject): ServiceSpecJson {
  return stored.object['spec'] as ServiceSpecJson;
}

function svc(name: string, namespace = 'default', spec: Record<string, unknown> = {}): KubeObject {
  return { metadata: { name, namespace }, spec: { ports: [{ port: 53, protocol: 'UDP' }], ...spec } };
}

function code(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return 0;
}

test('every write takes the next global resourceVersion; objects get uid, creationTimestamp, generation', () => {
  const store = newStore();
  const a = store.create(services, svc('a'));
  assert.equal(a.rv, 2, 'the auto-created namespace took version 1');
  assert.equal(store.get(namespaces, '', 'default')?.rv, 1);
  const b = store.create(slices, { metadata: { name: 's', namespace: 'default' }, addressType: 'IPv4', endpoints: [] });
  assert.equal(b.rv, 3);
  assert.match(a.object.metadata.uid!, /^[0-9a-f-]{36}$/);
  assert.equal(a.object.metadata.creationTimestamp, '2024-05-01T10:00:00Z');
  assert.equal(a.object.metadata.resourceVersion, '2');
  assert.equal(a.object.metadata.generation, undefined, 'Services carry no generation');
  assert.equal(b.object.metadata.generation, 1, 'EndpointSlices start at generation 1');
  const changed = store.update(slices, { ...b.object, endpoints: [{ addresses: ['10.0.0.1'] }] });
  assert.equal(changed.object.metadata.generation, 2);
  const relabelled = store.update(slices, {
    ...changed.object,
    metadata: { ...changed.object.metadata, labels: { a: 'b' } },
  });
  assert.equal(relabelled.object.metadata.generation, 2, 'metadata changes do not bump generation');
  assert.equal(relabelled.object.metadata.uid, b.object.metadata.uid);
  assert.equal(store.resourceVersion, 5);
});

test('an update that changes nothing writes nothing', () => {
  const store = newStore();
  const a = store.create(services, svc('a'));
  const same = store.update(services, { ...a.object, metadata: { name: 'a', namespace: 'default' } });
  assert.equal(same, a);
  assert.equal(store.resourceVersion, a.rv);
});

test('update with a stale resourceVersion is a 409 Conflict; without one it is unconditional', () => {
  const store = newStore();
  const a = store.create(services, svc('a'));
  store.update(services, { ...a.object, metadata: { ...a.object.metadata, labels: { v: '1' } } });
  assert.equal(
    code(() => store.update(services, { ...a.object, metadata: { ...a.object.metadata, labels: { v: '2' } } })),
    409,
  );
  const { resourceVersion: _rv, ...meta } = a.object.metadata;
  assert.equal(
    store.update(services, { ...a.object, metadata: { ...meta, labels: { v: '3' } } }).object.metadata.labels?.['v'],
    '3',
  );
  assert.equal(
    code(() => store.create(services, svc('a'))),
    409,
    'AlreadyExists',
  );
  assert.equal(
    code(() => store.update(services, svc('missing'))),
    404,
  );
  assert.equal(
    code(() => store.create(services, svc('Bad_Name'))),
    422,
  );
  assert.equal(
    code(() => store.create(services, svc('1abc'))),
    422,
    'service names are DNS-1035 labels',
  );
});

test('services get cluster IPs from the dynamic band, kept across updates, released on delete', () => {
  const store = newStore();
  const a = store.create(services, svc('a'));
  const spec = specOf(a);
  assert.equal(spec.clusterIP, '10.96.1.1');
  assert.deepEqual(spec.clusterIPs, ['10.96.1.1']);
  assert.deepEqual(spec.ipFamilies, ['IPv4']);
  assert.equal(spec.type, 'ClusterIP');
  assert.equal(spec.ports[0]!.targetPort, 53);
  const fixed = store.create(services, svc('dns', 'kube-system', { clusterIP: '10.96.0.10' }));
  assert.equal(specOf(fixed).clusterIP, '10.96.0.10');
  const headless = store.create(services, svc('h', 'default', { clusterIP: 'None' }));
  assert.deepEqual(specOf(headless).clusterIPs, ['None']);
  const ext = store.create(services, {
    metadata: { name: 'e', namespace: 'default' },
    spec: { type: 'ExternalName', externalName: 'example.org' },
  });
  assert.equal(specOf(ext).clusterIP, undefined);
  // An update that leaves clusterIP out keeps it; one that changes it is refused.
  const updated = store.update(services, {
    metadata: { name: 'a', namespace: 'default' },
    spec: { ports: [{ port: 54 }] },
  });
  assert.equal(specOf(updated).clusterIP, '10.96.1.1');
  assert.equal(
    code(() => store.update(services, svc('a', 'default', { clusterIP: '10.96.5.5' }))),
    422,
  );
  store.delete(services, 'default', 'a');
  const b = store.create(services, svc('b'));
  assert.equal(specOf(b).clusterIP, '10.96.1.2', 'allocation moves on (like the real allocator, no immediate reuse)');
});

test('dual-stack services get one IP per configured family', () => {
  const store = new ObjectStore({
    historySize: 10,
    autoCreateNamespaces: true,
    serviceCidrs: ['10.96.0.0/16', 'fd00:10:96::/112'],
    now: () => new Date(),
  });
  const dual = store.create(services, svc('d', 'default', { ipFamilyPolicy: 'PreferDualStack' }));
  const spec = specOf(dual);
  assert.deepEqual(spec.ipFamilies, ['IPv4', 'IPv6']);
  assert.equal(spec.clusterIPs!.length, 2);
  assert.match(spec.clusterIPs![1]!, /^fd00:10:96::/);
  const v6 = store.create(services, svc('six', 'default', { ipFamilies: ['IPv6'] }));
  assert.deepEqual(specOf(v6).ipFamilies, ['IPv6']);
});

test('deleting a namespace marks it Terminating, deletes its objects, then itself', () => {
  const store = newStore();
  store.create(services, svc('a', 'doomed'));
  store.create(pods, { metadata: { name: 'p', namespace: 'doomed' }, spec: {} });
  store.create(services, svc('keep', 'default'));
  const start = store.resourceVersion;
  const gone = store.delete(namespaces, '', 'doomed');
  const events = store.eventsSince(start).map((e) => `${e.type} ${e.resource.resource} ${e.object.key}`);
  assert.deepEqual(events, [
    'MODIFIED namespaces doomed',
    'DELETED services doomed/a',
    'DELETED pods doomed/p',
    'DELETED namespaces doomed',
  ]);
  assert.equal((gone.object['status'] as { phase: string }).phase, 'Terminating');
  assert.equal(store.list(services).items.length, 1);
  assert.equal(store.get(namespaces, '', 'doomed'), undefined);
});

test('strict namespaces: creating into a missing namespace is 404', () => {
  const store = new ObjectStore({
    historySize: 10,
    autoCreateNamespaces: false,
    serviceCidrs: ['10.96.0.0/12'],
    now: () => new Date(),
  });
  assert.equal(
    code(() => store.create(services, svc('a', 'nowhere'))),
    404,
  );
});

test('history: bounded, 410 beyond it, compaction makes every earlier version too old', () => {
  const store = newStore(3);
  for (let i = 0; i < 5; i++) store.create(services, svc(`s${i}`)); // versions 1 (namespace) .. 6
  assert.equal(store.compactedResourceVersion, 3);
  assert.deepEqual(
    store.eventsSince(3).map((e) => e.rv),
    [4, 5, 6],
  );
  assert.equal(
    code(() => store.eventsSince(2)),
    410,
  );
  const rv = store.compact();
  assert.equal(rv, 7);
  assert.equal(
    code(() => store.eventsSince(6)),
    410,
  );
  assert.deepEqual(store.eventsSince(7), []);
});

test('listAt undoes newer events to serve an older version', () => {
  const store = newStore();
  const a = store.create(services, svc('a'));
  store.create(services, svc('b'));
  const at = store.resourceVersion;
  store.update(services, { ...a.object, metadata: { ...a.object.metadata, labels: { changed: 'yes' } } });
  store.delete(services, 'default', 'b');
  store.create(services, svc('c'));
  const then = store.listAt(services, at);
  assert.deepEqual(
    then.items.map((s) => `${s.name}@${s.rv}`),
    [`a@${a.rv}`, `b@${a.rv + 1}`],
  );
  assert.deepEqual(
    store.list(services).items.map((s) => s.name),
    ['a', 'c'],
  );
});

test('EventHistory ring keeps order across wrap-around', () => {
  const history = new EventHistory(4);
  for (let rv = 1; rv <= 10; rv++) history.push({ rv } as never);
  assert.equal(history.compactedRv, 6);
  assert.deepEqual(
    history.since(6).map((e) => e.rv),
    [7, 8, 9, 10],
  );
  assert.deepEqual(
    history.since(8).map((e) => e.rv),
    [9, 10],
  );
  assert.equal(history.covers(5), false);
});

test('label selectors: equality, sets, existence, comparisons', () => {
  const labels = { app: 'web', tier: 'front', n: '5' };
  const cases: [string, boolean][] = [
    ['app=web', true],
    ['app==web', true],
    ['app!=web', false],
    ['app in (web, api)', true],
    ['app notin (web)', false],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['missing', false],
    ['app=web,tier in (front,back)', true],
    ['app=web,tier=back', false],
    ['n>4', true],
    ['n<5', false],
    ['', true],
  ];
  for (const [selector, expected] of cases) {
    assert.equal(matchesLabels(parseLabelSelector(selector), labels), expected, selector);
  }
  assert.throws(() => parseLabelSelector('app in (x'), ApiError);
});

test('field selectors: only supported fields, 400 otherwise', () => {
  assert.deepEqual(parseFieldSelector('metadata.name=kube-dns', resourceByName('configmaps')!), [
    { field: 'metadata.name', value: 'kube-dns', negate: false },
  ]);
  assert.equal(parseFieldSelector('spec.type!=ExternalName', services)[0]!.negate, true);
  assert.throws(() => parseFieldSelector('spec.nodeName=x', services), /field label not supported/);
});

test('merge patch (RFC 7386) and JSON patch (RFC 6902)', () => {
  assert.deepEqual(applyMergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 }, f: [1] }), {
    a: 1,
    b: { d: 3, e: 4 },
    f: [1],
  });
  const doc = { metadata: { labels: { a: '1' } }, list: [1, 2] };
  assert.deepEqual(
    applyJsonPatch(doc, [
      { op: 'add', path: '/metadata/labels/b', value: '2' },
      { op: 'remove', path: '/metadata/labels/a' },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'replace', path: '/list/0', value: 0 },
      { op: 'test', path: '/list/1', value: 2 },
    ]),
    { metadata: { labels: { b: '2' } }, list: [0, 2, 3] },
  );
  assert.deepEqual(doc.list, [1, 2], 'the input is not modified');
  assert.throws(
    () => applyJsonPatch(doc, [{ op: 'test', path: '/list/0', value: 9 }]),
    (e: ApiError) => e.code === 422,
  );
  assert.throws(
    () => applyJsonPatch(doc, [{ op: 'replace', path: '/nope/x', value: 1 }]),
    (e: ApiError) => e.code === 422,
  );
});
