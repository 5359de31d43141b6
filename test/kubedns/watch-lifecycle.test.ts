import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startApiServer, type ApiServerHandle } from '@kube-dns/apiserver-sim';
import { waitUntil } from '../helpers/index.js';
import { clusterIpService, endpointSlice, headlessService, namespace } from './watch-fixtures.js';
import { startWatchUnderTest, watchesOpen } from './watch-harness.js';

async function simulator(t: { after(fn: () => unknown): void }, seed = true): Promise<ApiServerHandle> {
  const sim = await startApiServer({
    seed: seed
      ? [
          clusterIpService('default', 'web', '10.96.0.20', [['http', 80]]),
          headlessService('default', 'hl', [['http', 8080]]),
          endpointSlice(
            'default',
            'hl',
            'hl-a',
            [{ ip: '10.244.1.5', hostname: 'web-0' }, { ip: '10.244.1.6' }],
            [['http', 8080]],
          ),
        ]
      : [],
  });
  t.after(() => sim.close());
  return sim;
}

describe('kube-dns watch lifecycle (client-node 1.4 against the apiserver simulator)', () => {
  test('lists every kind, marks synced, then follows adds, updates and deletes', async (t) => {
    const sim = await simulator(t);
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    assert.ok(w.writer.hasSynced());
    assert.deepEqual(w.writer.services.get('default/web')?.clusterIPs, ['10.96.0.20']);
    assert.equal(w.writer.services.get('default/hl')?.kind, 'Headless');
    assert.deepEqual(w.writer.readyAddresses('default', 'hl'), ['10.244.1.5', '10.244.1.6']);
    assert.ok(w.writer.namespaces.has('kube-system'));
    assert.equal(await w.metric('skydns_skydns_watch_synced', { kind: 'services' }), 1);
    await watchesOpen(sim);
    assert.equal(await w.metric('skydns_skydns_watch_connected', { kind: 'endpointslices' }), 1);

    sim.objects.create(clusterIpService('default', 'api', '10.96.0.30', [['grpc', 9090]]));
    await waitUntil('added service', () => w.writer.services.get('default/api'));
    sim.objects.patch(
      { kind: 'Service', namespace: 'default', name: 'api' },
      { spec: { ports: [{ name: 'rest', port: 8080, protocol: 'TCP' }] } },
    );
    await waitUntil('updated ports', () => w.writer.services.get('default/api')?.ports[0]?.name === 'rest');
    sim.objects.delete({ kind: 'Service', namespace: 'default', name: 'api' });
    await waitUntil('deleted service', () => !w.writer.services.has('default/api'));
    sim.objects.create(namespace('team-a'));
    await waitUntil('namespace', () => w.writer.namespaces.has('team-a'));
    sim.objects.delete({ kind: 'Namespace', name: 'team-a' });
    await waitUntil('namespace gone', () => !w.writer.namespaces.has('team-a'));
    assert.ok((await w.metric('skydns_skydns_watch_events_total', { kind: 'services', type: 'added' })) >= 1);
    assert.ok((await w.metric('skydns_skydns_watch_events_total', { kind: 'services', type: 'deleted' })) >= 1);
    assert.equal(await w.metric('skydns_skydns_watch_relists_total', { kind: 'services' }), 0);
    // One line per state change, none per event.
    assert.equal(w.log.matching('watch connected').length, 3);
    assert.equal(w.log.matching('initial sync complete').length, 1);
    assert.equal(w.log.lines.filter((l) => l.level === 'info').length, 4);
  });

  test('headless endpoints becoming ready and unready', async (t) => {
    const sim = await simulator(t);
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    sim.objects.apply(
      endpointSlice(
        'default',
        'hl',
        'hl-a',
        [{ ip: '10.244.1.5', hostname: 'web-0', ready: false }, { ip: '10.244.1.6' }],
        [['http', 8080]],
      ),
    );
    await waitUntil('web-0 unready', () => w.writer.readyAddresses('default', 'hl').join() === '10.244.1.6');
    sim.objects.create(endpointSlice('default', 'hl', 'hl-b', [{ ip: '10.244.2.7' }], [['http', 8080]]));
    await waitUntil('second slice', () => w.writer.readyAddresses('default', 'hl').join() === '10.244.1.6,10.244.2.7');
    sim.objects.apply(
      endpointSlice('default', 'hl', 'hl-a', [{ ip: '10.244.1.5', hostname: 'web-0' }], [['http', 8080]]),
    );
    await waitUntil(
      'web-0 ready again',
      () => w.writer.readyAddresses('default', 'hl').join() === '10.244.1.5,10.244.2.7',
    );
    sim.objects.delete({ kind: 'EndpointSlice', namespace: 'default', name: 'hl-b' });
    await waitUntil('slice gone', () => w.writer.readyAddresses('default', 'hl').join() === '10.244.1.5');
  });

  test('watch dropped mid-stream: resumes from its resourceVersion, no re-list, changes meanwhile arrive', async (t) => {
    const sim = await simulator(t);
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    await watchesOpen(sim);
    assert.equal(sim.faults.dropWatches(), 3);
    sim.objects.create(clusterIpService('default', 'during-gap', '10.96.0.40'));
    sim.objects.delete({ kind: 'Service', namespace: 'default', name: 'web' });
    await waitUntil(
      'change made during the gap',
      () => w.writer.services.has('default/during-gap') && !w.writer.services.has('default/web'),
    );
    await waitUntil(
      'reconnected',
      async () => (await w.metric('skydns_skydns_watch_connected', { kind: 'services' })) === 1,
    );
    assert.equal(await w.metric('skydns_skydns_watch_relists_total'), 0);
    assert.ok((await w.metric('skydns_skydns_watch_restarts_total', { kind: 'services' })) >= 1);
    const lost = w.log.matching('watch lost');
    assert.ok(lost.length >= 1 && lost.length <= 3, 'one line per kind that lost its watch');
    assert.equal(typeof lost[0]!['reason'], 'string');
    await waitUntil('resynced logged', () => w.log.matching('watch resynced').length >= 1);
  });

  test('410 Gone after the history expired: re-list, and objects deleted while disconnected disappear', async (t) => {
    const sim = await simulator(t);
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    await sim.faults.goDown();
    // While it is down: one service and a slice are deleted, one service is added. The watch cannot see it.
    sim.objects.delete({ kind: 'Service', namespace: 'default', name: 'web' });
    sim.objects.delete({ kind: 'EndpointSlice', namespace: 'default', name: 'hl-a' });
    sim.objects.create(clusterIpService('default', 'newer', '10.96.0.50'));
    assert.ok(w.writer.services.has('default/web'), 'the last known state is kept while the apiserver is away');
    await sim.faults.comeBack({ expireHistory: true });
    await waitUntil(
      'ghosts gone',
      () => !w.writer.services.has('default/web') && !w.writer.endpoints.has('default/hl-a'),
      {
        timeoutMs: 8000,
      },
    );
    assert.ok(w.writer.services.has('default/newer'));
    assert.ok(w.writer.services.has('default/hl'), 'what still exists stays');
    assert.ok((await w.metric('skydns_skydns_watch_relists_total', { kind: 'services' })) >= 1);
    assert.ok(w.log.matching('re-listed').length >= 1);
    // Verified: client-node itself emits `delete` for what vanished (cache.js deleteItems) during the re-list;
    // our own reconciliation after the list found nothing left to remove.
    assert.ok(w.writer.operations.includes('deleteService default/web'));
    assert.equal(w.log.matching('removed objects the list no longer has').length, 0);
    // The store always matches the apiserver after the re-list.
    const apiServices = sim.objects
      .list('Service')
      .map((s) => `${s.metadata.namespace}/${s.metadata.name}`)
      .sort();
    assert.deepEqual([...w.writer.services.keys()].sort(), apiServices);
  });

  test('410 on resume with the server up (history compacted during a dropped watch)', async (t) => {
    const sim = await simulator(t);
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    sim.faults.rejectAuth(true);
    sim.faults.dropWatches();
    await waitUntil('lost', () => w.log.matching('watch lost').length >= 1);
    sim.objects.delete({ kind: 'Service', namespace: 'default', name: 'hl' });
    sim.compact();
    sim.faults.rejectAuth(false);
    await waitUntil('ghost gone after re-list', () => !w.writer.services.has('default/hl'), { timeoutMs: 8000 });
    assert.ok((await w.metric('skydns_skydns_watch_relists_total', { kind: 'services' })) >= 1);
  });

  test('apiserver down then back on the same port: last state served meanwhile, then changes flow again', async (t) => {
    const sim = await simulator(t);
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    await sim.faults.goDown();
    await waitUntil('lost', async () => (await w.metric('skydns_skydns_watch_connected', { kind: 'services' })) === 0);
    // Several failed retries while down: still one "lost" line per kind.
    await waitUntil(
      'retried',
      async () => (await w.metric('skydns_skydns_watch_restarts_total', { kind: 'services' })) >= 3,
    );
    assert.equal(w.log.matching('watch lost').filter((l) => l['kind'] === 'services').length, 1);
    assert.ok(w.writer.services.has('default/web'));
    await sim.faults.comeBack();
    await waitUntil(
      'reconnected',
      async () => (await w.metric('skydns_skydns_watch_connected', { kind: 'services' })) === 1,
      {
        timeoutMs: 8000,
      },
    );
    sim.objects.create(clusterIpService('default', 'after', '10.96.0.60'));
    await waitUntil('new change', () => w.writer.services.has('default/after'));
  });

  test('500s on lists are retried with backoff until the first sync', async (t) => {
    const sim = await simulator(t);
    sim.faults.failRequests({ status: 500, count: 6, verbs: ['list'] });
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    assert.ok(w.writer.services.has('default/web'));
    const failed = w.log.matching('list failed');
    assert.ok(failed.length >= 1 && failed.length <= 3, 'one line per kind, not per retry');
    assert.match(String(failed[0]!['reason']), /500/);
  });

  test('500s on watches are retried', async (t) => {
    const sim = await simulator(t);
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    sim.faults.failRequests({ status: 503, count: 4, verbs: ['watch'] });
    sim.faults.dropWatches();
    sim.objects.create(clusterIpService('default', 'x', '10.96.0.70'));
    await waitUntil('recovered', () => w.writer.services.has('default/x'), { timeoutMs: 8000 });
  });

  test('tokens rejected, then accepted', async (t) => {
    const sim = await startApiServer({
      tokens: ['good-token'],
      seed: [clusterIpService('default', 'web', '10.96.0.20')],
    });
    t.after(() => sim.close());
    sim.faults.rejectAuth(true);
    const w = await startWatchUnderTest(t, sim, { auth: { token: 'good-token' } });
    await waitUntil('401s seen', () => sim.requests.count({ status: 401 }) >= 3);
    assert.ok(!w.writer.hasSynced());
    assert.match(String(w.log.matching('list failed')[0]?.['reason']), /401/);
    sim.faults.rejectAuth(false);
    await w.watch.synced;
    assert.ok(w.writer.services.has('default/web'));
    assert.ok(sim.requests.count({ verb: 'list', user: 'token-user', status: 200 }) >= 3, 'authenticated by the token');
  });

  test('watches ask for bookmarks and a timeout; BOOKMARK events keep the watch current', async (t) => {
    const sim = await startApiServer({
      bookmarkIntervalMs: 50,
      seed: [clusterIpService('default', 'web', '10.96.0.20')],
    });
    t.after(() => sim.close());
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    await watchesOpen(sim);
    const watches = sim.requests.entries({ verb: 'watch' });
    assert.ok(watches.length >= 3);
    for (const request of watches) {
      assert.equal(request.query['allowWatchBookmarks'], 'true');
      assert.ok(Number(request.query['timeoutSeconds']) >= 300);
    }
    await waitUntil(
      'bookmarks',
      async () => (await w.metric('skydns_skydns_watch_events_total', { type: 'bookmark' })) >= 3,
    );
    // A clean end by the server (its timeout) resumes at once, without a restart or a re-list.
    sim.faults.endWatches();
    sim.objects.create(clusterIpService('default', 'y', '10.96.0.80'));
    await waitUntil('resumed', () => w.writer.services.has('default/y'));
    assert.equal(await w.metric('skydns_skydns_watch_restarts_total'), 0);
    assert.equal(await w.metric('skydns_skydns_watch_relists_total'), 0);
    assert.equal(w.log.matching('watch lost').length, 0);
  });

  test('stop() ends every informer for good (the AbortError of a deliberate stop is not a failure)', async (t) => {
    const sim = await simulator(t);
    const w = await startWatchUnderTest(t, sim);
    await w.watch.synced;
    await w.watch.stop();
    // Watches being set up when stop() came are aborted as soon as they open.
    await waitUntil(
      'watches closed',
      () => sim.requests.count({ verb: 'watch' }) >= 3 && sim.openWatches().length === 0,
    );
    const requests = sim.requests.count();
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal(sim.requests.count(), requests, 'no restart after stop');
    assert.equal(sim.openWatches().length, 0);
    assert.equal(w.log.matching('watch lost').length, 0);
  });
});
