import type { KubeObject } from '@kube-dns/apiserver-sim';
import type { ClusterStateWriter, EndpointGroup, PodRecord, ServiceRecord } from '@kube-dns/kubedns';

/** Test objects as the apiserver would hold them. */
export function clusterIpService(
  namespace: string,
  name: string,
  ip: string,
  ports: Array<[string, number]> = [],
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name },
    spec: {
      clusterIP: ip,
      clusterIPs: [ip],
      ports: ports.map(([portName, port]) => ({ ...(portName ? { name: portName } : {}), port, protocol: 'TCP' })),
    },
  };
}

export function headlessService(namespace: string, name: string, ports: Array<[string, number]> = []): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name },
    spec: { clusterIP: 'None', ports: ports.map(([portName, port]) => ({ name: portName, port, protocol: 'TCP' })) },
  };
}

export function externalNameService(namespace: string, name: string, target: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name },
    spec: { type: 'ExternalName', externalName: target },
  };
}

export interface EndpointSpec {
  ip: string;
  hostname?: string;
  ready?: boolean;
  pod?: string;
}

export function endpointSlice(
  namespace: string,
  service: string,
  sliceName: string,
  endpoints: EndpointSpec[],
  ports: Array<[string, number]> = [],
  annotations: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name: sliceName, labels: { 'kubernetes.io/service-name': service }, annotations },
    addressType: endpoints.some((e) => e.ip.includes(':')) ? 'IPv6' : 'IPv4',
    ports: ports.map(([name, port]) => ({ name, port, protocol: 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      ...(e.hostname ? { hostname: e.hostname } : {}),
      conditions: { ready: e.ready ?? true },
      ...(e.pod ? { targetRef: { kind: 'Pod', name: e.pod, namespace } } : {}),
    })),
  };
}

export function endpointsObject(
  namespace: string,
  name: string,
  endpoints: EndpointSpec[],
  ports: Array<[string, number]> = [],
): KubeObject {
  const address = (e: EndpointSpec) => ({ ip: e.ip, ...(e.hostname ? { hostname: e.hostname } : {}) });
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { namespace, name },
    subsets: [
      {
        addresses: endpoints.filter((e) => e.ready !== false).map(address),
        notReadyAddresses: endpoints.filter((e) => e.ready === false).map(address),
        ports: ports.map(([portName, port]) => ({ name: portName, port, protocol: 'TCP' })),
      },
    ],
  };
}

export function pod(namespace: string, name: string, ips: string[]): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Running', podIP: ips[0], podIPs: ips.map((ip) => ({ ip })) },
  };
}

export function namespace(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

/** A ClusterStateWriter that keeps exactly what it was told, to compare with the apiserver's state. */
export class RecordingWriter implements ClusterStateWriter {
  readonly services = new Map<string, ServiceRecord>();
  readonly endpoints = new Map<string, EndpointGroup>();
  readonly namespaces = new Set<string>();
  readonly pods = new Map<string, PodRecord>();
  readonly operations: string[] = [];
  private synced = false;

  upsertService(service: ServiceRecord): void {
    this.operations.push(`upsertService ${service.namespace}/${service.name}`);
    this.services.set(`${service.namespace}/${service.name}`, service);
  }
  deleteService(namespace: string, name: string): void {
    this.operations.push(`deleteService ${namespace}/${name}`);
    this.services.delete(`${namespace}/${name}`);
  }
  upsertEndpoints(group: EndpointGroup): void {
    this.operations.push(`upsertEndpoints ${group.namespace}/${group.name}`);
    this.endpoints.set(`${group.namespace}/${group.name}`, group);
  }
  deleteEndpoints(namespace: string, name: string): void {
    this.operations.push(`deleteEndpoints ${namespace}/${name}`);
    this.endpoints.delete(`${namespace}/${name}`);
  }
  upsertNamespace(name: string): void {
    this.namespaces.add(name);
  }
  deleteNamespace(name: string): void {
    this.operations.push(`deleteNamespace ${name}`);
    this.namespaces.delete(name);
  }
  upsertPod(pod: PodRecord): void {
    this.pods.set(`${pod.namespace}/${pod.name}`, pod);
  }
  deletePod(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
  }
  markSynced(): void {
    this.synced = true;
  }
  hasSynced(): boolean {
    return this.synced;
  }
  /** Ready addresses of one service across its groups, sorted. */
  readyAddresses(namespace: string, service: string): string[] {
    const out: string[] = [];
    for (const group of this.endpoints.values()) {
      if (group.namespace !== namespace || group.serviceName !== service) continue;
      for (const subset of group.subsets) for (const e of subset.endpoints) if (e.ready) out.push(...e.addresses);
    }
    return out.sort();
  }
}

/** Short timings so faults recover in tens of milliseconds. */
export const fastWatchTiming = {
  backoffInitialMs: 40,
  backoffMaxMs: 250,
  listTimeoutMs: 5_000,
  watchConnectTimeoutMs: 2_000,
};
