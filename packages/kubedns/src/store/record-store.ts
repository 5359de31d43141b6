import type {
  ClusterStateWriter,
  EndpointGroup,
  EndpointSubset,
  PodRecord,
  PortRecord,
  ServiceRecord,
} from '../model.js';
import { newScope, type Scope } from './scope.js';
import { sameService, sameStoredSubsets } from './equality.js';

export type PodRecordsMode = 'disabled' | 'insecure' | 'verified';

export interface RecordStoreOptions {
  /** The cluster domain, lower case, no trailing dot: `cluster.local`. */
  zone: string;
  /** TTL of every record made from cluster data (`--ttl`). */
  ttl: number;
  /** TTL and SOA minimum of negative answers (`--negative-ttl`). */
  negativeTtl: number;
  podRecords: PodRecordsMode;
  /** Milliseconds since the epoch; the SOA serial is the last change in seconds. */
  now?: () => number;
}

/**
 * The ready addresses of one endpoint subset, flat: `ips[i]` belongs to an endpoint whose hostname is
 * `hosts[i]` (null: none; the dashed IP names it). Not-ready endpoints are not kept at all.
 */
export interface StoredSubset {
  readonly ports: readonly PortRecord[];
  readonly ips: readonly string[];
  readonly hosts: readonly (string | null)[];
}

/**
 * Everything the store holds for one `<ns>/<name>`: the Service (null while only its endpoints are known:
 * informers deliver kinds in any order) and its endpoint groups, each reduced to ready addresses.
 */
export interface ServiceSlot {
  readonly namespace: string;
  readonly name: string;
  /** A compact copy: strings shared with the slot, port lists shared between services. */
  service: ServiceRecord | null;
  /** Endpoint group name → its subsets with ready addresses (subsets without any dropped). */
  readonly groups: Map<string, StoredSubset[]>;
}

interface NamespaceEntry {
  readonly name: string;
  /** A Namespace object exists. */
  declared: boolean;
  readonly slots: Map<string, ServiceSlot>;
  /** Slots that hold a Service. */
  serviceCount: number;
  /** Pod name → its IPs (verified mode only). */
  readonly pods: Map<string, string[]>;
  /** Pod IP → how many pods of this namespace have it. */
  readonly podIps: Map<string, number>;
  readonly scope: Scope;
}

export interface RecordStoreCounts {
  services: number;
  endpointGroups: number;
  /** Ready endpoint addresses over all groups (an address in two slices counts twice). */
  readyAddresses: number;
  namespaces: number;
  pods: number;
  /** IPs with a PTR record. */
  reverseEntries: number;
}

/**
 * The in-memory cluster state kube-dns answers from, indexed the way queries arrive: namespace → service
 * slot, IP → slots for PTR, pods by IP per namespace. Every write is incremental (one slot at a time) and
 * idempotent; an unchanged object does not count as a change. Reads are for the resolver.
 */
export class RecordStore implements ClusterStateWriter {
  readonly zone: string;
  readonly ttl: number;
  readonly negativeTtl: number;
  readonly podRecords: PodRecordsMode;
  /** Bumped when a namespace appears: answers about names in unknown namespaces depend on it. */
  readonly absentNamespaceScope: Scope = newScope();
  /** Bumped by any change to PTR data. */
  readonly reverseScope: Scope = newScope();
  /** Bumped by any pod change (verified mode). */
  readonly podScope: Scope = newScope();

  private readonly now: () => number;
  private readonly namespaces = new Map<string, NamespaceEntry>();
  /** `<ns>/<group name>` → the service it belongs to, for deletes and relabelled slices. */
  private readonly groupOwners = new Map<string, string>();
  /** IP → the slot (or slots, rarely) with a PTR for it. */
  private readonly reverse = new Map<string, ServiceSlot | ServiceSlot[]>();
  /** Port lists shared between services (most services have one of a few shapes). */
  private readonly portLists = new Map<string, PortRecord[]>();
  private synced = false;
  private lastChangeSeconds: number;
  private changeCount = 0;
  private readonly counts = { services: 0, endpointGroups: 0, readyAddresses: 0, namespaces: 0, pods: 0 };
  private readonly changeListeners: Array<() => void> = [];

  constructor(options: RecordStoreOptions) {
    this.zone = options.zone.replace(/\.$/, '').toLowerCase();
    this.ttl = options.ttl;
    this.negativeTtl = options.negativeTtl;
    this.podRecords = options.podRecords;
    this.now = options.now ?? Date.now;
    this.lastChangeSeconds = Math.floor(this.now() / 1000);
  }

  // ---- ClusterStateWriter ----

  upsertService(service: ServiceRecord): void {
    const entry = this.namespaceEntry(service.namespace, true);
    const slot = this.slot(entry, service.name, true);
    const previous = slot.service;
    if (previous !== null && sameService(previous, service)) return;
    const before = this.reverseIpsOf(slot);
    slot.service = {
      namespace: slot.namespace,
      name: slot.name,
      kind: service.kind,
      clusterIPs: service.kind === 'ClusterIP' && service.clusterIPs.length > 0 ? service.clusterIPs : noIps,
      externalName: service.kind === 'ExternalName' ? normalizeName(service.externalName) : null,
      ports: this.sharedPorts(service.ports),
    };
    if (previous === null) {
      entry.serviceCount++;
      this.counts.services++;
    }
    this.updateReverse(slot, before, this.reverseIpsOf(slot));
    this.changed(entry);
  }

  deleteService(namespace: string, name: string): void {
    const entry = this.namespaces.get(namespace);
    const slot = entry?.slots.get(name);
    if (!entry || !slot || slot.service === null) return;
    const before = this.reverseIpsOf(slot);
    slot.service = null;
    entry.serviceCount--;
    this.counts.services--;
    this.updateReverse(slot, before, []);
    this.dropSlotIfEmpty(entry, slot);
    this.changed(entry);
    this.dropNamespaceIfEmpty(entry);
  }

  upsertEndpoints(group: EndpointGroup): void {
    const subsets = storedSubsets(group.subsets, (ports) => this.sharedPorts(ports));
    const ownerKey = `${group.namespace}/${group.name}`;
    const previousOwner = this.groupOwners.get(ownerKey);
    const entry = this.namespaceEntry(group.namespace, true);
    if (previousOwner !== undefined && previousOwner !== group.serviceName) {
      // The slice now belongs to another service (its service-name label changed).
      this.removeGroup(entry, previousOwner, group.name);
    }
    const slot = this.slot(entry, group.serviceName, true);
    const old = slot.groups.get(group.name);
    if (old !== undefined && sameStoredSubsets(old, subsets)) return;
    const before = this.reverseIpsOf(slot);
    slot.groups.set(group.name, subsets);
    this.groupOwners.set(ownerKey, group.serviceName);
    if (old === undefined) this.counts.endpointGroups++;
    this.counts.readyAddresses += addressCount(subsets) - (old ? addressCount(old) : 0);
    this.updateReverse(slot, before, this.reverseIpsOf(slot));
    this.changed(entry);
  }

  deleteEndpoints(namespace: string, name: string): void {
    const ownerKey = `${namespace}/${name}`;
    const owner = this.groupOwners.get(ownerKey);
    const entry = this.namespaces.get(namespace);
    if (owner === undefined || !entry) return;
    this.removeGroup(entry, owner, name);
    this.changed(entry);
    this.dropNamespaceIfEmpty(entry);
  }

  upsertNamespace(name: string): void {
    const entry = this.namespaceEntry(name, true);
    if (entry.declared) return;
    entry.declared = true;
    this.counts.namespaces++;
    this.changed(entry);
  }

  deleteNamespace(name: string): void {
    const entry = this.namespaces.get(name);
    if (!entry || !entry.declared) return;
    entry.declared = false;
    this.counts.namespaces--;
    this.changed(entry);
    this.dropNamespaceIfEmpty(entry);
  }

  upsertPod(pod: PodRecord): void {
    if (this.podRecords !== 'verified') return;
    const entry = this.namespaceEntry(pod.namespace, true);
    const old = entry.pods.get(pod.name);
    if (old !== undefined && sameStrings(old, pod.ips)) return;
    if (old !== undefined) this.forgetPodIps(entry, old);
    else this.counts.pods++;
    entry.pods.set(pod.name, pod.ips);
    for (const ip of pod.ips) entry.podIps.set(ip, (entry.podIps.get(ip) ?? 0) + 1);
    this.podScope.gen++;
    this.changed(entry);
  }

  deletePod(namespace: string, name: string): void {
    const entry = this.namespaces.get(namespace);
    const old = entry?.pods.get(name);
    if (!entry || old === undefined) return;
    this.forgetPodIps(entry, old);
    entry.pods.delete(name);
    this.counts.pods--;
    this.podScope.gen++;
    this.changed(entry);
    this.dropNamespaceIfEmpty(entry);
  }

  markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.touch();
  }

  hasSynced(): boolean {
    return this.synced;
  }

  // ---- reads ----

  /** SOA serial: Unix time of the last change (or of the store's creation). */
  get serial(): number {
    return this.lastChangeSeconds >>> 0;
  }

  /** How many writes changed something: a cheap "did anything change" for callers. */
  get changes(): number {
    return this.changeCount;
  }

  /** A Namespace object exists, or a Service lives there (informers deliver kinds in any order). */
  namespaceExists(namespace: string): boolean {
    const entry = this.namespaces.get(namespace);
    return entry !== undefined && (entry.declared || entry.serviceCount > 0);
  }

  /** The version answers about `namespace` depend on. */
  namespaceScope(namespace: string): Scope {
    return this.namespaces.get(namespace)?.scope ?? this.absentNamespaceScope;
  }

  /** The slot of an existing Service, or undefined. */
  service(namespace: string, name: string): ServiceSlot | undefined {
    const slot = this.namespaces.get(namespace)?.slots.get(name);
    return slot?.service ? slot : undefined;
  }

  /** The Services with a PTR record for `ip` (canonical): by cluster IP or by ready headless endpoint. */
  reverseSlots(ip: string): readonly ServiceSlot[] {
    const slots = this.reverse.get(ip);
    return slots === undefined ? noSlots : Array.isArray(slots) ? slots : [slots];
  }

  /** Verified pod records: a Pod with this IP lives in the namespace. */
  podHasIp(namespace: string, ip: string): boolean {
    return (this.namespaces.get(namespace)?.podIps.get(ip) ?? 0) > 0;
  }

  size(): RecordStoreCounts {
    return { ...this.counts, reverseEntries: this.reverse.size };
  }

  /** Called after every change (synchronously): for caches and metrics. */
  onChange(listener: () => void): void {
    this.changeListeners.push(listener);
  }

  // ---- internals ----

  private namespaceEntry(name: string, create: true): NamespaceEntry;
  private namespaceEntry(name: string, create: boolean): NamespaceEntry | undefined {
    let entry = this.namespaces.get(name);
    if (!entry && create) {
      entry = {
        name,
        declared: false,
        slots: new Map(),
        serviceCount: 0,
        pods: new Map(),
        podIps: new Map(),
        scope: newScope(),
      };
      this.namespaces.set(name, entry);
      this.absentNamespaceScope.gen++;
    }
    return entry;
  }

  private slot(entry: NamespaceEntry, name: string, create: true): ServiceSlot {
    let slot = entry.slots.get(name);
    if (!slot && create) {
      slot = { namespace: entry.name, name, service: null, groups: new Map() };
      entry.slots.set(name, slot);
    }
    return slot!;
  }

  private removeGroup(entry: NamespaceEntry, serviceName: string, groupName: string): void {
    const slot = entry.slots.get(serviceName);
    this.groupOwners.delete(`${entry.name}/${groupName}`);
    const old = slot?.groups.get(groupName);
    if (!slot || old === undefined) return;
    const before = this.reverseIpsOf(slot);
    slot.groups.delete(groupName);
    this.counts.endpointGroups--;
    this.counts.readyAddresses -= addressCount(old);
    this.updateReverse(slot, before, this.reverseIpsOf(slot));
    this.dropSlotIfEmpty(entry, slot);
  }

  private dropSlotIfEmpty(entry: NamespaceEntry, slot: ServiceSlot): void {
    if (slot.service === null && slot.groups.size === 0) entry.slots.delete(slot.name);
  }

  private dropNamespaceIfEmpty(entry: NamespaceEntry): void {
    if (entry.declared || entry.slots.size > 0 || entry.pods.size > 0) return;
    this.namespaces.delete(entry.name);
    // Answers cached against this entry must not survive it.
    entry.scope.gen++;
  }

  private forgetPodIps(entry: NamespaceEntry, ips: readonly string[]): void {
    for (const ip of ips) {
      const count = (entry.podIps.get(ip) ?? 0) - 1;
      if (count > 0) entry.podIps.set(ip, count);
      else entry.podIps.delete(ip);
    }
  }

  /**
   * The IPs this slot has PTR records for: its cluster IPs, or for a headless Service every ready endpoint
   * address. O(endpoints of this one Service).
   */
  private reverseIpsOf(slot: ServiceSlot): Set<string> {
    const out = new Set<string>();
    const service = slot.service;
    if (service === null) return out;
    if (service.kind === 'ClusterIP') {
      for (const ip of service.clusterIPs) out.add(ip);
    } else if (service.kind === 'Headless') {
      for (const subsets of slot.groups.values())
        for (const subset of subsets) for (const ip of subset.ips) out.add(ip);
    }
    return out;
  }

  private updateReverse(slot: ServiceSlot, before: Set<string>, after: Iterable<string>): void {
    let changed = false;
    for (const ip of after) {
      if (before.delete(ip)) continue;
      const slots = this.reverse.get(ip);
      if (slots === undefined) this.reverse.set(ip, slot);
      else if (Array.isArray(slots)) {
        if (!slots.includes(slot)) slots.push(slot);
      } else if (slots !== slot) this.reverse.set(ip, [slots, slot]);
      changed = true;
    }
    for (const ip of before) {
      const slots = this.reverse.get(ip);
      if (slots === undefined) continue;
      if (!Array.isArray(slots)) {
        if (slots === slot) this.reverse.delete(ip);
      } else {
        const rest = slots.filter((s) => s !== slot);
        this.reverse.set(ip, rest.length === 1 ? rest[0]! : rest);
      }
      changed = true;
    }
    // A hostname change keeps the IPs but changes the PTR target: any change to a slot with PTRs counts.
    if (changed || slot.service?.kind === 'Headless' || slot.service?.kind === 'ClusterIP') this.reverseScope.gen++;
  }

  /** One shared array per distinct port list, so 10k services with `http/tcp/80` hold it once. Never mutated. */
  private sharedPorts(ports: readonly PortRecord[]): PortRecord[] {
    if (ports.length === 0) return noPorts;
    let key = '';
    for (const p of ports) key += `${p.name}/${p.protocol}/${p.port},`;
    const known = this.portLists.get(key);
    if (known !== undefined) return known;
    const copy = ports.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port }));
    // Bounded: past this many distinct lists, new ones are simply not shared.
    if (this.portLists.size < MAX_SHARED_PORT_LISTS) this.portLists.set(key, copy);
    return copy;
  }

  private changed(entry: NamespaceEntry): void {
    entry.scope.gen++;
    this.touch();
  }

  private touch(): void {
    this.changeCount++;
    this.lastChangeSeconds = Math.floor(this.now() / 1000);
    for (const listener of this.changeListeners) listener();
  }
}

const noSlots: readonly ServiceSlot[] = [];
const noIps: string[] = [];
const noPorts: PortRecord[] = [];
const MAX_SHARED_PORT_LISTS = 10_000;

/** The ready addresses of each subset, flat; subsets without any are dropped. */
function storedSubsets(
  subsets: readonly EndpointSubset[],
  sharedPorts: (ports: readonly PortRecord[]) => readonly PortRecord[],
): StoredSubset[] {
  const out: StoredSubset[] = [];
  for (const subset of subsets) {
    const ips: string[] = [];
    const hosts: (string | null)[] = [];
    for (const endpoint of subset.endpoints) {
      if (!endpoint.ready) continue;
      for (const ip of endpoint.addresses) {
        ips.push(ip);
        hosts.push(endpoint.hostname);
      }
    }
    if (ips.length > 0) out.push({ ports: sharedPorts(subset.ports), ips, hosts });
  }
  return out;
}

/** Lower case without a trailing dot, whatever the API held. */
function normalizeName(name: string | null): string | null {
  if (name === null) return null;
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  return trimmed.toLowerCase();
}

function addressCount(subsets: readonly StoredSubset[]): number {
  let n = 0;
  for (const subset of subsets) n += subset.ips.length;
  return n;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
