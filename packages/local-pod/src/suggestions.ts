import { isIPv4, isIPv6 } from 'node:net';
import type { ClusterObject } from './cluster-dir.js';
import type { HostPort } from './local-processes.js';

/** A command to try and what it should print. */
export interface Suggestion {
  command: string;
  expect: string;
}

interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
}
interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  externalName?: string;
  ports?: ServicePort[];
}
interface SliceEndpoint {
  addresses?: string[];
  hostname?: string;
  conditions?: { ready?: boolean | null };
}

const MAX_SERVICES = 6;

function dig(server: HostPort, question: string): string {
  const port = server.port === 53 ? '' : ` -p ${server.port}`;
  return `dig @${server.host}${port} +short ${question}`;
}

function clusterIps(spec: ServiceSpec): string[] {
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip !== 'None');
}

/** Ready endpoints of a service, from its EndpointSlices (ready unset counts as ready). */
function readyEndpoints(objects: readonly ClusterObject[], namespace: string, service: string): SliceEndpoint[] {
  return objects
    .filter(
      (o) =>
        o.kind === 'EndpointSlice' &&
        (o.metadata.namespace ?? 'default') === namespace &&
        o.metadata.labels?.['kubernetes.io/service-name'] === service,
    )
    .flatMap((o) => (o['endpoints'] as SliceEndpoint[] | undefined) ?? [])
    .filter((e) => e.conditions?.ready !== false && (e.addresses?.length ?? 0) > 0);
}

function serviceLines(
  objects: readonly ClusterObject[],
  service: ClusterObject,
  domain: string,
  server: HostPort,
): Suggestion[] {
  const namespace = service.metadata.namespace ?? 'default';
  const fqdn = `${service.metadata.name}.${namespace}.svc.${domain}`;
  const spec = (service['spec'] ?? {}) as ServiceSpec;
  if (spec.type === 'ExternalName' && spec.externalName) {
    return [
      { command: dig(server, fqdn), expect: `CNAME ${spec.externalName.replace(/\.$/, '')}. (then its address)` },
    ];
  }
  const ips = clusterIps(spec);
  if (ips.length === 0) {
    const ready = readyEndpoints(objects, namespace, service.metadata.name);
    const addresses = [...new Set(ready.flatMap((e) => e.addresses ?? []))];
    const lines: Suggestion[] = [
      { command: dig(server, fqdn), expect: `headless: ready endpoints ${addresses.join(' ') || '(none: NXDOMAIN)'}` },
    ];
    const named = ready.find((e) => e.hostname !== undefined);
    if (named) lines.push({ command: dig(server, `${named.hostname}.${fqdn}`), expect: named.addresses!.join(' ') });
    const port = spec.ports?.find((p) => p.name);
    if (port && ready.length > 0) {
      lines.push({
        command: dig(server, `_${port.name}._${(port.protocol ?? 'TCP').toLowerCase()}.${fqdn} SRV`),
        expect: `${ready.length} SRV, one per ready endpoint`,
      });
    }
    return lines;
  }
  const lines: Suggestion[] = [];
  const v4 = ips.filter((ip) => isIPv4(ip));
  const v6 = ips.filter((ip) => isIPv6(ip));
  if (v4.length > 0) lines.push({ command: dig(server, fqdn), expect: v4.join(' ') });
  if (v6.length > 0) lines.push({ command: dig(server, `${fqdn} AAAA`), expect: v6.join(' ') });
  return lines;
}

/**
 * The commands printed once the Pod is ready: `kubernetes.default` as the article asks it (also as a Pod's
 * short name through nslookup's search domain), each example service by its kind, and a reverse lookup of
 * the DNS Service's own address. Derived from the objects in the cluster folder at start.
 */
export function suggestQueries(
  objects: readonly ClusterObject[],
  options: { domain: string; server: HostPort },
): Suggestion[] {
  const { domain, server } = options;
  const services = objects
    .filter((o) => o.kind === 'Service')
    .sort((a, b) =>
      `${a.metadata.namespace ?? 'default'}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace ?? 'default'}/${b.metadata.name}`,
      ),
    );
  const isService = (o: ClusterObject, namespace: string, name: string): boolean =>
    (o.metadata.namespace ?? 'default') === namespace && o.metadata.name === name;
  const kubernetes = services.find((s) => isService(s, 'default', 'kubernetes'));
  const kubernetesIp = kubernetes ? clusterIps(kubernetes['spec'] ?? {})[0] : undefined;
  const expectKubernetes = kubernetesIp ?? "the apiserver Service's cluster IP";
  const port = server.port === 53 ? '' : ` -port=${server.port}`;

  const lines: Suggestion[] = [
    { command: dig(server, `kubernetes.default.svc.${domain}`), expect: expectKubernetes },
    {
      command: `nslookup${port} -domain=svc.${domain} -ndots=5 kubernetes.default ${server.host}`,
      expect: `kubernetes.default.svc.${domain} ${expectKubernetes}, as from a Pod`,
    },
  ];
  const others = services.filter((s) => s !== kubernetes && !isService(s, 'kube-system', 'kube-dns'));
  for (const service of others.slice(0, MAX_SERVICES)) lines.push(...serviceLines(objects, service, domain, server));

  const dnsService = services.find((s) => isService(s, 'kube-system', 'kube-dns'));
  const reverse = dnsService ?? kubernetes;
  const reverseIp = reverse ? clusterIps((reverse['spec'] ?? {}) as ServiceSpec).find((ip) => isIPv4(ip)) : undefined;
  if (reverse && reverseIp) {
    lines.push({
      command: dig(server, `-x ${reverseIp}`),
      expect: `${reverse.metadata.name}.${reverse.metadata.namespace ?? 'default'}.svc.${domain}.`,
    });
  }
  return lines;
}

/**
 * Printed with the invitation to edit the cluster: kube-dns serves an edit within a second, but the cache in
 * front of it (the port the suggestions use, as a Pod's queries do) keeps an answer it already gave until its
 * TTL runs out, so asking the same name again through it can show the old answer for up to 30 s.
 */
export function freshAnswersHint(options: { domain: string; kubeDns: HostPort }): string {
  const example = dig(options.kubeDns, `kubernetes.default.svc.${options.domain}`);
  return (
    'kube-dns serves an edit within a second; the cache keeps an answer it already gave for its TTL (30 s), so ' +
    `ask kube-dns itself to see a change at once: ${example}`
  );
}

/** The suggestions as aligned lines: `command   # expect`. */
export function formatSuggestions(suggestions: readonly Suggestion[], indent = '  '): string[] {
  const width = Math.max(...suggestions.map((s) => s.command.length));
  return suggestions.map((s) => `${indent}${s.command.padEnd(width)}   # ${s.expect}`);
}
