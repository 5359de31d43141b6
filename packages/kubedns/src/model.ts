/**
 * The slim, DNS-relevant view of cluster objects. The watch turns Kubernetes objects into these (and only
 * these fields are kept in memory); the record store indexes them; the resolver reads the store.
 * All IPs are canonical (daemon-kit `canonicalIp`), all names lower case.
 */

export type Protocol = 'tcp' | 'udp' | 'sctp';

export interface PortRecord {
  /** '' for an unnamed port. */
  name: string;
  protocol: Protocol;
  port: number;
}

export type ServiceKind = 'ClusterIP' | 'Headless' | 'ExternalName';

export interface ServiceRecord {
  namespace: string;
  name: string;
  kind: ServiceKind;
  /** `spec.clusterIPs` (fallback `spec.clusterIP`), canonical; empty for Headless and ExternalName. */
  clusterIPs: string[];
  /** Lower case, no trailing dot; null unless kind is ExternalName. */
  externalName: string | null;
  ports: PortRecord[];
}

export interface EndpointRecord {
  /** Canonical IPs of one endpoint (an EndpointSlice endpoint may list several of one family). */
  addresses: string[];
  /** `hostname` of the endpoint, or null (then the dashed IP names it). */
  hostname: string | null;
  /** `conditions.ready` true or unset; Endpoints API: listed in `addresses`. */
  ready: boolean;
  /** targetRef name when it is a Pod, else null. */
  podName: string | null;
}

export interface EndpointSubset {
  ports: PortRecord[];
  endpoints: EndpointRecord[];
}

/**
 * One source of endpoints for a Service: an EndpointSlice (one subset), or a v1 Endpoints object
 * (one subset per `subsets[]` entry). A Service may have several groups (several slices).
 */
export interface EndpointGroup {
  namespace: string;
  /** The EndpointSlice's or Endpoints object's own name: the key for updates and deletes. */
  name: string;
  /** The Service it belongs to (EndpointSlice label `kubernetes.io/service-name`; Endpoints: its name). */
  serviceName: string;
  subsets: EndpointSubset[];
}

export interface PodRecord {
  namespace: string;
  name: string;
  /** Canonical `status.podIPs`. */
  ips: string[];
}

/** What the watch calls to change the store. Every call is idempotent. */
export interface ClusterStateWriter {
  upsertService(service: ServiceRecord): void;
  deleteService(namespace: string, name: string): void;
  upsertEndpoints(group: EndpointGroup): void;
  deleteEndpoints(namespace: string, name: string): void;
  upsertNamespace(name: string): void;
  deleteNamespace(name: string): void;
  upsertPod(pod: PodRecord): void;
  deletePod(namespace: string, name: string): void;
  /** The first complete list of every watched kind has been applied: stop answering SERVFAIL. */
  markSynced(): void;
  hasSynced(): boolean;
}
