import { ipFamily, Rcode, RRClass, RRType } from '@kube-dns/daemon-kit';
import type { PortRecord } from '../model.js';
import { dashedIp, podLabelToIp } from '../store/dashed-ip.js';
import type { RecordStore, ServiceSlot } from '../store/record-store.js';
import type { Scope } from '../store/scope.js';
import type { AddressRecord, AnswerMessage, ResourceRecord, Resolution, SrvRecord } from './answer.js';
import { parseReverseName, reverseZoneOf } from './reverse-name.js';

/** The Kubernetes DNS schema version served as `dns-version.<zone>` TXT (spec 1.1.0). */
export const DNS_SCHEMA_VERSION = '1.1.0';
/** CoreDNS's TTL for `dns-version` (K-01): it only changes with the software. */
export const DNS_VERSION_TTL = 28800;
/** CNAMEs followed inside the zone before the chain is cut (CoreDNS `maxCnameChainLength` is 10). */
export const MAX_CNAME_CHAIN = 8;
/**
 * The longest dotted name (no trailing dot) that fits the 255 octets of a wire name. Each label is at most
 * 63 (ingest checks), but a 63-octet hostname, service and namespace in a long zone add up to more: such
 * targets are left out rather than sent as names no resolver can decode.
 */
export const MAX_NAME_TEXT = 253;
export const SOA_REFRESH = 7200;
export const SOA_RETRY = 1800;
export const SOA_EXPIRE = 86400;

export interface Question {
  /** Lower case, dotted, no trailing dot (daemon-kit `QueryView.qname`). */
  name: string;
  type: number;
  /** Defaults to IN. */
  class?: number;
}

/** True for the zone apex and every name below it. */
export function isZoneName(zone: string, name: string): boolean {
  return (
    name === zone || (name.length > zone.length && name.endsWith(zone) && name[name.length - zone.length - 1] === '.')
  );
}

/** Names the authoritative path handles: the zone, and the reverse zones (known IPs; the rest is forwarded). */
export function isAuthoritativeName(zone: string, name: string): boolean {
  return isZoneName(zone, name) || reverseZoneOf(name) !== null;
}

/**
 * Answers one question from the store: the SPEC's answer table and fine print, no sockets, no clocks. Names
 * outside the zone and the reverse zones come back as `forward`.
 */
export function resolve(store: RecordStore, question: Question): Resolution {
  const qclass = question.class ?? RRClass.IN;
  if (qclass !== RRClass.IN && qclass !== RRClass.ANY) return refused();
  if (question.type === RRType.AXFR || question.type === RRType.IXFR) return refused();
  if (!isAuthoritativeName(store.zone, question.name)) return forward;
  // Before the first complete list nothing is known to be absent: never a false NXDOMAIN.
  if (!store.hasSynced()) return message(Rcode.SERVFAIL, false, [], [], [], []);
  const resolver = new Resolver(store);
  return resolver.name(question.name, question.type, [question.name]);
}

const forward: Resolution = { kind: 'forward' };

function refused(): Resolution {
  return message(Rcode.REFUSED, false, [], [], [], []);
}

function message(
  rcode: number,
  authoritative: boolean,
  answer: ResourceRecord[],
  authority: ResourceRecord[],
  additional: ResourceRecord[],
  scopes: Scope[],
): Resolution {
  return { kind: 'answer', message: { rcode, authoritative, answer, authority, additional }, scopes };
}

interface ReadyAddress {
  ip: string;
  /** The endpoint's name under the service: its hostname, else the dashed IP. */
  host: string;
}

class Resolver {
  private readonly zone: string;
  private readonly ttl: number;
  private readonly scopes: Scope[] = [];
  private readonly store: RecordStore;

  constructor(store: RecordStore) {
    this.store = store;
    this.zone = store.zone;
    this.ttl = store.ttl;
  }

  /** `chain` holds the names already visited through CNAMEs, the question first. */
  name(name: string, qtype: number, chain: string[]): Resolution {
    if (isZoneName(this.zone, name)) return this.zoneName(name, qtype, chain);
    if (reverseZoneOf(name) !== null) return this.reverseName(name, qtype);
    return forward;
  }

  private zoneName(name: string, qtype: number, chain: string[]): Resolution {
    if (name === this.zone) return this.apex(qtype);
    const labels = name.slice(0, name.length - this.zone.length - 1).split('.');
    const n = labels.length;
    switch (labels[n - 1]) {
      case 'svc':
        return this.serviceBranch(name, labels, qtype, chain);
      case 'pod':
        return this.podBranch(labels, name, qtype);
      case 'dns-version':
        if (n !== 1) return this.nxdomain();
        return qtype === RRType.TXT || qtype === RRType.ANY
          ? this.positive([{ name, type: RRType.TXT, ttl: DNS_VERSION_TTL, strings: [DNS_SCHEMA_VERSION] }])
          : this.nodata();
      case 'dns':
        // `ns.dns.<zone>` is the SOA's MNAME and the NS target: it exists, but we do not know our Service IP.
        return n === 1 || (n === 2 && labels[0] === 'ns') ? this.nodata() : this.nxdomain();
      default:
        return this.nxdomain();
    }
  }

  private apex(qtype: number): Resolution {
    const answer: ResourceRecord[] = [];
    if (qtype === RRType.SOA || qtype === RRType.ANY) answer.push(this.soa(this.zone, this.ttl));
    if (qtype === RRType.NS || qtype === RRType.ANY) {
      answer.push({ name: this.zone, type: RRType.NS, ttl: this.ttl, target: `ns.dns.${this.zone}` });
    }
    return answer.length > 0 ? this.positive(answer) : this.nodata();
  }

  // ---- <...>.svc.<zone> ----

  private serviceBranch(name: string, labels: string[], qtype: number, chain: string[]): Resolution {
    const n = labels.length;
    if (n === 1) return this.nodata();
    const namespace = labels[n - 2]!;
    this.scopes.push(this.store.namespaceScope(namespace));
    if (n === 2) return this.store.namespaceExists(namespace) ? this.nodata() : this.nxdomain();
    if (n > 5) return this.nxdomain();
    const slot = this.store.service(namespace, labels[n - 3]!);
    if (slot === undefined) return this.nxdomain();
    if (n === 3) return this.serviceNode(slot, name, qtype, chain);
    if (slot.service!.kind === 'ExternalName') return this.nxdomain();
    if (n === 4) return this.childNode(slot, labels[0]!, name, qtype);
    return this.portNode(slot, labels[0]!, labels[1]!, name, qtype);
  }

  /** `<svc>.<ns>.svc.<zone>` */
  private serviceNode(slot: ServiceSlot, name: string, qtype: number, chain: string[]): Resolution {
    const service = slot.service!;
    if (service.kind === 'ExternalName') return this.externalName(slot, name, qtype, chain);
    if (service.kind === 'ClusterIP') {
      if (qtype === RRType.SRV) return this.srvAnswer(this.clusterIpSrv(slot, service.ports, name));
      return this.addressAnswer(name, service.clusterIPs, qtype);
    }
    const ready = readyAddresses(slot);
    if (ready.length === 0) return this.nxdomain();
    if (qtype === RRType.SRV) return this.srvAnswer(this.headlessSrv(slot, allPorts, name));
    return this.addressAnswer(
      name,
      ready.map((r) => r.ip),
      qtype,
    );
  }

  /** `<x>.<svc>.<ns>.svc.<zone>`: an endpoint of a headless service, or the `_<proto>` empty non-terminal. */
  private childNode(slot: ServiceSlot, label: string, name: string, qtype: number): Resolution {
    const service = slot.service!;
    if (label.startsWith('_')) {
      const protocol = label.slice(1);
      const hasPort = (port: PortRecord): boolean => port.name !== '' && port.protocol === protocol;
      const exists =
        service.kind === 'ClusterIP'
          ? service.ports.some(hasPort)
          : readyAddresses(slot).length > 0 && someSubset(slot, (s) => s.ports.some(hasPort));
      return exists ? this.nodata() : this.nxdomain();
    }
    if (service.kind !== 'Headless') return this.nxdomain();
    const addresses: string[] = [];
    for (const ready of readyAddresses(slot)) if (ready.host === label) addresses.push(ready.ip);
    if (addresses.length === 0) return this.nxdomain();
    return this.addressAnswer(name, addresses, qtype);
  }

  /** `_<port>._<proto>.<svc>.<ns>.svc.<zone>` */
  private portNode(slot: ServiceSlot, portLabel: string, protoLabel: string, name: string, qtype: number) {
    if (portLabel.length < 2 || protoLabel.length < 2 || portLabel[0] !== '_' || protoLabel[0] !== '_') {
      return this.nxdomain();
    }
    const portName = portLabel.slice(1);
    const protocol = protoLabel.slice(1);
    const matches = (port: PortRecord): boolean => port.name === portName && port.protocol === protocol;
    const service = slot.service!;
    const srv =
      service.kind === 'ClusterIP'
        ? this.clusterIpSrv(slot, service.ports.filter(matches), name)
        : this.headlessSrv(slot, matches, name);
    if (srv.records.length === 0) return this.nxdomain();
    return qtype === RRType.SRV || qtype === RRType.ANY
      ? this.positive(srv.records, qtype === RRType.SRV ? srv.additional : [])
      : this.nodata();
  }

  private clusterIpSrv(slot: ServiceSlot, ports: readonly PortRecord[], owner: string) {
    const target = serviceFqdn(slot, this.zone);
    const seen = new Set<number>();
    const records: SrvRecord[] = [];
    for (const port of ports) {
      // Ports that differ only in protocol give identical records: never send one twice.
      if (seen.has(port.port)) continue;
      seen.add(port.port);
      records.push({ name: owner, type: RRType.SRV, ttl: this.ttl, priority: 0, weight: 0, port: port.port, target });
    }
    setWeights(records);
    const additional = records.length > 0 ? this.addressRecords(target, slot.service!.clusterIPs, RRType.ANY) : [];
    return { records, additional };
  }

  /** Ready endpoints × the subset's ports that pass `portFilter`; targets `<host>.<svc>.<ns>.svc.<zone>`. */
  private headlessSrv(slot: ServiceSlot, portFilter: (port: PortRecord) => boolean, owner: string) {
    const base = serviceFqdn(slot, this.zone);
    const seen = new Set<string>();
    const records: SrvRecord[] = [];
    const hosts = new Map<string, string[]>();
    for (const subsets of slot.groups.values()) {
      for (const subset of subsets) {
        const ports = subset.ports.filter(portFilter);
        if (ports.length === 0) continue;
        for (let i = 0; i < subset.ips.length; i++) {
          const ip = subset.ips[i]!;
          const host = subset.hosts[i] ?? dashedIp(ip);
          if (host.length + 1 + base.length > MAX_NAME_TEXT) continue;
          const list = hosts.get(host);
          if (list === undefined) hosts.set(host, [ip]);
          else if (!list.includes(ip)) list.push(ip);
          for (const port of ports) {
            const key = `${host}/${port.port}`;
            if (seen.has(key)) continue;
            seen.add(key);
            records.push({
              name: owner,
              type: RRType.SRV,
              ttl: this.ttl,
              priority: 0,
              weight: 0,
              port: port.port,
              target: `${host}.${base}`,
            });
          }
        }
      }
    }
    setWeights(records);
    const additional: ResourceRecord[] = [];
    for (const [host, ips] of hosts) additional.push(...this.addressRecords(`${host}.${base}`, ips, RRType.ANY));
    return { records, additional };
  }

  private srvAnswer(srv: { records: SrvRecord[]; additional: ResourceRecord[] }): Resolution {
    return srv.records.length > 0 ? this.positive(srv.records, srv.additional) : this.nodata();
  }

  private externalName(slot: ServiceSlot, name: string, qtype: number, chain: string[]): Resolution {
    const target = slot.service!.externalName;
    // An IP is not a host name (the Kubernetes docs say such ExternalNames are not resolved): CoreDNS's NXDOMAIN.
    if (!target || ipFamily(target) !== 0) return this.nxdomain();
    // `x CNAME x` would only send resolvers round in a loop (CoreDNS drops it too).
    if (target === name) return this.nodata();
    const cname: ResourceRecord = { name, type: RRType.CNAME, ttl: this.ttl, target };
    if (qtype === RRType.CNAME || qtype === RRType.ANY) return this.positive([cname]);
    if (chain.includes(target) || chain.length >= MAX_CNAME_CHAIN) return this.positive([cname]);
    const next = this.name(target, qtype, [...chain, target]);
    if (next.kind === 'forward') {
      return { kind: 'chase', message: this.positiveMessage([cname]), target, qtype, scopes: this.scopes };
    }
    next.message.answer.unshift(cname);
    next.message.authoritative = true;
    return next;
  }

  // ---- <...>.pod.<zone> ----

  private podBranch(labels: string[], name: string, qtype: number): Resolution {
    const n = labels.length;
    if (n === 1) return this.nodata();
    const namespace = labels[n - 2]!;
    this.scopes.push(this.store.namespaceScope(namespace));
    const mode = this.store.podRecords;
    if (mode === 'verified') this.scopes.push(this.store.podScope);
    if (mode === 'disabled' || n > 3 || !this.store.namespaceExists(namespace)) return this.nxdomain();
    if (n === 2) return this.nodata();
    const ip = podLabelToIp(labels[0]!);
    if (ip === null) return this.nxdomain();
    if (mode === 'verified' && !this.store.podHasIp(namespace, ip)) return this.nxdomain();
    return this.addressAnswer(name, [ip], qtype);
  }

  // ---- reverse zones ----

  private reverseName(name: string, qtype: number): Resolution {
    this.scopes.push(this.store.reverseScope);
    const parsed = parseReverseName(name);
    const zone = reverseZoneOf(name)!;
    if (parsed.kind === 'malformed') {
      return qtype === RRType.PTR ? this.negative(Rcode.NXDOMAIN, zone) : forward;
    }
    const targets: string[] = [];
    for (const slot of this.store.reverseSlots(parsed.ip)) {
      for (const target of ptrTargets(slot, parsed.ip, this.zone)) if (!targets.includes(target)) targets.push(target);
    }
    if (targets.length === 0) return forward;
    if (qtype !== RRType.PTR && qtype !== RRType.ANY) return this.negative(Rcode.NOERROR, zone);
    return this.positive(targets.map((target) => ({ name, type: RRType.PTR, ttl: this.ttl, target })));
  }

  // ---- building blocks ----

  private addressAnswer(name: string, ips: readonly string[], qtype: number): Resolution {
    if (qtype !== RRType.A && qtype !== RRType.AAAA && qtype !== RRType.ANY) return this.nodata();
    const records = this.addressRecords(name, ips, qtype);
    return records.length > 0 ? this.positive(records) : this.nodata();
  }

  /** A and/or AAAA records (qtype ANY: both), de-duplicated, in the given order. */
  private addressRecords(name: string, ips: readonly string[], qtype: number): AddressRecord[] {
    const out: AddressRecord[] = [];
    const seen = new Set<string>();
    for (const ip of ips) {
      const type = ip.includes(':') ? RRType.AAAA : RRType.A;
      if (qtype !== RRType.ANY && type !== qtype) continue;
      if (seen.has(ip)) continue;
      seen.add(ip);
      out.push({ name, type, ttl: this.ttl, address: ip });
    }
    return out;
  }

  private soa(owner: string, ttl: number): ResourceRecord {
    return {
      name: owner,
      type: RRType.SOA,
      ttl,
      mname: `ns.dns.${this.zone}`,
      rname: `hostmaster.${this.zone}`,
      serial: this.store.serial,
      refresh: SOA_REFRESH,
      retry: SOA_RETRY,
      expire: SOA_EXPIRE,
      minimum: this.store.negativeTtl,
    };
  }

  private positiveMessage(answer: ResourceRecord[], additional: ResourceRecord[] = []): AnswerMessage {
    return { rcode: Rcode.NOERROR, authoritative: true, answer, authority: [], additional };
  }

  private positive(answer: ResourceRecord[], additional: ResourceRecord[] = []): Resolution {
    return { kind: 'answer', message: this.positiveMessage(answer, additional), scopes: this.scopes };
  }

  private negative(rcode: number, zone: string = this.zone): Resolution {
    return message(rcode, true, [], [this.soa(zone, this.store.negativeTtl)], [], this.scopes);
  }

  private nodata(): Resolution {
    return this.negative(Rcode.NOERROR);
  }

  private nxdomain(): Resolution {
    return this.negative(Rcode.NXDOMAIN);
  }
}

const allPorts = (): boolean => true;

/** CoreDNS: priority 0, weight ⌊100/n⌋ over the n records. */
function setWeights(records: SrvRecord[]): void {
  const weight = records.length > 0 ? Math.floor(100 / records.length) : 0;
  for (const record of records) record.weight = weight;
}

function serviceFqdn(slot: ServiceSlot, zone: string): string {
  return `${slot.name}.${slot.namespace}.svc.${zone}`;
}

/** Ready addresses of a headless service, de-duplicated across slices (the first slice naming one wins). */
export function readyAddresses(slot: ServiceSlot): ReadyAddress[] {
  const out: ReadyAddress[] = [];
  const seen = new Set<string>();
  for (const subsets of slot.groups.values()) {
    for (const subset of subsets) {
      for (let i = 0; i < subset.ips.length; i++) {
        const ip = subset.ips[i]!;
        if (seen.has(ip)) continue;
        seen.add(ip);
        out.push({ ip, host: subset.hosts[i] ?? dashedIp(ip) });
      }
    }
  }
  return out;
}

function someSubset(slot: ServiceSlot, predicate: (subset: { ports: readonly PortRecord[] }) => boolean): boolean {
  for (const subsets of slot.groups.values()) for (const subset of subsets) if (predicate(subset)) return true;
  return false;
}

/** The PTR targets `slot` gives `ip`. */
function ptrTargets(slot: ServiceSlot, ip: string, zone: string): string[] {
  const service = slot.service;
  const base = serviceFqdn(slot, zone);
  if (service === null) return [];
  if (service.kind === 'ClusterIP') return service.clusterIPs.includes(ip) ? [base] : [];
  if (service.kind !== 'Headless') return [];
  const out: string[] = [];
  for (const subsets of slot.groups.values()) {
    for (const subset of subsets) {
      for (let i = 0; i < subset.ips.length; i++) {
        if (subset.ips[i] !== ip) continue;
        const target = `${subset.hosts[i] ?? dashedIp(ip)}.${base}`;
        if (target.length <= MAX_NAME_TEXT && !out.includes(target)) out.push(target);
      }
    }
  }
  return out;
}
