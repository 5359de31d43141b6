import type { RecordType } from 'dns-packet';
import type { ApiServerHandle } from '@kube-dns/apiserver-sim';

/**
 * What the simulator's objects imply kube-dns answers, computed here from the objects themselves (not from
 * kube-dns's store): the oracle for "no ghosts, no losses". It covers the shapes the churn creates: IPv4
 * ClusterIP services and headless services with EndpointSlices, named TCP ports.
 */

export const ZONE = 'cluster.local';

export interface ExpectedAnswer {
  name: string;
  type: RecordType;
  rcode: 'NOERROR' | 'NXDOMAIN';
  /** `answerData` form, sorted. */
  data: string[];
}

type Json = Record<string, unknown>;

interface Port {
  name?: string;
  port: number;
  protocol?: string;
}

function reverseName(ip: string): string {
  return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
}

function dashed(ip: string): string {
  return ip.replace(/\./g, '-');
}

export function key(name: string, type: string): string {
  return `${name.toLowerCase()} ${type}`;
}

/** The expected answer of every name the current objects define, keyed by `key(name, type)`. */
export function expectedAnswers(sim: ApiServerHandle): Map<string, ExpectedAnswer> {
  const out = new Map<string, ExpectedAnswer>();
  const set = (name: string, type: RecordType, rcode: ExpectedAnswer['rcode'], data: string[]): void => {
    out.set(key(name, type), { name, type, rcode, data: [...data].sort() });
  };
  const slices = sim.objects.list('EndpointSlice') as Json[];
  for (const service of sim.objects.list('Service') as Json[]) {
    const meta = service['metadata'] as { name: string; namespace: string };
    const spec = service['spec'] as { clusterIP?: string; ports?: Port[]; type?: string };
    const fqdn = `${meta.name}.${meta.namespace}.svc.${ZONE}`;
    const namedPorts = (spec.ports ?? []).filter((p) => p.name);
    if (spec.clusterIP && spec.clusterIP !== 'None') {
      set(fqdn, 'A', 'NOERROR', [`A ${spec.clusterIP}`]);
      for (const port of namedPorts) {
        const proto = (port.protocol ?? 'TCP').toLowerCase();
        set(`_${port.name}._${proto}.${fqdn}`, 'SRV', 'NOERROR', [`0 100 ${port.port} ${fqdn}`]);
      }
      set(reverseName(spec.clusterIP), 'PTR', 'NOERROR', [`PTR ${fqdn}`]);
      continue;
    }
    // Headless: ready endpoints of every slice of the service, de-duplicated.
    const ready = new Map<string, string>(); // ip → host label
    for (const slice of slices) {
      const sliceMeta = slice['metadata'] as { namespace: string; labels?: Record<string, string> };
      if (sliceMeta.namespace !== meta.namespace || sliceMeta.labels?.['kubernetes.io/service-name'] !== meta.name) {
        continue;
      }
      for (const endpoint of (slice['endpoints'] as Json[] | undefined) ?? []) {
        const conditions = (endpoint['conditions'] as { ready?: boolean } | undefined) ?? {};
        if (conditions.ready === false) continue;
        for (const ip of (endpoint['addresses'] as string[] | undefined) ?? []) {
          if (!ready.has(ip)) ready.set(ip, (endpoint['hostname'] as string | undefined) ?? dashed(ip));
        }
      }
    }
    if (ready.size === 0) {
      set(fqdn, 'A', 'NXDOMAIN', []);
      continue;
    }
    set(
      fqdn,
      'A',
      'NOERROR',
      [...ready.keys()].map((ip) => `A ${ip}`),
    );
    const hosts = new Map<string, string[]>();
    for (const [ip, host] of ready) hosts.set(host, [...(hosts.get(host) ?? []), ip]);
    for (const [host, ips] of hosts) {
      set(
        `${host}.${fqdn}`,
        'A',
        'NOERROR',
        ips.map((ip) => `A ${ip}`),
      );
    }
    for (const [ip, host] of ready) set(reverseName(ip), 'PTR', 'NOERROR', [`PTR ${host}.${fqdn}`]);
    for (const port of namedPorts) {
      const proto = (port.protocol ?? 'TCP').toLowerCase();
      const targets = [...new Set([...ready.values()])];
      const weight = Math.floor(100 / targets.length);
      set(
        `_${port.name}._${proto}.${fqdn}`,
        'SRV',
        'NOERROR',
        targets.map((host) => `0 ${weight} ${port.port} ${host}.${fqdn}`),
      );
    }
  }
  return out;
}

/**
 * Names seen so far (in any expectation) keep being checked after they disappear: then they must be
 * NXDOMAIN (a PTR of an address that left the cluster is forwarded, and the test upstream says NXDOMAIN).
 */
export class NameLedger {
  private readonly seen = new Map<string, { name: string; type: RecordType }>();

  /** The expectations now, plus NXDOMAIN for every name seen before that no object defines any more. */
  expectations(sim: ApiServerHandle): ExpectedAnswer[] {
    const current = expectedAnswers(sim);
    for (const [k, answer] of current) this.seen.set(k, { name: answer.name, type: answer.type });
    const out = [...current.values()];
    for (const [k, { name, type }] of this.seen) {
      if (!current.has(k)) out.push({ name, type, rcode: 'NXDOMAIN', data: [] });
    }
    return out;
  }
}
