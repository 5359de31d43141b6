import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitUntil } from '../helpers/index.js';
import { eventNames, openWatch, request, service, startSim } from './support.js';

test('watch stream framing: 200, chunked JSON, one event per line; synthetic ADDED then live events', async (t) => {
  const sim = await startSim(t);
  sim.objects.create(service('a'));
  sim.objects.create(service('b', 'other'));
  const watch = await openWatch(t, sim.url, '/api/v1/services?watch=true');
  assert.equal(watch.status, 200);
  assert.equal(watch.headers['content-type'], 'application/json');
  assert.equal(watch.headers['transfer-encoding'], 'chunked');
  const initial = await watch.take(2);
  assert.deepEqual(
    initial.map((e) => `${e.type} ${e.object.metadata.name}`),
    ['ADDED a', 'ADDED b'],
  );
  assert.equal(initial[0]!.object.kind, 'Service', 'watch objects carry kind and apiVersion');
  assert.equal(initial[0]!.object.apiVersion, 'v1');
  const c = sim.objects.create(service('c'));
  sim.objects.patch({ kind: 'Service', name: 'c' }, { metadata: { labels: { x: 'y' } } });
  sim.objects.delete({ kind: 'Service', name: 'c' });
  const live = await watch.take(3);
  assert.deepEqual(
    live.map((e) => e.type),
    ['ADDED', 'MODIFIED', 'DELETED'],
  );
  assert.equal(live[0]!.object.metadata.resourceVersion, c.metadata.resourceVersion);
  assert.equal(live[1]!.object.metadata.labels.x, 'y');
  assert.equal(live[2]!.object.metadata.resourceVersion, sim.resourceVersion(), 'DELETED carries the deletion version');
  for (const line of watch.lines) {
    assert.ok(!line.includes('\n'));
    assert.deepEqual(Object.keys(JSON.parse(line) as object), ['type', 'object']);
  }
  // Namespaced watches and other kinds see only theirs.
  const nsWatch = await openWatch(t, sim.url, '/api/v1/namespaces/other/services?watch=1');
  assert.equal((await nsWatch.next()).object.metadata.name, 'b');
  sim.objects.create(service('d'));
  sim.objects.create(service('e', 'other'));
  assert.equal((await nsWatch.next()).object.metadata.name, 'e');
  assert.equal((await watch.next()).object.metadata.name, 'd');
  assert.equal((await watch.next()).object.metadata.name, 'e');
});

test('watch from a resourceVersion replays only later events; rv=0 behaves like unset', async (t) => {
  const sim = await startSim(t);
  sim.objects.create(service('a'));
  const rv = sim.resourceVersion();
  sim.objects.create(service('b'));
  sim.objects.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: {} });
  sim.objects.delete({ kind: 'Service', name: 'a' });
  const resumed = await openWatch(t, sim.url, `/api/v1/services?watch=true&resourceVersion=${rv}`);
  assert.deepEqual(
    (await resumed.take(2)).map((e) => `${e.type} ${e.object.metadata.name}`),
    ['ADDED b', 'DELETED a'],
  );
  const fromZero = await openWatch(t, sim.url, '/api/v1/services?watch=true&resourceVersion=0');
  assert.deepEqual(
    (await fromZero.take(1)).map((e) => `${e.type} ${e.object.metadata.name}`),
    ['ADDED b'],
  );
  const current = await openWatch(t, sim.url, `/api/v1/services?watch=true&resourceVersion=${sim.resourceVersion()}`);
  sim.objects.create(service('z'));
  assert.equal((await current.next()).object.metadata.name, 'z');
  assert.deepEqual(current.pending(), []);
});

test('watch from a version older than the history: in-stream 410 Expired ERROR, then a clean end', async (t) => {
  const sim = await startSim(t, { historySize: 3 });
  sim.objects.create(service('a'));
  const old = sim.resourceVersion();
  for (let i = 0; i < 5; i++) sim.objects.create(service(`s${i}`));
  const watch = await openWatch(t, sim.url, `/api/v1/services?watch=true&resourceVersion=${old}`);
  assert.equal(watch.status, 200, 'the real server answers 200 and reports 410 inside the stream');
  const event = await watch.next();
  assert.equal(event.type, 'ERROR');
  assert.equal(event.object.kind, 'Status');
  assert.equal(event.object.code, 410);
  assert.equal(event.object.reason, 'Expired');
  assert.match(String(event.object.message), /^too old resource version: \d+ \(\d+\)$/);
  assert.equal(await watch.ended, 'end');
  // compact() makes every version handed out before it too old.
  const rv = sim.resourceVersion();
  sim.compact();
  const after = await openWatch(t, sim.url, `/api/v1/services?watch=true&resourceVersion=${rv}`);
  assert.equal((await after.next()).object.code, 410);
});

test('bookmarks: only with allowWatchBookmarks, periodic, carrying the current version', async (t) => {
  const sim = await startSim(t, { bookmarkIntervalMs: 100 });
  sim.objects.create(service('a'));
  const plain = await openWatch(t, sim.url, `/api/v1/services?watch=true&resourceVersion=${sim.resourceVersion()}`);
  const watch = await openWatch(
    t,
    sim.url,
    `/api/v1/services?watch=true&resourceVersion=${sim.resourceVersion()}&allowWatchBookmarks=true`,
  );
  // Writes to other kinds move the version; the bookmark tells the watcher it has seen them.
  sim.objects.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } });
  const bookmark = await watch.next(2000);
  assert.equal(bookmark.type, 'BOOKMARK');
  assert.deepEqual(bookmark.object, {
    kind: 'Service',
    apiVersion: 'v1',
    metadata: { resourceVersion: sim.resourceVersion(), creationTimestamp: null },
  });
  assert.equal((await watch.next(2000)).type, 'BOOKMARK', 'periodic');
  assert.deepEqual(plain.pending(), [], 'no bookmarks unless asked for');
});

test('sendInitialEvents: the state, then a BOOKMARK annotated initial-events-end', async (t) => {
  const sim = await startSim(t);
  sim.objects.create(service('a'));
  const watch = await openWatch(
    t,
    sim.url,
    '/api/v1/services?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=',
  );
  const [added, bookmark] = await watch.take(2);
  assert.equal(added!.type, 'ADDED');
  assert.equal(bookmark!.type, 'BOOKMARK');
  assert.equal(bookmark!.object.metadata.annotations['k8s.io/initial-events-end'], 'true');
  const invalid = await request(sim.url, 'GET', '/api/v1/services?watch=true&sendInitialEvents=true');
  assert.equal(invalid.status, 422);
});

test('timeouts: timeoutSeconds and the server default end the stream cleanly (bookmark first when allowed)', async (t) => {
  const sim = await startSim(t, { watchTimeoutMs: { min: 150, max: 250 } });
  const started = Date.now();
  const byDefault = await openWatch(
    t,
    sim.url,
    `/api/v1/services?watch=true&resourceVersion=${sim.resourceVersion()}&allowWatchBookmarks=true`,
  );
  assert.equal(await byDefault.ended, 'end');
  const took = Date.now() - started;
  assert.ok(took >= 140 && took < 2000, `ended after ${took} ms`);
  assert.equal(byDefault.pending().at(-1)?.type, 'BOOKMARK', 'a last bookmark before the timeout end');
  const sim2 = await startSim(t);
  const t0 = Date.now();
  const own = await openWatch(
    t,
    sim2.url,
    `/api/v1/services?watch=true&resourceVersion=${sim2.resourceVersion()}&timeoutSeconds=1`,
  );
  assert.equal(await own.ended, 'end');
  assert.ok(Date.now() - t0 >= 950);
  assert.equal(sim2.openWatches().length, 0);
});

test('watch with selectors: objects entering the selection arrive as ADDED, leaving as DELETED', async (t) => {
  const sim = await startSim(t);
  sim.objects.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'kube-dns', namespace: 'kube-system' },
    data: { a: '1' },
  });
  sim.objects.create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'other', namespace: 'kube-system' },
    data: {},
  });
  const one = await openWatch(
    t,
    sim.url,
    '/api/v1/namespaces/kube-system/configmaps?watch=true&fieldSelector=metadata.name%3Dkube-dns',
  );
  assert.deepEqual(eventNames(await one.take(1)), ['ADDED kube-dns']);
  sim.objects.patch({ kind: 'ConfigMap', namespace: 'kube-system', name: 'other' }, { data: { b: '2' } });
  sim.objects.patch({ kind: 'ConfigMap', namespace: 'kube-system', name: 'kube-dns' }, { data: { a: '2' } });
  const modified = await one.next();
  assert.equal(modified.type, 'MODIFIED');
  assert.equal(modified.object.data.a, '2');
  const labelled = await openWatch(
    t,
    sim.url,
    `/api/v1/services?watch=true&labelSelector=app%3Dweb&resourceVersion=${sim.resourceVersion()}`,
  );
  sim.objects.create(service('s'));
  sim.objects.patch({ kind: 'Service', name: 's' }, { metadata: { labels: { app: 'web' } } });
  sim.objects.patch({ kind: 'Service', name: 's' }, { metadata: { labels: { app: 'api' } } });
  const [entered, left] = await labelled.take(2);
  assert.equal(entered!.type, 'ADDED');
  assert.equal(left!.type, 'DELETED');
  assert.equal(left!.object.metadata.labels.app, 'web', 'the last state that matched');
  assert.equal(left!.object.metadata.resourceVersion, sim.resourceVersion(), 'at the version that made it leave');
  assert.deepEqual(labelled.pending(), []);
});

test('open watches are observable; waitForWatch resolves when one opens', async (t) => {
  const sim = await startSim(t);
  const waiting = sim.waitForWatch({ resource: 'endpointslices' });
  await openWatch(
    t,
    sim.url,
    '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?watch=true&labelSelector=a%3Db',
  );
  const info = await waiting;
  assert.equal(info.namespace, 'default');
  assert.equal(info.labelSelector, 'a=b');
  assert.equal(sim.openWatches().length, 1);
  await assert.rejects(sim.waitForWatch({ resource: 'pods' }, 50), /no matching watch/);
  sim.faults.endWatches();
  await waitUntil('watch closed', () => sim.openWatches().length === 0);
});

test('legacy /watch/ paths and a watch on one object path', async (t) => {
  const sim = await startSim(t);
  sim.objects.create(service('a'));
  sim.objects.create(service('b'));
  const legacy = await openWatch(t, sim.url, '/api/v1/watch/namespaces/default/services');
  assert.equal((await legacy.take(2)).length, 2);
  const single = await openWatch(t, sim.url, '/api/v1/namespaces/default/services/b?watch=true');
  assert.deepEqual(eventNames(await single.take(1)), ['ADDED b']);
  sim.objects.patch({ kind: 'Service', name: 'a' }, { metadata: { labels: { x: '1' } } });
  sim.objects.patch({ kind: 'Service', name: 'b' }, { metadata: { labels: { x: '1' } } });
  assert.equal((await single.next()).object.metadata.name, 'b');
});

test('churn: 100 changes/s to a handful of watchers stays in order and complete', async (t) => {
  const sim = await startSim(t);
  const watchers = await Promise.all(
    Array.from({ length: 4 }, () =>
      openWatch(t, sim.url, `/api/v1/services?watch=true&resourceVersion=${sim.resourceVersion()}`),
    ),
  );
  for (let i = 0; i < 300; i++) {
    const name = `s${i - (i % 3)}`; // created, updated, deleted
    if (i % 3 === 2) sim.objects.delete({ kind: 'Service', name });
    else sim.objects.apply(service(name, 'default', { metadata: { labels: { i: String(i) } } }));
    if (i % 20 === 19) await new Promise((resolve) => setImmediate(resolve));
  }
  for (const watcher of watchers) {
    const events = await watcher.take(300);
    const versions = events.map((e) => Number(e.object.metadata.resourceVersion));
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
    );
    assert.equal(new Set(versions).size, 300);
  }
});
