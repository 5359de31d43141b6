import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { queryDns, waitUntil, type QueryResult } from '../helpers/index.js';
import { answerData } from './support/fixture.js';
import { startLocalPod } from './support/local-pod.js';
import { startQueryLoad, type LoadQuestion } from './support/query-load.js';

/**
 * The Pod's processes killed and stopped under load: SIGKILL of kube-dns (a crash) and SIGTERM of the Pod
 * (a rolling update or a scale-down), with clients querying through the cache all along.
 */

const exactly =
  (data: string[]) =>
  (result: QueryResult): string | null => {
    if (result.rcode !== 'NOERROR') return result.rcode;
    const got = answerData(result);
    return JSON.stringify(got) === JSON.stringify(data) ? null : JSON.stringify(got);
  };

const cachedNames: LoadQuestion[] = [
  { name: () => 'web.default.svc.cluster.local', type: 'A', check: exactly(['A 10.96.0.20']) },
  { name: () => 'db.default.svc.cluster.local', type: 'A', check: exactly(['A 10.1.0.1', 'A 10.1.0.2']) },
  { name: () => 'kubernetes.default.svc.cluster.local', type: 'A', check: exactly(['A 10.96.0.1']) },
  { name: () => 'probe.example.org', type: 'A', check: exactly(['A 192.0.2.1']) },
];

test(
  'kube-dns SIGKILLed under load: the cache serves cached names, the sidecar sees it within its interval, recovery after restart',
  { timeout: 90_000 },
  async (t) => {
    const pod = await startLocalPod();
    t.after(() => pod.close());
    for (const q of cachedNames)
      assert.equal(q.check(await queryDns(pod.cache.dns, q.name(0), q.type)), null, 'warm the cache');
    await waitUntil(
      'both health checks 200',
      async () =>
        (await pod.sidecar.health('kubedns')).status === 200 && (await pod.sidecar.health('dnsmasq')).status === 200,
      { timeoutMs: 10_000 },
    );

    const load = startQueryLoad(pod.cache.dns, cachedNames, { clients: 4, tcpEvery: 7 });
    await sleep(300);
    const killedAt = Date.now();
    await pod.kubeDns.stop('SIGKILL');
    await waitUntil(
      'the sidecar reports kubedns unhealthy',
      async () => (await pod.sidecar.health('kubedns')).status === 503,
      { timeoutMs: 5000, intervalMs: 50 },
    );
    const detectedMs = Date.now() - killedAt;
    t.diagnostic(`sidecar saw kube-dns gone after ${detectedMs} ms (probe interval 1 s, timeout 0.5 s)`);
    assert.ok(detectedMs <= 1000 + 500 + 500, `detected within interval + timeout (${detectedMs} ms)`);
    const health = await pod.sidecar.health('kubedns');
    assert.equal(health.body.IsOk, false);
    // The probe through the cache is answered from its cache (kubernetes.default is cached): still healthy.
    assert.equal((await pod.sidecar.health('dnsmasq')).status, 200);
    const uncached = await queryDns(pod.cache.dns, 'new.default.svc.cluster.local', 'A', { timeoutMs: 3000 });
    assert.equal(uncached.rcode, 'SERVFAIL', 'a name nobody asked before cannot be answered while kube-dns is down');
    await sleep(1000);
    pod.sim.objects.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'new', namespace: 'default' },
      spec: { clusterIP: '10.96.0.77', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
    });

    await pod.startKubeDns();
    await waitUntil(
      'the sidecar reports kubedns healthy again',
      async () => (await pod.sidecar.health('kubedns')).status === 200,
      { timeoutMs: 5000, intervalMs: 50 },
    );
    await load.stop();
    t.diagnostic(`${load.sent} queries through the cache while kube-dns was killed and restarted`);
    assert.deepEqual(load.failures, [], 'every cached name answered throughout');
    assert.ok(load.sent > 200);
    const after = await queryDns(pod.cache.dns, 'new.default.svc.cluster.local', 'A');
    assert.deepEqual(
      answerData(after),
      ['A 10.96.0.77'],
      'a service created while kube-dns was down resolves after the restart',
    );
  },
);

test(
  'SIGTERM to the Pod under load: zero failed queries through the grace period, readiness 503 at once, exit 0',
  { timeout: 60_000 },
  async (t) => {
    const graceMs = 3000;
    const pod = await startLocalPod({
      kubeDnsArgs: [`--shutdown-grace=${graceMs}ms`],
      cacheArgs: [`--shutdown-grace=${graceMs}ms`],
    });
    t.after(() => pod.close());
    // Cached names, and names the cache must ask kube-dns for every time (--no-negcache: NXDOMAIN is not kept).
    const questions: LoadQuestion[] = [
      ...cachedNames,
      {
        name: (i) => `gone-${i}.default.svc.cluster.local`,
        type: 'A',
        check: (r) => (r.rcode === 'NXDOMAIN' ? null : r.rcode),
      },
      {
        name: () => '_http._tcp.web.default.svc.cluster.local',
        type: 'SRV',
        check: exactly(['0 100 80 web.default.svc.cluster.local']),
      },
    ];
    for (const q of questions) await queryDns(pod.cache.dns, q.name(0), q.type);
    const throughCache = startQueryLoad(pod.cache.dns, questions, { clients: 4, tcpEvery: 5 });
    const direct = startQueryLoad(pod.kubeDns.dns, questions.slice(0, 3), { clients: 2 });
    await sleep(300);
    const termAt = Date.now();
    pod.kubeDns.signal('SIGTERM');
    pod.cache.signal('SIGTERM');
    await waitUntil('kube-dns readiness 503', async () => (await pod.kubeDns.readiness()) === 503, {
      timeoutMs: 1000,
      intervalMs: 20,
    });
    t.diagnostic(`readiness 503 after ${Date.now() - termAt} ms`);
    // Clients keep coming until just before the grace period ends (the Service has dropped the Pod by then).
    await sleep(graceMs - 500 - (Date.now() - termAt));
    await Promise.all([throughCache.stop(), direct.stop()]);
    t.diagnostic(`${throughCache.sent} queries through the cache, ${direct.sent} to kube-dns during the grace period`);
    assert.deepEqual(throughCache.failures, [], 'no query through the cache failed');
    assert.deepEqual(direct.failures, [], 'no query to kube-dns failed');
    assert.ok(throughCache.sent > 100 && direct.sent > 50);
    const [kd, cache] = await Promise.all([pod.kubeDns.exited, pod.cache.exited]);
    assert.deepEqual([kd.code, cache.code], [0, 0], 'both exit 0 after the grace period');
    assert.ok(Date.now() - termAt >= graceMs - 100, 'not before the grace period');
  },
);
