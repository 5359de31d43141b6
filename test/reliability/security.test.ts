import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { describe, test } from 'node:test';
import type { RecordType } from 'dns-packet';
import { generateTestCertificates, startApiServer } from '@kube-dns/apiserver-sim';
import { silentLogger, startDnsListener, type UpstreamServer } from '@kube-dns/daemon-kit';
import { missingTool, queryDns, rr, soa, startFakeUpstream, waitUntil } from '../helpers/index.js';
import { spawnDaemon } from './support/daemon.js';
import { answerData, seedSmallCluster, startSmallCluster } from './support/fixture.js';
import { startLocalPod } from './support/local-pod.js';
import { startCacheDaemon, startKubeDns, tempDir, writeKubeconfig } from './support/launch.js';
import { startStubUpstream } from './support/stub-upstream.js';

/**
 * Security properties seen from outside the processes: no zone enumeration or transfer, no recursion
 * beyond the configured upstreams (and no leak of cluster names to them), no credentials in any log, and
 * health/metrics endpoints that only read. The manifests' own properties (non-root, read-only root,
 * capabilities, seccomp, RBAC) are checked in test/manifests; the dynamic RBAC check is rbac-dynamic.test.ts.
 */

describe(
  'no wildcard, enumeration or zone transfer answers (kube-dns, and through the cache)',
  { timeout: 60_000 },
  () => {
    test('wildcards, empty non-terminals, ANY and AXFR/IXFR over UDP and TCP', async (t) => {
      const pod = await startLocalPod();
      t.after(() => pod.close());
      for (const [label, server] of [
        ['kube-dns', pod.kubeDns.dns],
        ['dnsmasq-cache', pod.cache.dns],
      ] as Array<[string, UpstreamServer]>) {
        const ask = (name: string, type: RecordType, tcp = false) =>
          queryDns(server, name, type, { tcp, timeoutMs: 3000 });
        for (const name of [
          '*.default.svc.cluster.local',
          '*.svc.cluster.local',
          'web.*.svc.cluster.local',
          '*.web.default.svc.cluster.local',
          '*.*.svc.cluster.local',
        ]) {
          const result = await ask(name, 'A');
          assert.equal(result.rcode, 'NXDOMAIN', `${label} ${name}`);
        }
        for (const name of [
          '_*._tcp.web.default.svc.cluster.local',
          '_*._*.web.default.svc.cluster.local',
          '*.default.svc.cluster.local',
        ]) {
          assert.equal((await ask(name, 'SRV')).rcode, 'NXDOMAIN', `${label} ${name} SRV`);
        }
        // Empty non-terminals answer NODATA: no list of namespaces or services.
        for (const name of ['svc.cluster.local', 'default.svc.cluster.local', 'pod.cluster.local']) {
          for (const type of ['ANY', 'TXT', 'SRV', 'PTR'] as RecordType[]) {
            const result = await ask(name, type);
            assert.deepEqual([result.rcode, answerData(result)], ['NOERROR', []], `${label} ${name} ${type}`);
          }
        }
        const apex = await ask('cluster.local', 'ANY' as RecordType);
        assert.deepEqual(
          (apex.packet.answers ?? []).map((a) => a.type).sort(),
          ['NS', 'SOA'],
          `${label}: ANY at the apex is SOA and NS only`,
        );
        for (const name of ['in-addr.arpa', '10.in-addr.arpa', '96.10.in-addr.arpa', '0.96.10.in-addr.arpa']) {
          const result = await ask(name, 'PTR');
          assert.deepEqual(answerData(result), [], `${label}: no PTR list under ${name}`);
        }
        for (const type of ['AXFR', 'IXFR'] as RecordType[]) {
          for (const zone of ['cluster.local', 'svc.cluster.local', 'default.svc.cluster.local', 'in-addr.arpa']) {
            for (const tcp of [false, true]) {
              const result = await ask(zone, type, tcp);
              assert.equal(result.rcode, 'REFUSED', `${label} ${type} ${zone} over ${tcp ? 'TCP' : 'UDP'}`);
              assert.deepEqual(answerData(result), []);
            }
          }
        }
      }
    });
  },
);

describe(
  'no open recursion: only the configured upstreams are ever asked, and cluster names never leave',
  { timeout: 60_000 },
  () => {
    test('referrals and CNAMEs from an upstream are relayed, never followed to the servers they name', async (t) => {
      // A "server" at 127.0.0.2:53 that the referral's glue and nothing else points at.
      let evilQueries = 0;
      let evil;
      try {
        evil = await startDnsListener({
          host: '127.0.0.2',
          port: 53,
          logger: silentLogger,
          handler: () => {
            evilQueries++;
            return null;
          },
        });
      } catch (error) {
        t.skip(`cannot bind 127.0.0.2:53 for the server a referral points at: ${(error as Error).message}`);
        return;
      }
      t.after(() => evil.close());
      const upstream = await startFakeUpstream((q) => {
        if (q.name.startsWith('deleg.')) {
          return {
            ra: false,
            authorities: [rr('evil.test', 'NS', 'ns.evil.test')],
            additionals: [rr('ns.evil.test', 'A', '127.0.0.2')],
          };
        }
        if (q.name.startsWith('cname.')) return { answers: [rr(q.name, 'CNAME', 'target.elsewhere.test')] };
        if (q.name === 'target.evil.test') return { answers: [rr(q.name, 'A', '192.0.2.55')] };
        return { rcode: 'NXDOMAIN', authorities: [soa('evil.test')] };
      });
      t.after(() => upstream.close());
      const { sim, kubeconfig } = await startSmallCluster(t, 'sec-token');
      sim.objects.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'ext', namespace: 'default' },
        spec: { type: 'ExternalName', externalName: 'target.evil.test' },
      });
      const kubeDns = await startKubeDns([
        `--kubecfg-file=${kubeconfig}`,
        `--nameservers=${upstream.host}:${upstream.port}`,
      ]);
      t.after(() => kubeDns.stop());
      const cache = await startCacheDaemon([`--server=${upstream.label}`]);
      t.after(() => cache.stop());
      await kubeDns.waitReady();
      for (const server of [kubeDns.dns, cache.dns]) {
        const referral = await queryDns(server, 'deleg.evil.test', 'A');
        assert.deepEqual(answerData(referral), [], 'the referral is relayed, not followed');
        const cname = await queryDns(server, 'cname.evil.test', 'A');
        assert.deepEqual(answerData(cname), ['CNAME target.elsewhere.test'], 'a dangling CNAME is relayed as is');
      }
      const ext = await queryDns(kubeDns.dns, 'ext.default.svc.cluster.local', 'A');
      assert.deepEqual(
        answerData(ext),
        ['A 192.0.2.55', 'CNAME target.evil.test'],
        'an ExternalName chased through the configured upstream',
      );
      assert.equal(evilQueries, 0, 'no query went anywhere but the configured upstream');
    });

    test('cluster names never go to the external upstreams: not from the cache while kube-dns is down, not from kube-dns before its sync', async (t) => {
      const pod = await startLocalPod();
      t.after(() => pod.close());
      pod.upstream.recordNames = true;
      await pod.kubeDns.stop('SIGKILL');
      for (const name of [
        'web.default.svc.cluster.local',
        'never-asked.default.svc.cluster.local',
        '20.0.96.10.in-addr.arpa',
      ]) {
        const result = await queryDns(pod.cache.dns, name, name.endsWith('.arpa') ? 'PTR' : 'A', { timeoutMs: 3000 });
        assert.ok(['SERVFAIL', 'NOERROR'].includes(result.rcode), `${name}: ${result.rcode}`);
      }
      assert.deepEqual(
        pod.upstream.names.filter((n) => n.endsWith('cluster.local') || n.endsWith('in-addr.arpa')),
        [],
        'nothing leaked through the cache',
      );

      // kube-dns before its first sync (lists held back): SERVFAIL for its zones, nothing forwarded.
      const { sim, kubeconfig } = await startSmallCluster(t, 'sec-token');
      sim.faults.slowLists(10_000);
      const upstream = await startStubUpstream();
      t.after(() => upstream.close());
      upstream.recordNames = true;
      const kubeDns = await startKubeDns([`--kubecfg-file=${kubeconfig}`, `--nameservers=127.0.0.1:${upstream.port}`]);
      t.after(() => kubeDns.stop());
      assert.equal(await kubeDns.readiness(), 503);
      for (const [name, type] of [
        ['web.default.svc.cluster.local', 'A'],
        ['nothing.cluster.local', 'A'],
        ['20.0.96.10.in-addr.arpa', 'PTR'],
      ] as Array<[string, RecordType]>) {
        assert.equal((await queryDns(kubeDns.dns, name, type)).rcode, 'SERVFAIL', `${name} before the sync`);
      }
      assert.equal(
        (await queryDns(kubeDns.dns, 'probe.example.org', 'A')).rcode,
        'NOERROR',
        'outside names are forwarded',
      );
      assert.deepEqual(upstream.names, ['probe.example.org']);
    });
  },
);

describe('a compromised upstream cannot plant records in the cache', { timeout: 60_000 }, () => {
  test('extra answer records, glue and out-of-zone SOAs for cluster and other names are never cached or served', async (t) => {
    const evilSoa = (zone: string) =>
      rr(
        zone,
        'SOA',
        { mname: 'ns.evil.', rname: 'x.evil.', serial: 666, refresh: 1, retry: 1, expire: 1, minimum: 300 },
        300,
      );
    const evil = await startFakeUpstream((q) =>
      q.name === 'bait.example.test'
        ? {
            answers: [
              rr(q.name, 'A', '192.0.2.1'),
              rr('web.default.svc.cluster.local', 'A', '6.6.6.6', 86400),
              rr('victim.test', 'A', '6.6.6.6', 86400),
            ],
            authorities: [rr('cluster.local', 'NS', 'ns.evil.test', 86400)],
            additionals: [
              rr('web.default.svc.cluster.local', 'A', '6.6.6.7', 86400),
              rr('ns.evil.test', 'A', '6.6.6.8'),
            ],
          }
        : { rcode: 'NXDOMAIN', authorities: [evilSoa('cluster.local'), evilSoa('victim.test')] },
    );
    t.after(() => evil.close());
    const legit = await startFakeUpstream((q) =>
      q.type === 'A' && q.name === 'victim.test' ? { answers: [rr(q.name, 'A', '192.0.2.99')] } : { rcode: 'NXDOMAIN' },
    );
    t.after(() => legit.close());
    const pod = await startLocalPod();
    t.after(() => pod.close());
    // The Pod's cache, with the compromised server as its default upstream and a stub domain of its own.
    const cache = await startCacheDaemon([
      '--cache-size=1000',
      `--server=/cluster.local/127.0.0.1#${pod.kubeDnsPort}`,
      `--server=/victim.test/${legit.label}`,
      `--server=${evil.label}`,
    ]);
    t.after(() => cache.stop());
    assert.deepEqual(answerData(await queryDns(cache.dns, 'bait.example.test', 'A')), [
      'A 192.0.2.1',
      'A 6.6.6.6',
      'A 6.6.6.6',
    ]);
    await queryDns(cache.dns, 'nothing.example.test', 'A');
    assert.deepEqual(answerData(await queryDns(cache.dns, 'web.default.svc.cluster.local', 'A')), ['A 10.96.0.20']);
    assert.deepEqual(answerData(await queryDns(cache.dns, 'victim.test', 'A')), ['A 192.0.2.99']);
    const soaAnswer = await queryDns(cache.dns, 'cluster.local', 'SOA');
    assert.ok(
      (soaAnswer.packet.answers ?? []).every((a) => (a as { data?: { serial?: number } }).data?.serial !== 666),
      'the zone SOA comes from kube-dns',
    );
    const negative = await queryDns(cache.dns, 'missing.default.svc.cluster.local', 'A');
    assert.equal(negative.rcode, 'NXDOMAIN');
    assert.ok(
      (negative.packet.authorities ?? []).every((a) => (a as { data?: { serial?: number } }).data?.serial !== 666),
    );
  });
});

describe('credentials never logged', { timeout: 90_000 }, () => {
  test('bearer token and kubeconfig contents: at debug verbosity, through 401s, a lost apiserver and a failed start', async (t) => {
    const token = `tok-${randomBytes(16).toString('hex')}`;
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const { sim, kubeconfig } = await startSmallCluster(t, token);
    const logs: string[] = [];

    const kubeDns = await startKubeDns([`--kubecfg-file=${kubeconfig}`, '--v=10', '--nameservers=127.0.0.1:9'], {
      env: { LOG_LEVEL: 'debug' },
    });
    await kubeDns.waitReady();
    sim.faults.rejectAuth(true);
    sim.faults.dropWatches();
    await waitUntil('401s seen', () => sim.requests.count({ status: 401 }) >= 3, { timeoutMs: 15_000 });
    sim.faults.rejectAuth(false);
    await sim.faults.restart(300);
    await waitUntil('watches back', () => sim.openWatches().length >= 3, { timeoutMs: 20_000 });
    await kubeDns.stop('SIGTERM');
    logs.push(kubeDns.stderr());
    const starting = kubeDns.lines.find((l) => l.message === 'starting');
    assert.equal((starting?.['config'] as { verbosity?: number } | undefined)?.verbosity, 10, 'ran at --v=10 (debug)');

    // A wrong token: the startup failure line names the problem, not the credential.
    const wrong = `tok-${randomBytes(16).toString('hex')}`;
    const wrongConfig = await writeKubeconfig(sim, { token: wrong });
    const failed = spawnDaemon('kube-dns', [
      `--kubecfg-file=${wrongConfig}`,
      '--dns-bind-address=127.0.0.1',
      '--dns-port=0',
      '--healthz-port=0',
      '--initial-sync-timeout=2s',
      '--v=10',
    ]);
    assert.equal((await failed.exited).code, 1);
    logs.push(failed.stderr());

    // Credentials in the master URL.
    const withPassword = spawnDaemon('kube-dns', [
      `--kube-master-url=http://admin:${password}@127.0.0.1:${sim.port}/?token=${token}`,
      '--dns-bind-address=127.0.0.1',
      '--dns-port=0',
      '--healthz-port=0',
      '--initial-sync-timeout=2s',
      '--v=10',
    ]);
    await withPassword.exited;
    logs.push(withPassword.stderr());

    const all = logs.join('\n');
    for (const secret of [token, wrong, password, Buffer.from(token).toString('base64')]) {
      assert.ok(!all.includes(secret), `a credential appears in the logs (${secret.slice(0, 6)}…)`);
    }
    assert.ok(!all.includes(await readFile(kubeconfig, 'utf8')));
  });

  test('client certificate and key in the kubeconfig (HTTPS)', { skip: missingTool('openssl') }, async (t) => {
    const pki = generateTestCertificates({ dir: await tempDir('pki') });
    const sim = await startApiServer({
      tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert, ca: pki.caCert },
    });
    t.after(() => sim.close());
    seedSmallCluster(sim);
    const kubeconfig = await writeKubeconfig(sim, { clientCert: { cert: pki.clientCert, key: pki.clientKey } });
    const kubeDns = await startKubeDns([`--kubecfg-file=${kubeconfig}`, '--v=10', '--nameservers=127.0.0.1:9']);
    await kubeDns.waitReady();
    sim.faults.rejectAuth(true);
    sim.faults.dropWatches();
    await waitUntil('401s seen', () => sim.requests.count({ status: 401 }) >= 3, { timeoutMs: 15_000 });
    await kubeDns.stop('SIGTERM');
    const log = kubeDns.stderr();
    const keyBody = pki.clientKey.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
    assert.ok(keyBody.length > 0);
    for (const line of keyBody) assert.ok(!log.includes(line), 'a line of the client key appears in the logs');
    const base64Key = Buffer.from(pki.clientKey).toString('base64');
    assert.ok(!log.includes(base64Key.slice(10, 60)), 'the base64 of the key (as in a kubeconfig) appears in the logs');
  });
});

/** One HTTP request with any method (fetch refuses TRACE). */
function request(url: string, method: string, body: string): Promise<{ status: number; allow: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers['allow'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('health and metrics endpoints are read-only', { timeout: 60_000 }, () => {
  test('every other method is 405 on every endpoint of the three programs, and changes nothing', async (t) => {
    const pod = await startLocalPod({ cacheArgs: ['--metrics-port=0', '--metrics-address=127.0.0.1'] });
    t.after(() => pod.close());
    await waitUntil('sidecar probes ok', async () => (await pod.sidecar.health('kubedns')).status === 200, {
      timeoutMs: 10_000,
    });
    assert.ok(pod.cache.metricsPort !== null);
    const urls = [
      `http://127.0.0.1:${pod.kubeDns.healthzPort}/readiness`,
      `http://127.0.0.1:${pod.kubeDns.healthzPort}/healthz`,
      `http://127.0.0.1:${pod.kubeDns.metricsPort}/metrics`,
      `http://127.0.0.1:${pod.cache.metricsPort}/metrics`,
      `http://127.0.0.1:${pod.sidecar.httpPort}/healthcheck/kubedns`,
      `http://127.0.0.1:${pod.sidecar.httpPort}/healthz`,
      `http://127.0.0.1:${pod.sidecar.httpPort}/metrics`,
      `http://127.0.0.1:${pod.sidecar.httpPort}/`,
    ];
    // The sidecar's probes keep the DNS counters moving; the watch's series only change if the store does.
    const watchSeries = async (): Promise<string> =>
      (await pod.kubeDns.metrics())
        .split('\n')
        .filter((l) => /^skydns_skydns_watch_(relists|restarts|synced|connected|invalid)/.test(l))
        .join('\n');
    const watchBefore = await watchSeries();
    for (const url of urls) {
      assert.equal((await fetch(url)).status, 200, `GET ${url}`);
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
        const response = await request(url, method, method === 'TRACE' ? '' : 'x=1');
        assert.equal(response.status, 405, `${method} ${url}`);
        assert.equal(response.allow, 'GET, HEAD', `${method} ${url}: Allow`);
      }
      assert.equal((await fetch(url)).status, 200, `GET ${url} still 200 afterwards`);
    }
    assert.equal(await pod.kubeDns.readiness(), 200, 'readiness unchanged');
    assert.equal(await watchSeries(), watchBefore, 'no watch state changed');
    assert.equal((await pod.sidecar.health('kubedns')).status, 200);
    assert.ok(pod.kubeDns.running() && pod.cache.running() && pod.sidecar.running());
  });
});
