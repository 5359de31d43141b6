import type { RecordType } from 'dns-packet';
import type { TestContext } from 'node:test';
import { startApiServer, type ApiServerHandle } from '@kube-dns/apiserver-sim';
import type { QueryResult } from '../../helpers/index.js';
import type { Probe } from './fuzz-campaign.js';
import { writeKubeconfig } from './launch.js';

/** The simulator seeded with the small cluster (closed after the test), and a kubeconfig presenting `token`. */
export async function startSmallCluster(
  t: TestContext,
  token: string,
): Promise<{ sim: ApiServerHandle; kubeconfig: string }> {
  const sim = await startApiServer({ tokens: [token] });
  t.after(() => sim.close());
  seedSmallCluster(sim);
  return { sim, kubeconfig: await writeKubeconfig(sim, { token }) };
}

/**
 * A small cluster every reliability test can seed: a ClusterIP service, a headless one with ready and
 * unready endpoints, and the answers they imply.
 */
export function seedSmallCluster(sim: ApiServerHandle): void {
  sim.objects.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  });
  sim.objects.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db', namespace: 'default' },
    spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
  });
  sim.objects.create({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'db-abcde', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } },
    addressType: 'IPv4',
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    endpoints: [
      { addresses: ['10.1.0.1'], hostname: 'db-0', conditions: { ready: true } },
      { addresses: ['10.1.0.2'], conditions: { ready: true } },
      { addresses: ['10.1.0.3'], hostname: 'db-2', conditions: { ready: false } },
    ],
  });
}

/** The data of each answer record as text (A address, SRV `prio weight port target`, PTR/CNAME target). */
export function answerData(result: QueryResult): string[] {
  return (result.packet.answers ?? [])
    .filter((rr) => rr.type !== 'OPT')
    .map((rr) => {
      const data = (rr as { data: unknown }).data;
      if (rr.type === 'SRV') {
        const d = data as { priority: number; weight: number; port: number; target: string };
        return `${d.priority} ${d.weight} ${d.port} ${d.target.toLowerCase()}`;
      }
      if (rr.type === 'TXT') return (data as Buffer[]).map((b) => b.toString()).join('');
      return `${rr.type} ${String(data).toLowerCase()}`;
    })
    .sort();
}

/** A probe expecting exactly this rcode and these answer records (`answerData` form, any order). */
export function expectAnswer(name: string, type: RecordType, rcode: string, data: string[]): Probe {
  const want = [...data].sort();
  return {
    name,
    type,
    check(result) {
      if (result.rcode !== rcode) return `rcode ${result.rcode}, expected ${rcode}`;
      if (result.flags.tc) return null;
      const got = answerData(result);
      return JSON.stringify(got) === JSON.stringify(want)
        ? null
        : `answers ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
    },
  };
}

/** What `seedSmallCluster` (plus the stub upstream for example.org) answers. */
export const smallClusterProbes: Probe[] = [
  expectAnswer('web.default.svc.cluster.local', 'A', 'NOERROR', ['A 10.96.0.20']),
  expectAnswer('db.default.svc.cluster.local', 'A', 'NOERROR', ['A 10.1.0.1', 'A 10.1.0.2']),
  expectAnswer('db-0.db.default.svc.cluster.local', 'A', 'NOERROR', ['A 10.1.0.1']),
  expectAnswer('_http._tcp.web.default.svc.cluster.local', 'SRV', 'NOERROR', [
    '0 100 80 web.default.svc.cluster.local',
  ]),
  expectAnswer('20.0.96.10.in-addr.arpa', 'PTR', 'NOERROR', ['PTR web.default.svc.cluster.local']),
  expectAnswer('missing.default.svc.cluster.local', 'A', 'NXDOMAIN', []),
  expectAnswer('probe.example.org', 'A', 'NOERROR', ['A 192.0.2.1']),
];
