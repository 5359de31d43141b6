import { writeFileSync } from 'node:fs';
import type { ApiServerHandle, KubeObject } from '@kube-dns/apiserver-sim';

/** The benchmark cluster: ClusterIP services spread over namespaces, and headless services with ready endpoints. */
export interface ClusterShape {
  namespaces: number;
  clusterIpServices: number;
  headlessServices: number;
  endpointsPerHeadless: number;
}

export const fullCluster: ClusterShape = {
  namespaces: 100,
  clusterIpServices: 10_000,
  headlessServices: 2_000,
  endpointsPerHeadless: 25,
};

export const ZONE = 'cluster.local';

export const namespaceName = (i: number): string => `ns-${String(i).padStart(3, '0')}`;
export const serviceName = (i: number): string => `svc-${i}`;
export const headlessName = (i: number): string => `hl-${i}`;
export const serviceFqdn = (i: number, shape: ClusterShape): string =>
  `${serviceName(i)}.${namespaceName(i % shape.namespaces)}.svc.${ZONE}`;
export const headlessFqdn = (i: number, shape: ClusterShape): string =>
  `${headlessName(i)}.${namespaceName(i % shape.namespaces)}.svc.${ZONE}`;

/** Endpoint address number k as an IPv4 in 10.128.0.0/10 (unique per endpoint). */
export function endpointIp(k: number): string {
  return `10.${128 + (k >> 16)}.${(k >> 8) & 255}.${k & 255}`;
}

export function endpointSlice(name: string, namespace: string, service: string, ips: readonly string[]): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

export function clusterIpService(name: string, namespace: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

/** Every object of the cluster, namespaces first; services then their slices. */
export function clusterObjects(shape: ClusterShape): KubeObject[] {
  const objects: KubeObject[] = [];
  for (let n = 0; n < shape.namespaces; n++) {
    objects.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaceName(n) } });
  }
  for (let i = 0; i < shape.clusterIpServices; i++) {
    objects.push(clusterIpService(serviceName(i), namespaceName(i % shape.namespaces)));
  }
  for (let j = 0; j < shape.headlessServices; j++) {
    const namespace = namespaceName(j % shape.namespaces);
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: headlessName(j), namespace },
      spec: { clusterIP: 'None', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
    });
    const ips = Array.from({ length: shape.endpointsPerHeadless }, (_, e) =>
      endpointIp(j * shape.endpointsPerHeadless + e),
    );
    objects.push(endpointSlice(`${headlessName(j)}-slice`, namespace, headlessName(j), ips));
  }
  return objects;
}

const dashed = (ip: string): string => ip.replace(/\./g, '-');

/**
 * The same records kube-dns serves for the cluster, as a zone file for knotd: A of each ClusterIP service,
 * SRV per named port (weight 100/n, target the service, its A as glue), each headless service's ready
 * addresses by service name and by dashed-IP host name, and the headless SRV set. SOA/NS as kube-dns's apex.
 */
export function writeZoneFile(path: string, sim: ApiServerHandle, shape: ClusterShape): void {
  const lines = [
    `$ORIGIN ${ZONE}.`,
    '$TTL 30',
    `@ 5 IN SOA ns.dns.${ZONE}. hostmaster.${ZONE}. 1 7200 1800 86400 5`,
    `@ 30 IN NS ns.dns.${ZONE}.`,
    'ns.dns 30 IN A 10.96.0.10',
  ];
  for (const object of sim.objects.list('services')) {
    const meta = object.metadata as { name: string; namespace: string };
    const spec = object['spec'] as {
      clusterIP?: string;
      ports?: Array<{ name?: string; port: number; protocol?: string }>;
    };
    const owner = `${meta.name}.${meta.namespace}.svc`;
    if (spec.clusterIP === undefined || spec.clusterIP === 'None') continue;
    if (!meta.namespace.startsWith('ns-')) continue;
    lines.push(`${owner} A ${spec.clusterIP}`);
    for (const port of spec.ports ?? []) {
      if (!port.name) continue;
      lines.push(
        `_${port.name}._${(port.protocol ?? 'TCP').toLowerCase()}.${owner} SRV 0 100 ${port.port} ${owner}.${ZONE}.`,
      );
    }
  }
  for (let j = 0; j < shape.headlessServices; j++) {
    const owner = `${headlessName(j)}.${namespaceName(j % shape.namespaces)}.svc`;
    const weight = Math.floor(100 / shape.endpointsPerHeadless);
    for (let e = 0; e < shape.endpointsPerHeadless; e++) {
      const ip = endpointIp(j * shape.endpointsPerHeadless + e);
      lines.push(`${owner} A ${ip}`);
      lines.push(`${dashed(ip)}.${owner} A ${ip}`);
      lines.push(`_http._tcp.${owner} SRV 0 ${weight} 8080 ${dashed(ip)}.${owner}.${ZONE}.`);
    }
  }
  writeFileSync(path, lines.join('\n') + '\n');
}

/** A dnsperf data file: one `name TYPE` per line. */
export function writeQueryFile(path: string, queries: ReadonlyArray<readonly [string, string]>): void {
  writeFileSync(path, queries.map(([name, type]) => `${name} ${type}`).join('\n') + '\n');
}
