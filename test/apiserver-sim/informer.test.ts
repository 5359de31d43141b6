import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import type { ApiServerHandle } from '@kube-dns/apiserver-sim';
import { waitUntil } from '../helpers/index.js';
import { kubeClients, service, startSim } from './support.js';

/** What the library's errors carry: a Node/HTTP code, the watch's statusCode, an AbortError name. */
interface ClientError {
  code?: number | string;
  statusCode?: number;
  name?: string;
  message?: string;
}

/** The real @kubernetes/client-node 1.4.0 informer on Services, with every event recorded in order. */
interface Tracked {
  informer: k8s.ListWatch<k8s.V1Service>;
  events: string[];
  errors: ClientError[];
  names(): string[];
}

function track(t: TestContext, sim: ApiServerHandle, wrapWatch?: (watch: k8s.Watch) => k8s.Watch): Tracked {
  const { kc, core } = kubeClients(sim, { token: 'tok' });
  const list = (): Promise<k8s.V1ServiceList> => core.listServiceForAllNamespaces();
  const informer =
    wrapWatch === undefined
      ? // makeInformer builds a ListWatch; its declared type hides latestResourceVersion().
        (k8s.makeInformer(kc, '/api/v1/services', list) as k8s.ListWatch<k8s.V1Service>)
      : new k8s.ListWatch('/api/v1/services', wrapWatch(new k8s.Watch(kc)), list, false);
  const events: string[] = [];
  const errors: ClientError[] = [];
  informer.on('connect', () => events.push('connect'));
  informer.on('add', (s) => events.push(`add ${s.metadata!.name!}`));
  informer.on('update', (s) => events.push(`update ${s.metadata!.name!}`));
  informer.on('delete', (s) => events.push(`delete ${s.metadata!.name!}`));
  informer.on('error', (error: unknown) => {
    const e = error as ClientError;
    errors.push(e);
    events.push(`error ${e?.code ?? e?.statusCode ?? e?.name ?? ''}`);
  });
  t.after(() => informer.stop());
  return {
    informer,
    events,
    errors,
    names: () =>
      informer
        .list()
        .map((s) => s.metadata!.name!)
        .sort(),
  };
}

async function startSynced(
  t: TestContext,
  sim: ApiServerHandle,
  wrapWatch?: (watch: k8s.Watch) => k8s.Watch,
): Promise<Tracked> {
  const tracked = track(t, sim, wrapWatch);
  await tracked.informer.start();
  await sim.waitForWatch({ resource: 'services' });
  return tracked;
}

const counts = (sim: ApiServerHandle): { list: number; watch: number } => ({
  list: sim.requests.count({ resource: 'services', verb: 'list' }),
  watch: sim.requests.count({ resource: 'services', verb: 'watch' }),
});

/** A negative check: nothing more happens for a while (the informer stays stopped). */
const QUIET_MS = 300;

test('list without parameters, then a watch with only resourceVersion; add/update/delete flow through', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  sim.objects.create(service('a'));
  const tracked = await startSynced(t, sim);
  const [list] = sim.requests.entries({ resource: 'services', verb: 'list' });
  assert.deepEqual(list!.query, {});
  const [watch] = sim.requests.entries({ resource: 'services', verb: 'watch' });
  assert.deepEqual(watch!.query, { watch: 'true', resourceVersion: sim.resourceVersion() });
  sim.objects.create(service('b'));
  sim.objects.patch({ kind: 'Service', name: 'a' }, { metadata: { labels: { x: '1' } } });
  sim.objects.delete({ kind: 'Service', name: 'b' });
  await waitUntil('events', () => tracked.events.includes('delete b'));
  assert.deepEqual(tracked.events, ['connect', 'add a', 'add b', 'update a', 'delete b']);
  assert.equal(tracked.informer.latestResourceVersion(), sim.resourceVersion());
});

test('a clean watch end (server timeout): connect, resume from the last version, no re-list', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'], watchTimeoutMs: 200 });
  sim.objects.create(service('a'));
  const tracked = await startSynced(t, sim);
  await waitUntil('three watches', () => counts(sim).watch >= 3, { timeoutMs: 3000 });
  assert.equal(counts(sim).list, 1);
  sim.objects.create(service('b'));
  await waitUntil('b', () => tracked.events.includes('add b'));
  sim.faults.endWatches();
  await waitUntil('another watch', () => counts(sim).watch >= 4);
  const last = sim.requests.entries({ resource: 'services', verb: 'watch' }).at(-1)!;
  assert.equal(last.query['resourceVersion'], sim.resourceVersion());
  assert.equal(counts(sim).list, 1);
  assert.deepEqual(tracked.errors, []);
  assert.ok(tracked.events.filter((e) => e === 'connect').length >= 4);
});

test('an in-stream 410 Expired: the informer re-lists by itself (no error), deletions during the gap arrive', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  sim.objects.create(service('a'));
  sim.objects.create(service('b'));
  const tracked = await startSynced(t, sim);
  // Cut the watch (the informer stops), change things, expire the history, restart it: the resume gets 410.
  sim.faults.dropWatches();
  await waitUntil('error', () => tracked.errors.length === 1);
  sim.objects.delete({ kind: 'Service', name: 'a' });
  sim.objects.create(service('c'));
  sim.faults.expireHistory();
  await tracked.informer.start();
  await waitUntil('re-listed', () => counts(sim).list === 2);
  await waitUntil('state converged', () => tracked.names().join() === 'b,c');
  assert.equal(tracked.errors.length, 1, 'the 410 itself is not an error event');
  assert.ok(tracked.events.includes('delete a'));
  assert.ok(tracked.events.includes('add c'));
  await sim.waitForWatch({ resource: 'services' });
});

test('HTTP 410 on the watch also re-lists; HTTP 410 on the list is only an error', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  sim.objects.create(service('a'));
  const tracked = await startSynced(t, sim);
  sim.faults.failRequests({ status: 410, count: 1, verbs: ['watch'] });
  sim.faults.endWatches();
  await waitUntil('re-listed', () => counts(sim).list === 2);
  assert.equal(tracked.errors.length, 0);
  await sim.waitForWatch({ resource: 'services' });
  // Force a re-list (in-stream 410 on the resume) whose list then fails with HTTP 410.
  sim.faults.failRequests({ status: 410, verbs: ['list'] });
  sim.faults.expireHistory();
  sim.faults.endWatches();
  await waitUntil('list error', () => tracked.errors.length === 1);
  assert.equal(tracked.errors[0]!.code, 410);
});

for (const [name, inject, expectCode] of [
  ['an abrupt close (premature close)', (sim: ApiServerHandle) => sim.faults.dropWatches(), undefined],
  [
    'a 500 on the watch',
    (sim: ApiServerHandle) => (sim.faults.failRequests({ status: 500, verbs: ['watch'] }), sim.faults.endWatches()),
    500,
  ],
  [
    'a 503 on the watch',
    (sim: ApiServerHandle) => (sim.faults.failRequests({ status: 503, verbs: ['watch'] }), sim.faults.endWatches()),
    503,
  ],
  ['a 401 (credentials rejected)', (sim: ApiServerHandle) => (sim.faults.rejectAuth(), sim.faults.endWatches()), 401],
] as const) {
  test(`${name}: error event, the informer stops; start() again resumes without re-list`, async (t) => {
    const sim = await startSim(t, { tokens: ['tok'] });
    sim.objects.create(service('a'));
    const tracked = await startSynced(t, sim);
    inject(sim);
    await waitUntil('error', () => tracked.errors.length === 1);
    if (expectCode !== undefined) assert.equal(tracked.errors[0]!.statusCode, expectCode);
    else assert.match(String(tracked.errors[0]!.message), /premature close|aborted|ECONNRESET/i);
    const after = counts(sim);
    await sleep(QUIET_MS);
    assert.deepEqual(counts(sim), after, 'stopped for good: no retry by itself');
    sim.faults.clear();
    sim.objects.create(service('b'));
    await tracked.informer.start();
    await waitUntil('b', () => tracked.events.includes('add b'));
    assert.equal(counts(sim).list, 1, 'resumed from its version, no re-list');
    assert.equal(tracked.errors.length, 1);
  });
}

test('ECONNREFUSED while down: error, stopped; after comeBack start() resumes; connect fires before failing attempts too', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  sim.objects.create(service('a'));
  const tracked = await startSynced(t, sim);
  await sim.faults.goDown();
  await waitUntil('error', () => tracked.errors.length === 1);
  assert.match(String(tracked.errors[0]!.message ?? tracked.errors[0]!.code), /ECONNREFUSED|premature|socket|aborted/i);
  const connectsBefore = tracked.events.filter((e) => e === 'connect').length;
  await tracked.informer.start();
  await waitUntil('second error', () => tracked.errors.length === 2);
  assert.equal(tracked.errors[1]!.code, 'ECONNREFUSED');
  assert.equal(tracked.events.filter((e) => e === 'connect').length, connectsBefore + 1, 'connect is not "connected"');
  sim.objects.create(service('b'));
  await sim.faults.comeBack();
  await tracked.informer.start();
  await waitUntil('b', () => tracked.events.includes('add b'));
  assert.equal(counts(sim).list, 1);
});

test('a failing list is an error event; stop() on a running informer emits an AbortError', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  sim.faults.failRequests({ status: 500, count: 1, verbs: ['list'] });
  const tracked = track(t, sim);
  await tracked.informer.start();
  await waitUntil('list error', () => tracked.errors.length === 1);
  assert.equal(tracked.errors[0]!.code, 500);
  await tracked.informer.start();
  await sim.waitForWatch({ resource: 'services' });
  await tracked.informer.stop();
  await waitUntil('abort error', () => tracked.errors.length === 2);
  assert.equal(tracked.errors[1]!.name, 'AbortError');
});

test('bookmarks (watch wrapped to ask for them) move the informer version forward', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'], bookmarkIntervalMs: 100 });
  sim.objects.create(service('a'));
  const withBookmarks = (watch: k8s.Watch): k8s.Watch =>
    ({
      watch: (...[path, params, callback, done]: Parameters<k8s.Watch['watch']>) =>
        watch.watch(path, { ...params, allowWatchBookmarks: true }, callback, done),
    }) as unknown as k8s.Watch;
  const tracked = await startSynced(t, sim, withBookmarks);
  const before = tracked.informer.latestResourceVersion();
  sim.objects.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated' } });
  await waitUntil('bookmark seen', () => tracked.informer.latestResourceVersion() === sim.resourceVersion());
  assert.ok(Number(tracked.informer.latestResourceVersion()) > Number(before));
  assert.equal(sim.requests.entries({ verb: 'watch' })[0]!.query['allowWatchBookmarks'], 'true');
  assert.deepEqual(tracked.events, ['connect', 'add a']);
});

test('gzip-encoded big lists are handled by the library', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'], compression: true });
  for (let i = 0; i < 2000; i++) sim.objects.create(service(`s${i}`));
  const tracked = await startSynced(t, sim);
  assert.equal(tracked.informer.list().length, 2000);
});

test('10k services: the informer syncs and follows churn', async (t) => {
  const sim = await startSim(t, { tokens: ['tok'] });
  for (let i = 0; i < 10_000; i++) sim.objects.create(service(`svc-${i}`, `ns-${i % 20}`));
  const started = Date.now();
  const tracked = await startSynced(t, sim);
  const syncMs = Date.now() - started;
  assert.equal(tracked.informer.list().length, 10_000);
  for (let i = 0; i < 200; i++) {
    sim.objects.patch(
      { kind: 'Service', namespace: `ns-${i % 20}`, name: `svc-${i}` },
      { metadata: { labels: { round: '1' } } },
    );
  }
  await waitUntil('churn seen', () => tracked.events.filter((e) => e.startsWith('update')).length === 200);
  t.diagnostic(`informer synced 10k services in ${syncMs} ms`);
});
