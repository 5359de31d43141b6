import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startApiServer } from '@kube-dns/apiserver-sim';
import { parseCommandLine } from '@kube-dns/kubedns/cli';
import { main } from '@kube-dns/kubedns/main';
import { captureLog, waitUntil } from '../helpers/index.js';
import { kubeDnsTestFlags } from '../helpers/kube-dns-flags.js';
import { callFromRequestAttributes, callKey, kubeDnsCalls } from './rbac.js';

/**
 * The other direction of rbac.test.ts: that test proves the manifests grant exactly the table, this one that
 * the table is exactly what kube-dns calls. For each row, kube-dns runs (in-process) with that row's flags
 * against the apiserver simulator, and the distinct calls the simulator saw (RBAC's verb, resource, namespace,
 * name) must cover that row and stay within the default row plus that row: a grant the program never uses (the
 * ConfigMap `get` the first version of optional/rbac-config-map.yaml had) fails here, as does a call the table
 * misses. With the default flags the calls are exactly the default row.
 */
const base = kubeDnsCalls.find((entry) => entry.file === 'kube-dns.yaml')!;

for (const entry of kubeDnsCalls) {
  test(`kube-dns ${entry.flags?.join(' ') || 'with the default flags'} calls exactly what the table lists for ${entry.file}`, async (t) => {
    const sim = await startApiServer({
      tokens: ['rbac-calls'],
      seed: [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'kube-dns', namespace: 'kube-system' },
          data: { upstreamNameservers: '["127.0.0.1:9"]' },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: 'default' },
          spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80 }] },
        },
      ],
    });
    t.after(() => sim.close());
    const dir = await mkdtemp(join(tmpdir(), 'rbac-calls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const kubeconfig = join(dir, 'kubeconfig');
    await writeFile(kubeconfig, sim.kubeconfig({ token: 'rbac-calls' }));
    const handle = await main(parseCommandLine(kubeDnsTestFlags(kubeconfig, entry.flags ?? [])), {
      logger: captureLog().logger,
    });
    t.after(() => handle.close());

    const row = [...new Set(entry.calls.map(callKey))].sort();
    const made = (): string[] =>
      [
        ...new Set(
          sim.requests
            .rbac()
            .map(callFromRequestAttributes)
            .filter((call) => call !== null)
            .map(callKey),
        ),
      ].sort();
    // Lists come first, watches once each list is in: wait for every call of the row, then compare.
    await waitUntil('every call of the row made', () => row.every((key) => made().includes(key)), {
      timeoutMs: 10_000,
      intervalMs: 20,
    }).catch(() => undefined);
    if (entry === base) {
      assert.deepEqual(made(), row);
    } else {
      // An optional mode replaces or adds to what the default flags read (--endpoints-api=endpoints reads
      // Endpoints instead of EndpointSlices): its row is all made, and nothing beyond the two rows.
      const allowed = new Set([...base.calls.map(callKey), ...row]);
      assert.deepEqual(
        row.filter((key) => !made().includes(key)),
        [],
        'granted but never called',
      );
      assert.deepEqual(
        made().filter((key) => !allowed.has(key)),
        [],
        'called but not in the table',
      );
    }
    assert.equal(sim.requests.count({ status: 403 }), 0);
  });
}
