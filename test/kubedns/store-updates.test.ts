import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RecordStore } from '@kube-dns/kubedns';
import { ask, clusterIp, externalName, headless, newStore, slice } from './answers-fixture.js';

const HL = 'hl.default.svc.cluster.local';

function headlessStore(): RecordStore {
  const store = newStore();
  store.upsertNamespace('default');
  store.upsertService(headless('default/hl', ['http/tcp/80']));
  store.upsertEndpoints(slice('default/hl-1', 'hl', ['10.0.0.1=a', '!10.0.0.2=b'], ['http/tcp/80']));
  store.markSynced();
  return store;
}

describe('store: endpoints', () => {
  test('an endpoint becoming ready appears in A, SRV, its name and PTR; unready, it disappears', () => {
    const store = headlessStore();
    assert.equal(ask(store, HL, 'A'), '10.0.0.1');
    assert.equal(ask(store, `b.${HL}`, 'A'), 'NXDOMAIN');
    assert.equal(ask(store, '2.0.0.10.in-addr.arpa', 'PTR'), 'forward');
    store.upsertEndpoints(slice('default/hl-1', 'hl', ['10.0.0.1=a', '10.0.0.2=b'], ['http/tcp/80']));
    assert.equal(ask(store, HL, 'A'), '10.0.0.1,10.0.0.2');
    assert.equal(ask(store, `b.${HL}`, 'A'), '10.0.0.2');
    assert.equal(ask(store, `_http._tcp.${HL}`, 'SRV'), `0 50 80 a.${HL}.,0 50 80 b.${HL}.`);
    assert.equal(ask(store, '2.0.0.10.in-addr.arpa', 'PTR'), `b.${HL}.`);
    store.upsertEndpoints(slice('default/hl-1', 'hl', ['!10.0.0.1=a', '10.0.0.2=b'], ['http/tcp/80']));
    assert.equal(ask(store, HL, 'A'), '10.0.0.2');
    assert.equal(ask(store, `a.${HL}`, 'A'), 'NXDOMAIN');
    assert.equal(ask(store, '1.0.0.10.in-addr.arpa', 'PTR'), 'forward');
  });

  test('the last ready endpoint going away makes the service NXDOMAIN (K-14), coming back restores it', () => {
    const store = headlessStore();
    store.upsertEndpoints(slice('default/hl-1', 'hl', ['!10.0.0.1=a'], ['http/tcp/80']));
    assert.equal(ask(store, HL, 'A'), 'NXDOMAIN');
    assert.equal(ask(store, HL, 'SRV'), 'NXDOMAIN');
    store.upsertEndpoints(slice('default/hl-1', 'hl', ['10.0.0.1=a'], ['http/tcp/80']));
    assert.equal(ask(store, HL, 'A'), '10.0.0.1');
  });

  test('a hostname change moves the name and the PTR target', () => {
    const store = headlessStore();
    store.upsertEndpoints(slice('default/hl-1', 'hl', ['10.0.0.1=renamed'], ['http/tcp/80']));
    assert.equal(ask(store, `a.${HL}`, 'A'), 'NXDOMAIN');
    assert.equal(ask(store, `renamed.${HL}`, 'A'), '10.0.0.1');
    assert.equal(ask(store, '1.0.0.10.in-addr.arpa', 'PTR'), `renamed.${HL}.`);
    store.upsertEndpoints(slice('default/hl-1', 'hl', ['10.0.0.1'], ['http/tcp/80']));
    assert.equal(ask(store, '1.0.0.10.in-addr.arpa', 'PTR'), `10-0-0-1.${HL}.`);
  });

  test('an address in two slices stays until the last slice naming it goes (PTR too)', () => {
    const store = headlessStore();
    store.upsertEndpoints(slice('default/hl-2', 'hl', ['10.0.0.1=a', '10.0.0.3=c'], ['http/tcp/80']));
    assert.equal(ask(store, HL, 'A'), '10.0.0.1,10.0.0.3');
    store.deleteEndpoints('default', 'hl-1');
    assert.equal(ask(store, HL, 'A'), '10.0.0.1,10.0.0.3');
    assert.equal(ask(store, '1.0.0.10.in-addr.arpa', 'PTR'), `a.${HL}.`);
    store.deleteEndpoints('default', 'hl-2');
    assert.equal(ask(store, HL, 'A'), 'NXDOMAIN');
    assert.equal(ask(store, '1.0.0.10.in-addr.arpa', 'PTR'), 'forward');
    assert.equal(store.size().reverseEntries, 0);
  });

  test('a slice moving to another service (label change) leaves the first one', () => {
    const store = headlessStore();
    store.upsertService(headless('default/other', ['http/tcp/80']));
    store.upsertEndpoints(slice('default/hl-1', 'other', ['10.0.0.1=a'], ['http/tcp/80']));
    assert.equal(ask(store, HL, 'A'), 'NXDOMAIN');
    assert.equal(ask(store, 'other.default.svc.cluster.local', 'A'), '10.0.0.1');
    assert.equal(ask(store, '1.0.0.10.in-addr.arpa', 'PTR'), 'a.other.default.svc.cluster.local.');
    store.deleteEndpoints('default', 'hl-1');
    assert.equal(ask(store, 'other.default.svc.cluster.local', 'A'), 'NXDOMAIN');
    assert.equal(store.size().endpointGroups, 0);
  });

  test('endpoints that arrive before their service are used once it arrives', () => {
    const store = newStore();
    store.upsertEndpoints(slice('late/x-1', 'x', ['10.1.0.1'], ['http/tcp/80']));
    store.markSynced();
    assert.equal(ask(store, 'x.late.svc.cluster.local', 'A'), 'NXDOMAIN');
    assert.equal(ask(store, 'late.svc.cluster.local', 'A'), 'NXDOMAIN', 'a namespace is not made by endpoints alone');
    store.upsertService(headless('late/x', ['http/tcp/80']));
    assert.equal(ask(store, 'x.late.svc.cluster.local', 'A'), '10.1.0.1');
    assert.equal(ask(store, 'late.svc.cluster.local', 'A'), 'NODATA', 'a namespace with a service exists');
    assert.equal(ask(store, '1.0.1.10.in-addr.arpa', 'PTR'), '10-1-0-1.x.late.svc.cluster.local.');
  });

  test('ClusterIP services do not publish their endpoints', () => {
    const store = newStore();
    store.upsertService(clusterIp('default/web', ['10.96.0.20'], ['http/tcp/80']));
    store.upsertEndpoints(slice('default/web-1', 'web', ['10.1.0.9=pod'], ['http/tcp/8080']));
    store.markSynced();
    assert.equal(ask(store, 'web.default.svc.cluster.local', 'A'), '10.96.0.20');
    assert.equal(ask(store, 'pod.web.default.svc.cluster.local', 'A'), 'NXDOMAIN');
    assert.equal(ask(store, '9.0.1.10.in-addr.arpa', 'PTR'), 'forward');
  });
});

describe('store: services', () => {
  test('type flips: ClusterIP → ExternalName → headless, PTR follows', () => {
    const store = newStore();
    store.upsertService(clusterIp('default/s', ['10.96.0.7'], ['http/tcp/80']));
    store.upsertEndpoints(slice('default/s-1', 's', ['10.1.0.7=p'], ['http/tcp/80']));
    store.markSynced();
    const name = 's.default.svc.cluster.local';
    assert.equal(ask(store, name, 'A'), '10.96.0.7');
    assert.equal(ask(store, '7.0.96.10.in-addr.arpa', 'PTR'), `${name}.`);
    store.upsertService(externalName('default/s', 'example.org'));
    assert.equal(ask(store, name, 'CNAME'), 'example.org.');
    assert.equal(ask(store, '7.0.96.10.in-addr.arpa', 'PTR'), 'forward');
    assert.equal(ask(store, `_http._tcp.${name}`, 'SRV'), 'NXDOMAIN');
    store.upsertService(headless('default/s', ['http/tcp/80']));
    assert.equal(ask(store, name, 'A'), '10.1.0.7');
    assert.equal(ask(store, '7.0.1.10.in-addr.arpa', 'PTR'), `p.${name}.`);
    store.upsertService(clusterIp('default/s', ['10.96.0.8'], ['http/tcp/80']));
    assert.equal(ask(store, '7.0.1.10.in-addr.arpa', 'PTR'), 'forward');
    assert.equal(ask(store, '8.0.96.10.in-addr.arpa', 'PTR'), `${name}.`);
  });

  test('an ExternalName is served lower case without a trailing dot, whatever the API held', () => {
    const store = newStore();
    store.upsertService(externalName('default/e', 'WWW.Example.COM.'));
    store.markSynced();
    assert.equal(ask(store, 'e.default.svc.cluster.local', 'CNAME'), 'www.example.com.');
    const changes = store.changes;
    store.upsertService(externalName('default/e', 'WWW.Example.COM.'));
    assert.equal(store.changes, changes, 'the same object again is no change');
  });

  test('port changes move SRV records; a deleted service leaves nothing behind', () => {
    const store = newStore();
    store.upsertService(clusterIp('default/s', ['10.96.0.7', 'fd00::7'], ['http1/tcp/80']));
    store.markSynced();
    const name = 's.default.svc.cluster.local';
    assert.equal(ask(store, `_http1._tcp.${name}`, 'SRV'), `0 100 80 ${name}.`);
    store.upsertService(clusterIp('default/s', ['10.96.0.7', 'fd00::7'], ['http2/tcp/81']));
    assert.equal(ask(store, `_http1._tcp.${name}`, 'SRV'), 'NXDOMAIN');
    assert.equal(ask(store, `_http2._tcp.${name}`, 'SRV'), `0 100 81 ${name}.`);
    store.deleteService('default', 's');
    assert.equal(ask(store, name, 'A'), 'NXDOMAIN');
    assert.equal(ask(store, '7.0.96.10.in-addr.arpa', 'PTR'), 'forward');
    assert.equal(store.size().reverseEntries, 0);
    assert.equal(store.size().services, 0);
  });

  test('a cluster IP re-used by another service points PTR at the new owner only', () => {
    const store = newStore();
    store.upsertService(clusterIp('default/old', ['10.96.0.9']));
    store.markSynced();
    store.deleteService('default', 'old');
    store.upsertService(clusterIp('default/new', ['10.96.0.9']));
    assert.equal(ask(store, '9.0.96.10.in-addr.arpa', 'PTR'), 'new.default.svc.cluster.local.');
  });

  test('an endpoint IP in two headless services gets two PTRs', () => {
    const store = newStore();
    store.upsertService(headless('default/a'));
    store.upsertService(headless('default/b'));
    store.upsertEndpoints(slice('default/a-1', 'a', ['10.1.0.1=x']));
    store.upsertEndpoints(slice('default/b-1', 'b', ['10.1.0.1=y']));
    store.markSynced();
    assert.equal(
      ask(store, '1.0.1.10.in-addr.arpa', 'PTR'),
      'x.a.default.svc.cluster.local.,y.b.default.svc.cluster.local.',
    );
    store.deleteService('default', 'a');
    assert.equal(ask(store, '1.0.1.10.in-addr.arpa', 'PTR'), 'y.b.default.svc.cluster.local.');
  });
});

describe('store: namespaces', () => {
  test('namespace deletion: the namespace level stays while services remain, then NXDOMAIN', () => {
    const store = newStore();
    store.upsertNamespace('team');
    store.upsertService(clusterIp('team/s', ['10.96.1.1']));
    store.markSynced();
    assert.equal(ask(store, 'team.svc.cluster.local', 'A'), 'NODATA');
    assert.equal(ask(store, '1-2-3-4.team.pod.cluster.local', 'A'), '1.2.3.4');
    store.deleteNamespace('team');
    assert.equal(ask(store, 'team.svc.cluster.local', 'A'), 'NODATA');
    store.deleteService('team', 's');
    assert.equal(ask(store, 'team.svc.cluster.local', 'A'), 'NXDOMAIN');
    assert.equal(ask(store, '1-2-3-4.team.pod.cluster.local', 'A'), 'NXDOMAIN');
    assert.equal(store.size().namespaces, 0);
  });

  test('an empty namespace exists; a deleted one does not', () => {
    const store = newStore();
    store.upsertNamespace('empty');
    store.markSynced();
    assert.equal(ask(store, 'empty.svc.cluster.local', 'A'), 'NODATA');
    store.deleteNamespace('empty');
    assert.equal(ask(store, 'empty.svc.cluster.local', 'A'), 'NXDOMAIN');
  });
});

describe('store: change tracking', () => {
  test('re-delivered objects are no change: serial, scopes and counts stay', () => {
    let now = 1_000_000_000_000;
    const store = new RecordStore({
      zone: 'cluster.local',
      ttl: 30,
      negativeTtl: 5,
      podRecords: 'insecure',
      now: () => now,
    });
    store.upsertNamespace('default');
    store.upsertService(headless('default/hl', ['http/tcp/80']));
    store.upsertEndpoints(slice('default/hl-1', 'hl', ['10.0.0.1=a'], ['http/tcp/80']));
    const changes = store.changes;
    const scope = store.namespaceScope('default').gen;
    const reverse = store.reverseScope.gen;
    now += 60_000;
    store.upsertNamespace('default');
    store.upsertService(headless('default/hl', ['http/tcp/80']));
    store.upsertEndpoints(slice('default/hl-1', 'hl', ['10.0.0.1=a'], ['http/tcp/80']));
    assert.equal(store.changes, changes);
    assert.equal(store.serial, 1_000_000_000);
    assert.equal(store.namespaceScope('default').gen, scope);
    assert.equal(store.reverseScope.gen, reverse);
    store.upsertService(headless('default/hl', ['http/tcp/81']));
    assert.equal(store.serial, 1_000_000_060, 'the SOA serial is the Unix time of the last change');
    assert.notEqual(store.namespaceScope('default').gen, scope);
  });

  test('a write touches only its own namespace scope; a new namespace bumps the absent-namespace scope', () => {
    const store = newStore();
    store.upsertService(clusterIp('a/s', ['10.96.0.1']));
    store.upsertService(clusterIp('b/s', ['10.96.0.2']));
    const a = store.namespaceScope('a').gen;
    const b = store.namespaceScope('b').gen;
    const absent = store.absentNamespaceScope.gen;
    store.upsertService(clusterIp('a/t', ['10.96.0.3']));
    assert.notEqual(store.namespaceScope('a').gen, a);
    assert.equal(store.namespaceScope('b').gen, b);
    assert.equal(store.absentNamespaceScope.gen, absent);
    store.upsertService(clusterIp('c/s', ['10.96.0.4']));
    assert.notEqual(store.absentNamespaceScope.gen, absent);
  });

  test('counts follow writes and deletes', () => {
    const store = headlessStore();
    assert.deepEqual(store.size(), {
      services: 1,
      endpointGroups: 1,
      readyAddresses: 1,
      namespaces: 1,
      pods: 0,
      reverseEntries: 1,
    });
    store.deleteEndpoints('default', 'hl-1');
    store.deleteService('default', 'hl');
    store.deleteNamespace('default');
    assert.deepEqual(store.size(), {
      services: 0,
      endpointGroups: 0,
      readyAddresses: 0,
      namespaces: 0,
      pods: 0,
      reverseEntries: 0,
    });
  });

  test('deletes of unknown objects are no-ops', () => {
    const store = headlessStore();
    const changes = store.changes;
    store.deleteService('nope', 'x');
    store.deleteEndpoints('default', 'nope');
    store.deleteNamespace('nope');
    store.deletePod('default', 'nope');
    assert.equal(store.changes, changes);
  });
});

describe('store: scale (issue 6: 10k services + 2k headless × 25 endpoints)', () => {
  test('loads in well under a second and applies one change in well under a millisecond', () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const store = newStore();
    const started = performance.now();
    for (let n = 0; n < 100; n++) store.upsertNamespace(`ns-${n}`);
    for (let i = 0; i < 10_000; i++) {
      store.upsertService(
        clusterIp(`ns-${i % 100}/svc-${i}`, [`10.96.${i >> 8}.${i & 255}`], ['http/tcp/80', 'https/tcp/443']),
      );
    }
    for (let h = 0; h < 2000; h++) {
      store.upsertService(headless(`ns-${h % 100}/hl-${h}`, ['http/tcp/8080']));
      const endpoints = Array.from({ length: 25 }, (_, e) => `10.${64 + (h >> 8)}.${h & 255}.${e + 1}=pod-${e}`);
      store.upsertEndpoints(slice(`ns-${h % 100}/hl-${h}-abc`, `hl-${h}`, endpoints, ['http/tcp/8080']));
    }
    store.markSynced();
    const loadMs = performance.now() - started;
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    // Churn: flip one endpoint's readiness in a 25-endpoint slice, 2000 times.
    const churnStart = performance.now();
    const rounds = 2000;
    for (let r = 0; r < rounds; r++) {
      const h = r % 2000;
      const endpoints = Array.from(
        { length: 25 },
        (_, e) => `${e === 0 && r % 4 < 2 ? '!' : ''}10.${64 + (h >> 8)}.${h & 255}.${e + 1}=pod-${e}`,
      );
      store.upsertEndpoints(slice(`ns-${h % 100}/hl-${h}-abc`, `hl-${h}`, endpoints, ['http/tcp/8080']));
    }
    const perChangeMs = (performance.now() - churnStart) / rounds;
    console.log(
      `store scale: load ${loadMs.toFixed(0)} ms, heap +${heapMb.toFixed(1)} MB, ${perChangeMs.toFixed(3)} ms per endpoint change`,
    );
    assert.equal(store.size().services, 12_000);
    assert.equal(ask(store, 'svc-9999.ns-99.svc.cluster.local', 'A'), '10.96.39.15');
    assert.equal(ask(store, 'pod-3.hl-1999.ns-99.svc.cluster.local', 'A'), '10.71.207.4');
    assert.ok(loadMs < 3000, `load took ${loadMs} ms`);
    assert.ok(perChangeMs < 0.5, `${perChangeMs} ms per change`);
  });
});
