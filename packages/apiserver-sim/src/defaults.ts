import { ApiError, invalid } from './api-error.js';
import { ClusterIpAllocator } from './ip-allocator.js';
import { isPlainObject, type KubeObject } from './kube-object.js';
import type { ResourceType } from './resources.js';

/** How a write arrived: the REST API resets or keeps status like the real server; `direct` writes keep it all. */
export type WriteMode = 'api' | 'direct' | 'status';

type Json = Record<string, unknown>;

const NAME_RULES: Record<ResourceType['nameRule'], { pattern: RegExp; max: number; text: string }> = {
  'dns1123-subdomain': {
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    max: 253,
    text: "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
  },
  'dns1123-label': {
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    max: 63,
    text: "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
  },
  'dns1035-label': {
    pattern: /^[a-z]([-a-z0-9]*[a-z0-9])?$/,
    max: 63,
    text: "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
  },
};

export function validateName(type: ResourceType, name: string): void {
  const rule = NAME_RULES[type.nameRule];
  if (name === '') throw invalid(type, name, 'metadata.name', 'Required value: name or generateName is required');
  if (name.length > rule.max || !rule.pattern.test(name)) {
    throw invalid(type, name, 'metadata.name', `Invalid value: ${JSON.stringify(name)}: ${rule.text}`);
  }
}

/** Allocations the defaults need: cluster IPs and node ports. */
export class ServiceAllocations {
  readonly clusterIps: ClusterIpAllocator;
  private readonly nodePortsInUse = new Set<number>();
  private nextNodePort = 30000;

  constructor(serviceCidrs: readonly string[]) {
    this.clusterIps = new ClusterIpAllocator(serviceCidrs);
  }

  allocateNodePort(): number | undefined {
    for (let i = 0; i <= 2767; i++) {
      const port = this.nextNodePort;
      this.nextNodePort = port >= 32767 ? 30000 : port + 1;
      if (!this.nodePortsInUse.has(port)) {
        this.nodePortsInUse.add(port);
        return port;
      }
    }
    return undefined;
  }

  reserveNodePort(port: number): void {
    this.nodePortsInUse.add(port);
  }

  releaseNodePort(port: number): void {
    this.nodePortsInUse.delete(port);
  }
}

/**
 * Fills in what the real apiserver defaults and checks what it must reject, in place. `old` is the stored
 * version on update. Throws ApiError (422) for invalid objects.
 */
export function applyDefaults(
  type: ResourceType,
  object: KubeObject,
  old: KubeObject | undefined,
  mode: WriteMode,
  allocations: ServiceAllocations,
): void {
  switch (type.resource) {
    case 'services':
      defaultService(type, object, old, allocations);
      break;
    case 'pods':
      defaultPod(object, old, mode);
      break;
    case 'namespaces':
      defaultNamespace(object, old, mode);
      break;
    case 'endpointslices':
      defaultEndpointSlice(type, object);
      break;
    case 'endpoints':
      defaultEndpoints(object);
      break;
  }
}

/** Returns what a deleted object held (cluster IPs, node ports) to the allocators. */
export function releaseAllocations(type: ResourceType, object: KubeObject, allocations: ServiceAllocations): void {
  if (type.resource !== 'services') return;
  for (const ip of serviceIps(object)) allocations.clusterIps.release(ip);
  for (const port of nodePorts(object)) allocations.releaseNodePort(port);
}

function spec(object: KubeObject): Json {
  if (!isPlainObject(object['spec'])) object['spec'] = {};
  return object['spec'] as Json;
}

function serviceIps(object: KubeObject | undefined): string[] {
  const s = object?.['spec'];
  if (!isPlainObject(s)) return [];
  const ips = Array.isArray(s['clusterIPs']) ? (s['clusterIPs'] as unknown[]) : [s['clusterIP']];
  return ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None');
}

function nodePorts(object: KubeObject | undefined): number[] {
  const s = object?.['spec'];
  if (!isPlainObject(s) || !Array.isArray(s['ports'])) return [];
  return (s['ports'] as unknown[])
    .map((p) => (isPlainObject(p) ? p['nodePort'] : undefined))
    .filter((p): p is number => typeof p === 'number');
}

const FAMILY_NAMES = { 4: 'IPv4', 6: 'IPv6' } as const;

function defaultService(
  type: ResourceType,
  object: KubeObject,
  old: KubeObject | undefined,
  allocations: ServiceAllocations,
): void {
  const name = object.metadata.name ?? '';
  const s = spec(object);
  s['type'] ??= 'ClusterIP';
  s['sessionAffinity'] ??= 'None';
  const serviceType = s['type'];
  if (!['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'].includes(String(serviceType))) {
    throw invalid(type, name, 'spec.type', `Unsupported value: ${JSON.stringify(serviceType)}`);
  }
  const ports = Array.isArray(s['ports']) ? (s['ports'] as unknown[]) : [];
  for (const port of ports) {
    if (!isPlainObject(port)) continue;
    port['protocol'] ??= 'TCP';
    if (serviceType !== 'ExternalName') port['targetPort'] ??= port['port'];
  }
  const oldIps = serviceIps(old);
  const oldNodePorts = nodePorts(old);
  if (serviceType === 'ExternalName') {
    if (typeof s['externalName'] !== 'string' || s['externalName'] === '') {
      throw invalid(type, name, 'spec.externalName', 'Required value');
    }
    delete s['clusterIP'];
    delete s['clusterIPs'];
    delete s['ipFamilies'];
    delete s['ipFamilyPolicy'];
    delete s['internalTrafficPolicy'];
  } else {
    s['internalTrafficPolicy'] ??= 'Cluster';
    const oldSpec = old?.['spec'];
    if (isPlainObject(oldSpec) && oldSpec['type'] !== 'ExternalName') {
      // Since 1.20 the server keeps allocated values an update leaves out.
      if (s['clusterIP'] === undefined || s['clusterIP'] === '') {
        if (oldSpec['clusterIP'] !== undefined) s['clusterIP'] = oldSpec['clusterIP'];
        if (s['clusterIPs'] === undefined && oldSpec['clusterIPs'] !== undefined)
          s['clusterIPs'] = oldSpec['clusterIPs'];
      }
      if (s['ipFamilies'] === undefined && oldSpec['ipFamilies'] !== undefined) s['ipFamilies'] = oldSpec['ipFamilies'];
      if (s['ipFamilyPolicy'] === undefined && oldSpec['ipFamilyPolicy'] !== undefined) {
        s['ipFamilyPolicy'] = oldSpec['ipFamilyPolicy'];
      }
      if (oldSpec['clusterIP'] !== undefined && s['clusterIP'] !== oldSpec['clusterIP']) {
        throw invalid(type, name, 'spec.clusterIPs[0]', 'Invalid value: field is immutable');
      }
    }
    assignClusterIps(type, name, s, allocations);
    if (serviceType === 'NodePort' || serviceType === 'LoadBalancer') {
      s['externalTrafficPolicy'] ??= 'Cluster';
      for (const port of ports) {
        if (!isPlainObject(port)) continue;
        if (typeof port['nodePort'] === 'number') allocations.reserveNodePort(port['nodePort']);
        else port['nodePort'] = allocations.allocateNodePort();
      }
    }
  }
  const newIps = new Set(serviceIps(object));
  for (const ip of oldIps) if (!newIps.has(ip)) allocations.clusterIps.release(ip);
  const newPorts = new Set(nodePorts(object));
  for (const port of oldNodePorts) if (!newPorts.has(port)) allocations.releaseNodePort(port);
  if (!isPlainObject(object['status'])) object['status'] = { loadBalancer: {} };
}

function assignClusterIps(type: ResourceType, name: string, s: Json, allocations: ServiceAllocations): void {
  const configured = allocations.clusterIps.families;
  const primary = configured[0]!;
  let ips = Array.isArray(s['clusterIPs']) ? (s['clusterIPs'] as unknown[]).map(String) : [];
  const single = typeof s['clusterIP'] === 'string' && s['clusterIP'] !== '' ? s['clusterIP'] : undefined;
  if (ips.length === 0 && single !== undefined) ips = [single];
  if (single !== undefined && ips[0] !== single) {
    throw invalid(type, name, 'spec.clusterIPs', 'Invalid value: must have the same first entry as spec.clusterIP');
  }
  const policy = typeof s['ipFamilyPolicy'] === 'string' ? s['ipFamilyPolicy'] : 'SingleStack';
  if (!['SingleStack', 'PreferDualStack', 'RequireDualStack'].includes(policy)) {
    throw invalid(type, name, 'spec.ipFamilyPolicy', `Unsupported value: ${JSON.stringify(policy)}`);
  }
  s['ipFamilyPolicy'] = policy;
  let families: (4 | 6)[];
  if (Array.isArray(s['ipFamilies']) && s['ipFamilies'].length > 0) {
    families = (s['ipFamilies'] as unknown[]).map((f) => (f === 'IPv6' ? 6 : 4));
  } else if (ips.length > 0 && ips[0] !== 'None') {
    families = ips.map((ip): 4 | 6 => (ClusterIpAllocator.familyOf(ip) === 6 ? 6 : 4));
  } else if (policy === 'SingleStack') {
    families = [primary];
  } else {
    families = [...configured];
  }
  if (policy === 'RequireDualStack' && configured.length < 2) {
    throw invalid(
      type,
      name,
      'spec.ipFamilyPolicy',
      'Invalid value: this cluster is not configured for dual-stack services',
    );
  }
  if (policy !== 'SingleStack' && families.length === 1 && configured.length === 2 && ips[0] !== 'None') {
    families.push(configured.find((f) => f !== families[0])!);
  }
  if (ips[0] === 'None') {
    s['clusterIP'] = 'None';
    s['clusterIPs'] = ['None'];
    s['ipFamilies'] = families.map((f) => FAMILY_NAMES[f]);
    return;
  }
  for (const ip of ips) {
    const family = ClusterIpAllocator.familyOf(ip);
    if (family === 0)
      throw invalid(type, name, 'spec.clusterIPs', `Invalid value: ${JSON.stringify(ip)}: must be a valid IP address`);
    allocations.clusterIps.reserve(ip);
  }
  for (let i = ips.length; i < families.length; i++) {
    const ip = allocations.clusterIps.allocate(families[i]!);
    if (ip === undefined) {
      if (i > 0 && policy === 'PreferDualStack') break;
      throw new ApiError(
        500,
        'InternalError',
        `Internal error occurred: failed to allocate a serviceIP: range is full`,
      );
    }
    ips.push(ip);
  }
  s['clusterIP'] = ips[0];
  s['clusterIPs'] = ips;
  s['ipFamilies'] = ips.map((ip) => FAMILY_NAMES[ClusterIpAllocator.familyOf(ip) === 6 ? 6 : 4]);
}

function defaultPod(object: KubeObject, old: KubeObject | undefined, mode: WriteMode): void {
  const s = spec(object);
  s['restartPolicy'] ??= 'Always';
  s['dnsPolicy'] ??= 'ClusterFirst';
  s['schedulerName'] ??= 'default-scheduler';
  s['terminationGracePeriodSeconds'] ??= 30;
  s['enableServiceLinks'] ??= true;
  if (mode === 'api' && old === undefined) object['status'] = { phase: 'Pending', qosClass: 'BestEffort' };
  else if (!isPlainObject(object['status'])) object['status'] = { phase: 'Pending' };
}

function defaultNamespace(object: KubeObject, old: KubeObject | undefined, mode: WriteMode): void {
  const s = spec(object);
  s['finalizers'] ??= ['kubernetes'];
  object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name ?? '' };
  if ((mode === 'api' && old === undefined) || !isPlainObject(object['status'])) object['status'] = { phase: 'Active' };
}

function defaultEndpointSlice(type: ResourceType, object: KubeObject): void {
  const addressType = object['addressType'];
  if (!['IPv4', 'IPv6', 'FQDN'].includes(String(addressType))) {
    throw invalid(
      type,
      object.metadata.name ?? '',
      'addressType',
      addressType === undefined ? 'Required value' : `Unsupported value: ${JSON.stringify(addressType)}`,
    );
  }
  const ports = object['ports'];
  if (Array.isArray(ports)) for (const port of ports) if (isPlainObject(port)) port['protocol'] ??= 'TCP';
}

function defaultEndpoints(object: KubeObject): void {
  const subsets = object['subsets'];
  if (!Array.isArray(subsets)) return;
  for (const subset of subsets) {
    if (!isPlainObject(subset) || !Array.isArray(subset['ports'])) continue;
    for (const port of subset['ports'] as unknown[]) if (isPlainObject(port)) port['protocol'] ??= 'TCP';
  }
}
