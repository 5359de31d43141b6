import { canonicalIp, isDns1123Label } from '@kube-dns/daemon-kit';
import type {
  EndpointGroup,
  EndpointRecord,
  EndpointSubset,
  PodRecord,
  PortRecord,
  Protocol,
  ServiceRecord,
} from '../model.js';

/**
 * Kubernetes objects (as JSON from a watch, or the client's list models, which use the same field names) →
 * the slim model. Only DNS-relevant fields survive. Anything unusable is skipped, and the reasons are
 * returned so the caller can log them once per object.
 */

export type Slim<T> = { record: T | null; problems: string[] };

interface Meta {
  name?: string;
  namespace?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

type Raw = Record<string, unknown> & { metadata?: Meta };

const PROTOCOLS: Record<string, Protocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/** The object's metadata name and namespace, checked: every name we serve must be a DNS label. */
function identity(object: Raw, namespaced: boolean, problems: string[]): { namespace: string; name: string } | null {
  const name = text(object.metadata?.name);
  const namespace = namespaced ? text(object.metadata?.namespace) : '';
  if (name === null || namespace === null) {
    problems.push('missing metadata.name or metadata.namespace');
    return null;
  }
  if (namespaced && !isDns1123Label(namespace)) {
    problems.push(`namespace "${namespace}" is not a DNS label`);
    return null;
  }
  return { namespace, name };
}

function ips(values: unknown[], problems: string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const ip = typeof value === 'string' ? canonicalIp(value) : null;
    if (ip === null) problems.push(`invalid IP ${JSON.stringify(value)}`);
    else if (!out.includes(ip)) out.push(ip);
  }
  return out;
}

function ports(values: unknown[], problems: string[]): PortRecord[] {
  const out: PortRecord[] = [];
  for (const value of values) {
    const port = asObject(value);
    const protocol = PROTOCOLS[typeof port['protocol'] === 'string' ? port['protocol'] : 'TCP'];
    const number = port['port'];
    const name = typeof port['name'] === 'string' ? port['name'].toLowerCase() : '';
    if (protocol === undefined) {
      problems.push(
        `port ${JSON.stringify(port['name'] ?? number)}: unknown protocol ${JSON.stringify(port['protocol'])}`,
      );
    } else if (typeof number !== 'number' || !Number.isInteger(number) || number < 1 || number > 65535) {
      // An EndpointSlice port without a number means "all ports": nothing DNS can publish.
      if (number !== null && number !== undefined) problems.push(`port ${JSON.stringify(name)}: invalid number`);
    } else if (name !== '' && !isDns1123Label(name)) {
      problems.push(`port name "${name}" is not a DNS label`);
    } else {
      out.push({ name, protocol, port: number });
    }
  }
  return out;
}

/** A Service: ClusterIP (any type with cluster IPs), Headless (clusterIP None or empty), or ExternalName. */
export function toServiceRecord(object: Raw): Slim<ServiceRecord> {
  const problems: string[] = [];
  const id = identity(object, true, problems);
  if (id === null) return { record: null, problems };
  if (!isDns1123Label(id.name)) return { record: null, problems: [`name "${id.name}" is not a DNS label`] };
  const spec = asObject(object['spec']);
  const servicePorts = ports(asArray(spec['ports']), problems);
  if (spec['type'] === 'ExternalName') {
    const target = text(spec['externalName'])?.toLowerCase().replace(/\.$/, '') ?? null;
    if (target === null || !isDomainName(target)) {
      problems.push(`externalName ${JSON.stringify(spec['externalName'])} is not a domain name`);
      return { record: null, problems };
    }
    return {
      record: { ...id, kind: 'ExternalName', clusterIPs: [], externalName: target, ports: servicePorts },
      problems,
    };
  }
  const listed = asArray(spec['clusterIPs']);
  const raw = listed.length > 0 ? listed : spec['clusterIP'] === undefined ? [] : [spec['clusterIP']];
  const headless = raw.length === 0 || raw.every((ip) => ip === 'None' || ip === '');
  if (headless) {
    return { record: { ...id, kind: 'Headless', clusterIPs: [], externalName: null, ports: servicePorts }, problems };
  }
  const clusterIPs = ips(
    raw.filter((ip) => ip !== 'None' && ip !== ''),
    problems,
  );
  return { record: { ...id, kind: 'ClusterIP', clusterIPs, externalName: null, ports: servicePorts }, problems };
}

/** A name we could answer a CNAME with: labels of 1–63 octets, at most 253 in all, no empty label. */
function isDomainName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 253 &&
    name
      .split('.')
      .every((label) => label.length > 0 && label.length <= 63 && /^[a-z0-9_*]([a-z0-9_-]*[a-z0-9_])?$/.test(label))
  );
}

function hostname(value: unknown, problems: string[]): { ok: boolean; hostname: string | null } {
  if (value === undefined || value === null || value === '') return { ok: true, hostname: null };
  const name = typeof value === 'string' ? value.toLowerCase() : '';
  if (!isDns1123Label(name)) {
    problems.push(`endpoint hostname ${JSON.stringify(value)} is not a DNS label`);
    return { ok: false, hostname: null };
  }
  return { ok: true, hostname: name };
}

function podName(targetRef: unknown): string | null {
  const ref = asObject(targetRef);
  return ref['kind'] === 'Pod' && typeof ref['name'] === 'string' ? ref['name'] : null;
}

/** A discovery.k8s.io/v1 EndpointSlice: one subset. FQDN slices and slices of no Service are skipped. */
export function toEndpointGroupFromSlice(object: Raw): Slim<EndpointGroup> {
  const problems: string[] = [];
  const id = identity(object, true, problems);
  if (id === null) return { record: null, problems };
  const serviceName = text(object.metadata?.labels?.[SERVICE_NAME_LABEL]);
  // Slices of no Service (custom slices without the label) are not DNS-visible: skipped quietly.
  if (serviceName === null) return { record: null, problems };
  if (!isDns1123Label(serviceName))
    return { record: null, problems: [`service name "${serviceName}" is not a DNS label`] };
  const addressType = object['addressType'];
  if (addressType !== 'IPv4' && addressType !== 'IPv6') {
    return { record: null, problems: [`addressType ${JSON.stringify(addressType)} is not served`] };
  }
  const endpoints: EndpointRecord[] = [];
  for (const value of asArray(object['endpoints'])) {
    const endpoint = asObject(value);
    const addresses = ips(asArray(endpoint['addresses']), problems).filter((ip) =>
      addressType === 'IPv4' ? !ip.includes(':') : ip.includes(':'),
    );
    const host = hostname(endpoint['hostname'], problems);
    if (addresses.length === 0 || !host.ok) continue;
    const conditions = asObject(endpoint['conditions']);
    endpoints.push({
      addresses,
      hostname: host.hostname,
      ready: conditions['ready'] !== false,
      podName: podName(endpoint['targetRef']),
    });
  }
  const subset: EndpointSubset = { ports: ports(asArray(object['ports']), problems), endpoints };
  return { record: { ...id, serviceName, subsets: [subset] }, problems };
}

/** A v1 Endpoints object: `addresses` are ready, `notReadyAddresses` are not. */
export function toEndpointGroupFromEndpoints(object: Raw): Slim<EndpointGroup> {
  const problems: string[] = [];
  const id = identity(object, true, problems);
  if (id === null) return { record: null, problems };
  if (!isDns1123Label(id.name)) return { record: null, problems: [`name "${id.name}" is not a DNS label`] };
  const subsets: EndpointSubset[] = [];
  for (const value of asArray(object['subsets'])) {
    const subset = asObject(value);
    const endpoints: EndpointRecord[] = [];
    const add = (list: unknown, ready: boolean): void => {
      for (const entry of asArray(list)) {
        const address = asObject(entry);
        const addresses = ips([address['ip']], problems);
        const host = hostname(address['hostname'], problems);
        if (addresses.length === 0 || !host.ok) continue;
        endpoints.push({ addresses, hostname: host.hostname, ready, podName: podName(address['targetRef']) });
      }
    };
    add(subset['addresses'], true);
    add(subset['notReadyAddresses'], false);
    subsets.push({ ports: ports(asArray(subset['ports']), problems), endpoints });
  }
  return { record: { ...id, serviceName: id.name, subsets }, problems };
}

export function toNamespaceName(object: Raw): Slim<string> {
  const problems: string[] = [];
  const id = identity(object, false, problems);
  if (id === null) return { record: null, problems };
  if (!isDns1123Label(id.name)) return { record: null, problems: [`namespace "${id.name}" is not a DNS label`] };
  return { record: id.name, problems };
}

/** A Pod, for `--pod-records=verified`: its IPs (`status.podIPs`, else `status.podIP`). */
export function toPodRecord(object: Raw): Slim<PodRecord> {
  const problems: string[] = [];
  const id = identity(object, true, problems);
  if (id === null) return { record: null, problems };
  const status = asObject(object['status']);
  const listed = asArray(status['podIPs']).map((entry) => asObject(entry)['ip']);
  const raw = listed.length > 0 ? listed : status['podIP'] ? [status['podIP']] : [];
  return { record: { ...id, ips: ips(raw, problems) }, problems };
}

/** `endpoints.kubernetes.io/last-change-trigger-time` in ms since the epoch, or null when absent or invalid. */
export function lastChangeTriggerTime(object: Raw): number | null {
  const value = object.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME];
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}
