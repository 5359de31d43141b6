import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queryDns, waitUntil } from '../helpers/index.js';
import { loadManifest } from '../manifests/manifest-files.js';
import { callFromRequestAttributes, callKey, grantsFor, permits } from '../manifests/rbac.js';
import { answerData, startSmallCluster } from './support/fixture.js';
import { startKubeDns, tempDir, writeConfigDir } from './support/launch.js';

/**
 * The dynamic half of the RBAC check: the real kube-dns bin runs against the apiserver simulator in each
 * mode, through startup, changes, a cut watch, a lost history (re-list) and a restart of the apiserver,
 * and every request the simulator logged must be allowed by the manifests' ClusterRole (plus the optional
 * file that mode needs, and nothing more). The static half (test/manifests/rbac.test.ts) checks the roles
 * grant exactly the calls in its table.
 */

interface Mode {
  name: string;
  args: (dir: string) => string[];
  /** Optional RBAC files this mode needs besides kube-dns.yaml. */
  files: string[];
  /** Resources this mode must have read. */
  reads: string[];
}

const MODES: Mode[] = [
  {
    name: 'default (EndpointSlices, --config-dir as in the manifest)',
    args: (dir) => [`--config-dir=${dir}`, '--config-period=1s'],
    files: [],
    reads: ['services', 'endpointslices', 'namespaces'],
  },
  {
    name: '--endpoints-api=endpoints',
    args: () => ['--endpoints-api=endpoints'],
    files: ['optional/rbac-endpoints-api.yaml'],
    reads: ['services', 'endpoints', 'namespaces'],
  },
  {
    name: '--pod-records=verified',
    args: () => ['--pod-records=verified'],
    files: ['optional/rbac-pod-records-verified.yaml'],
    reads: ['services', 'endpointslices', 'namespaces', 'pods'],
  },
  {
    name: '--config-map=kube-dns',
    args: () => ['--config-map=kube-dns'],
    files: ['optional/rbac-config-map.yaml'],
    reads: ['services', 'endpointslices', 'namespaces', 'configmaps'],
  },
];

for (const mode of MODES) {
  test(
    `RBAC, dynamically: every request kube-dns makes in ${mode.name} is allowed by the manifests`,
    { timeout: 60_000 },
    async (t) => {
      const { sim, kubeconfig } = await startSmallCluster(t, 'rbac-token');
      sim.objects.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'kube-dns', namespace: 'kube-system' },
        data: { upstreamNameservers: '["127.0.0.1:9"]' },
      });
      sim.objects.create({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'db-0', namespace: 'default' },
        spec: { containers: [{ name: 'db', image: 'db' }] },
        status: { podIP: '10.1.0.1', podIPs: [{ ip: '10.1.0.1' }] },
      });
      const dir = await tempDir('rbac-config');
      await writeConfigDir(dir, { upstreamNameservers: '["127.0.0.1:9"]' });
      const kubeDns = await startKubeDns([`--kubecfg-file=${kubeconfig}`, ...mode.args(dir)]);
      t.after(() => kubeDns.stop());
      await kubeDns.waitReady();

      // Exercise everything the watch does: events, a cut watch (resume), a lost history (re-list), a restart.
      sim.objects.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'late', namespace: 'default' },
        spec: { ports: [{ port: 80 }] },
      });
      await waitUntil(
        'the change served',
        async () => (await queryDns(kubeDns.dns, 'late.default.svc.cluster.local', 'A')).rcode === 'NOERROR',
      );
      sim.faults.dropWatches();
      sim.objects.patch(
        { kind: 'ConfigMap', namespace: 'kube-system', name: 'kube-dns' },
        { data: { upstreamNameservers: '["127.0.0.1:10"]' } },
      );
      sim.objects.delete({ kind: 'Service', namespace: 'default', name: 'late' });
      sim.compact();
      await waitUntil(
        'the re-list served',
        async () => (await queryDns(kubeDns.dns, 'late.default.svc.cluster.local', 'A')).rcode === 'NXDOMAIN',
        { timeoutMs: 15_000 },
      );
      await sim.faults.restart(300, { expireHistory: true });
      sim.objects.create({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'after', namespace: 'default' },
        spec: { ports: [{ port: 80 }] },
      });
      await waitUntil(
        'changes after the apiserver restart served',
        async () => answerData(await queryDns(kubeDns.dns, 'after.default.svc.cluster.local', 'A')).length === 1,
        { timeoutMs: 20_000 },
      );

      const objects = [loadManifest('kube-dns.yaml'), ...mode.files.map((file) => loadManifest(file))].flat();
      const grants = grantsFor(objects, 'kube-system', 'kube-dns');
      const attributes = sim.requests.rbac();
      const calls = attributes.map(callFromRequestAttributes).filter((call) => call !== null);
      const denied = calls.filter((call) => !permits(grants, call)).map(callKey);
      t.diagnostic(`${sim.requests.count()} requests, distinct: ${calls.map(callKey).join('; ')}`);
      assert.deepEqual(denied, [], 'requests the manifests do not allow');
      assert.deepEqual(
        [...new Set(calls.map((c) => c.resource))].sort(),
        [...mode.reads].sort(),
        'exactly the kinds this mode reads',
      );
      assert.ok(
        calls.every((c) => c.verb === 'list' || c.verb === 'watch' || c.verb === 'get'),
        'reads only',
      );
      assert.equal(sim.requests.count({ status: 403 }), 0);
    },
  );
}
