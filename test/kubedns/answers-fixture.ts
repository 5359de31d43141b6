import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket } from 'dns-packet';
import { rcodeToString, RRType, silentLogger, typeToString } from '@kube-dns/daemon-kit';
import {
  createKubeDnsAnswerer,
  RecordStore,
  resolve,
  type DnsForwarder,
  type KubeDnsAnswerer,
  type KubeDnsHandlerDeps,
  type EndpointGroup,
  type PortRecord,
  type Protocol,
  type Resolution,
  type ResourceRecord,
  type ServiceRecord,
} from '@kube-dns/kubedns';

/**
 * Cluster fixtures for the answering half of kube-dns, and zone-line rendering of answers so tables read like
 * CoreDNS's `test.A("svc.ns.svc.cluster.local. 5 IN A 10.0.0.1")`.
 */

export const ZONE = 'cluster.local';
export const TTL = 30;
export const NEG_TTL = 5;
/** The store's clock is fixed, so the SOA serial is known. */
export const NOW_MS = 1_700_000_000_000;
export const SERIAL = NOW_MS / 1000;
export const SOA_LINE = `cluster.local. ${NEG_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${NEG_TTL}`;

/** `http/tcp/80`, `/tcp/8080` (unnamed). */
export function ports(...specs: string[]): PortRecord[] {
  return specs.map((spec) => {
    const [name, protocol, port] = spec.split('/') as [string, Protocol, string];
    return { name, protocol, port: Number(port) };
  });
}

export function clusterIp(ref: string, ips: string[], portSpecs: string[] = []): ServiceRecord {
  const [namespace, name] = ref.split('/') as [string, string];
  return { namespace, name, kind: 'ClusterIP', clusterIPs: ips, externalName: null, ports: ports(...portSpecs) };
}

export function headless(ref: string, portSpecs: string[] = []): ServiceRecord {
  const [namespace, name] = ref.split('/') as [string, string];
  return { namespace, name, kind: 'Headless', clusterIPs: [], externalName: null, ports: ports(...portSpecs) };
}

export function externalName(ref: string, target: string): ServiceRecord {
  const [namespace, name] = ref.split('/') as [string, string];
  return { namespace, name, kind: 'ExternalName', clusterIPs: [], externalName: target, ports: [] };
}

/**
 * One EndpointSlice: endpoints written `10.3.0.100=my-pet` (hostname), `10.3.0.102` (none),
 * `!10.3.0.103` (not ready), `fd00::1+fd00::2=h` (two addresses).
 */
export function slice(
  ref: string,
  serviceName: string,
  endpointSpecs: string[],
  portSpecs: string[] = [],
): EndpointGroup {
  const [namespace, name] = ref.split('/') as [string, string];
  return {
    namespace,
    name,
    serviceName,
    subsets: [
      {
        ports: ports(...portSpecs),
        endpoints: endpointSpecs.map((spec) => {
          const ready = !spec.startsWith('!');
          const [addresses, hostname] = spec.replace(/^!/, '').split('=') as [string, string | undefined];
          return { addresses: addresses.split('+'), hostname: hostname ?? null, ready, podName: null };
        }),
      },
    ],
  };
}

export function newStore(podRecords: 'disabled' | 'insecure' | 'verified' = 'insecure'): RecordStore {
  return new RecordStore({ zone: ZONE, ttl: TTL, negativeTtl: NEG_TTL, podRecords, now: () => NOW_MS });
}

/**
 * dns-spec-and-peers.md §A.0, plus what the remaining SPEC rows and K-checks need (IPv6 headless, pods,
 * ExternalName chains, duplicate names, a portless headless service).
 */
export function specFixture(podRecords: 'disabled' | 'insecure' | 'verified' = 'insecure'): RecordStore {
  const store = newStore(podRecords);
  for (const ns of ['default', 'prod', 'emptyns', 'podns', 'kube-system']) store.upsertNamespace(ns);
  store.upsertService(clusterIp('default/kubernetes', ['10.3.0.1'], ['https/tcp/443']));
  store.upsertService(clusterIp('prod/web', ['10.3.0.20'], ['http/tcp/80', '/tcp/8080']));
  store.upsertService(clusterIp('prod/dual', ['10.3.0.30', '2001:db8::30'], ['http/tcp/80']));
  store.upsertService(clusterIp('prod/v6', ['2001:db8::1']));
  store.upsertService(clusterIp('prod/dns', ['10.3.0.53'], ['dns/udp/53', 'dns-tcp/tcp/53']));
  store.upsertService(clusterIp('prod/noports', ['10.3.0.40']));
  store.upsertService(headless('default/headless', ['https/tcp/443']));
  // Two slices; 10.3.0.101 appears in both (EndpointSlice skew): it must be sent once.
  store.upsertEndpoints(
    slice(
      'default/headless-a',
      'headless',
      ['10.3.0.100=my-pet', '10.3.0.101=my-pet-2', '!10.3.0.103'],
      ['https/tcp/443'],
    ),
  );
  store.upsertEndpoints(
    slice('default/headless-b', 'headless', ['10.3.0.102', '10.3.0.101=my-pet-2'], ['https/tcp/443']),
  );
  store.upsertService(headless('default/hl-empty', ['http/tcp/80']));
  store.upsertEndpoints(slice('default/hl-empty-x', 'hl-empty', ['!10.3.0.110=down'], ['http/tcp/80']));
  store.upsertService(headless('default/hl6', ['http/tcp/8080']));
  store.upsertEndpoints(slice('default/hl6-x', 'hl6', ['fd00::5=web-0', 'fd00::6', '2001:db8::'], ['http/tcp/8080']));
  store.upsertService(headless('default/hl-noports'));
  store.upsertEndpoints(slice('default/hl-noports-x', 'hl-noports', ['10.3.0.120']));
  store.upsertService(headless('default/dupname', ['http/tcp/80']));
  store.upsertEndpoints(slice('default/dupname-x', 'dupname', ['172.0.0.4=same', '172.0.0.5=same'], ['http/tcp/80']));
  store.upsertService(headless('default/multi', ['dns/udp/53', 'dns-tcp/tcp/53', '/tcp/9000']));
  store.upsertEndpoints(
    slice('default/multi-x', 'multi', ['10.3.1.1=a', '10.3.1.2=b'], ['dns/udp/53', 'dns-tcp/tcp/53', '/tcp/9000']),
  );
  store.upsertService(externalName('default/foo', 'www.example.com'));
  store.upsertService(externalName('default/ext-in', 'web.prod.svc.cluster.local'));
  store.upsertService(externalName('default/ext-hl', 'headless.default.svc.cluster.local'));
  store.upsertService(externalName('default/ext-chain', 'ext-in.default.svc.cluster.local'));
  store.upsertService(externalName('default/ext-missing', 'nosuch.prod.svc.cluster.local'));
  store.upsertService(externalName('default/self', 'self.default.svc.cluster.local'));
  store.upsertService(externalName('default/loop-a', 'loop-b.default.svc.cluster.local'));
  store.upsertService(externalName('default/loop-b', 'loop-a.default.svc.cluster.local'));
  store.upsertService(externalName('default/ipext', '10.1.2.3'));
  store.upsertPod({ namespace: 'podns', name: 'p1', ips: ['172.0.0.2', 'fd00::2'] });
  store.markSynced();
  return store;
}

/** kube-dns.md Appendix A: the original's worked example cluster. */
export function appendixAFixture(): RecordStore {
  const store = newStore('insecure');
  store.upsertNamespace('default');
  store.upsertService(clusterIp('default/kubernetes', ['10.96.0.1'], ['https/tcp/443']));
  store.upsertService(clusterIp('default/web', ['10.96.0.20'], ['http/tcp/80', '/tcp/8080']));
  store.upsertService(clusterIp('default/dual', ['10.96.0.30', 'fd00::30'], ['http/tcp/80']));
  store.upsertService(headless('default/hl', ['http/tcp/8080']));
  store.upsertEndpoints(slice('default/hl', 'hl', ['10.244.1.5=web-0', '10.244.1.6'], ['http/tcp/8080']));
  store.upsertService(externalName('default/ext', 'www.example.com'));
  store.markSynced();
  return store;
}

// ---- rendering ----

const fqdn = (name: string): string => (name === '' || name === '.' ? '.' : `${name.replace(/\.$/, '')}.`);

/** A resolver record as a zone line. */
export function recordLine(rr: ResourceRecord): string {
  const head = `${fqdn(rr.name)} ${rr.ttl} IN ${typeToString(rr.type)}`;
  switch (rr.type) {
    case 1:
    case 28:
      return `${head} ${rr.address}`;
    case 2:
    case 5:
    case 12:
      return `${head} ${fqdn(rr.target)}`;
    case 33:
      return `${head} ${rr.priority} ${rr.weight} ${rr.port} ${fqdn(rr.target)}`;
    case 6:
      return `${head} ${fqdn(rr.mname)} ${fqdn(rr.rname)} ${rr.serial} ${rr.refresh} ${rr.retry} ${rr.expire} ${rr.minimum}`;
    case 16:
      return `${head} ${rr.strings.map((s) => JSON.stringify(s)).join(' ')}`;
  }
}

/** A dns-packet record as a zone line (names as spelled on the wire). */
export function packetLine(rr: Answer): string {
  const r = rr as { name: string; ttl?: number; type: string; data: unknown };
  const head = `${fqdn(r.name)} ${r.ttl ?? 0} IN ${r.type}`;
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return `${head} ${String(r.data)}`;
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return `${head} ${fqdn(String(r.data))}`;
    case 'SRV': {
      const d = r.data as { priority: number; weight: number; port: number; target: string };
      return `${head} ${d.priority} ${d.weight} ${d.port} ${fqdn(d.target)}`;
    }
    case 'SOA': {
      const d = r.data as dnsPacket.SoaData;
      return `${head} ${fqdn(d.mname)} ${fqdn(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    }
    case 'TXT':
      return `${head} ${(r.data as Buffer[]).map((b) => JSON.stringify(b.toString())).join(' ')}`;
    default:
      return `${head} ?`;
  }
}

export interface Sections {
  rcode: string;
  aa: boolean;
  answer: string[];
  authority: string[];
  additional: string[];
}

/** A decoded reply's rcode, AA and sections as zone lines (the OPT left out). */
export function packetSections(raw: Buffer): Sections {
  const packet: DecodedPacket = dnsPacket.decode(raw);
  const lines = (rrs: Answer[] | undefined): string[] => (rrs ?? []).filter((rr) => rr.type !== 'OPT').map(packetLine);
  return {
    rcode: rcodeToString(raw[3]! & 0xf),
    aa: (raw.readUInt16BE(2) & 0x400) !== 0,
    answer: lines(packet.answers),
    authority: lines(packet.authorities),
    additional: lines(packet.additionals),
  };
}

// ---- the answer table ----

export interface Row {
  /** What the row checks: a SPEC row or fine-print line, and the K-check. */
  why: string;
  name: string;
  type: string;
  rcode: string;
  answer?: string[];
  authority?: string[];
  additional?: string[];
  /** The answer section in exactly this order (CNAME before its target). */
  ordered?: boolean;
  /** `forward`: the resolver hands it to the forwarder. */
  forward?: true;
  /** `chase`: a CNAME chain to be completed upstream, to this target. */
  chase?: string;
}

const nodata = (why: string, name: string, type: string): Row => ({
  why,
  name,
  type,
  rcode: 'NOERROR',
  answer: [],
  authority: [SOA_LINE],
});
const nxdomain = (why: string, name: string, type: string): Row => ({
  why,
  name,
  type,
  rcode: 'NXDOMAIN',
  answer: [],
  authority: [SOA_LINE],
});

/** Every SPEC row and applicable K-check against `specFixture('insecure')`. */
export const SPEC_ROWS: Row[] = [
  // ClusterIP A / AAAA (K-03, K-04, K-06)
  {
    why: 'ClusterIP A (K-03)',
    name: 'web.prod.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['web.prod.svc.cluster.local. 30 IN A 10.3.0.20'],
  },
  {
    why: 'ClusterIP A without endpoints (K-03)',
    name: 'kubernetes.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['kubernetes.default.svc.cluster.local. 30 IN A 10.3.0.1'],
  },
  {
    why: 'ClusterIP AAAA (K-04)',
    name: 'v6.prod.svc.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['v6.prod.svc.cluster.local. 30 IN AAAA 2001:db8::1'],
  },
  {
    why: 'dual-stack A (K-06)',
    name: 'dual.prod.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['dual.prod.svc.cluster.local. 30 IN A 10.3.0.30'],
  },
  {
    why: 'dual-stack AAAA (K-06)',
    name: 'dual.prod.svc.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['dual.prod.svc.cluster.local. 30 IN AAAA 2001:db8::30'],
  },
  // Wrong family / other type: NODATA (K-05, K-02)
  nodata('wrong family AAAA (K-05)', 'web.prod.svc.cluster.local', 'AAAA'),
  nodata('wrong family A (K-05)', 'v6.prod.svc.cluster.local', 'A'),
  nodata('TXT on a service is NODATA (K-02)', 'web.prod.svc.cluster.local', 'TXT'),
  nodata('MX on a service', 'web.prod.svc.cluster.local', 'MX'),
  nodata('CNAME on a ClusterIP service', 'web.prod.svc.cluster.local', 'CNAME'),
  nodata('SOA below the apex is NODATA (K-33)', 'kubernetes.default.svc.cluster.local', 'SOA'),
  nodata('NS below the apex on an existing name', 'web.prod.svc.cluster.local', 'NS'),
  // SRV named ports (K-07, K-08)
  {
    why: 'named-port SRV with the address in additional (K-07)',
    name: '_http._tcp.web.prod.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['_http._tcp.web.prod.svc.cluster.local. 30 IN SRV 0 100 80 web.prod.svc.cluster.local.'],
    additional: ['web.prod.svc.cluster.local. 30 IN A 10.3.0.20'],
  },
  {
    why: 'named-port SRV over UDP',
    name: '_dns._udp.dns.prod.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['_dns._udp.dns.prod.svc.cluster.local. 30 IN SRV 0 100 53 dns.prod.svc.cluster.local.'],
    additional: ['dns.prod.svc.cluster.local. 30 IN A 10.3.0.53'],
  },
  {
    why: 'dual-stack SRV: one record, A and AAAA in additional',
    name: '_http._tcp.dual.prod.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['_http._tcp.dual.prod.svc.cluster.local. 30 IN SRV 0 100 80 dual.prod.svc.cluster.local.'],
    additional: [
      'dual.prod.svc.cluster.local. 30 IN A 10.3.0.30',
      'dual.prod.svc.cluster.local. 30 IN AAAA 2001:db8::30',
    ],
  },
  nxdomain('unnamed port has no SRV (K-08)', '_8080._tcp.web.prod.svc.cluster.local', 'SRV'),
  nxdomain('protocol the port does not have (fine print)', '_http._udp.web.prod.svc.cluster.local', 'SRV'),
  nxdomain('unknown port name', '_nope._tcp.web.prod.svc.cluster.local', 'SRV'),
  nodata('A at an SRV owner is NODATA', '_http._tcp.web.prod.svc.cluster.local', 'A'),
  nodata('_proto empty non-terminal is NODATA', '_tcp.web.prod.svc.cluster.local', 'SRV'),
  nxdomain('_proto without such a named port', '_sctp.web.prod.svc.cluster.local', 'SRV'),
  nxdomain('port label without underscore', 'http._tcp.web.prod.svc.cluster.local', 'SRV'),
  // Bare-name SRV (K-09)
  {
    why: 'bare-name SRV: one per port, named or not (K-09)',
    name: 'web.prod.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: [
      'web.prod.svc.cluster.local. 30 IN SRV 0 50 80 web.prod.svc.cluster.local.',
      'web.prod.svc.cluster.local. 30 IN SRV 0 50 8080 web.prod.svc.cluster.local.',
    ],
    additional: ['web.prod.svc.cluster.local. 30 IN A 10.3.0.20'],
  },
  {
    why: 'bare-name SRV: same port twice (udp+tcp) sent once',
    name: 'dns.prod.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['dns.prod.svc.cluster.local. 30 IN SRV 0 100 53 dns.prod.svc.cluster.local.'],
    additional: ['dns.prod.svc.cluster.local. 30 IN A 10.3.0.53'],
  },
  nodata('bare-name SRV of a service without ports', 'noports.prod.svc.cluster.local', 'SRV'),
  // PTR (K-10, K-11, K-18)
  {
    why: 'IPv4 PTR of a cluster IP (K-10)',
    name: '20.0.3.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: ['20.0.3.10.in-addr.arpa. 30 IN PTR web.prod.svc.cluster.local.'],
  },
  {
    why: 'IPv6 PTR, 32 nibbles (K-11)',
    name: '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: [
      '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 30 IN PTR v6.prod.svc.cluster.local.',
    ],
  },
  {
    why: 'PTR of the IPv6 cluster IP of a dual-stack service',
    name: '0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: [
      '0.3.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 30 IN PTR dual.prod.svc.cluster.local.',
    ],
  },
  {
    why: 'headless endpoint PTR by hostname (K-18)',
    name: '100.0.3.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: ['100.0.3.10.in-addr.arpa. 30 IN PTR my-pet.headless.default.svc.cluster.local.'],
  },
  {
    why: 'headless endpoint PTR by dashed IP (K-18)',
    name: '102.0.3.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: ['102.0.3.10.in-addr.arpa. 30 IN PTR 10-3-0-102.headless.default.svc.cluster.local.'],
  },
  {
    why: 'PTR of an address in two slices: once',
    name: '101.0.3.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: ['101.0.3.10.in-addr.arpa. 30 IN PTR my-pet-2.headless.default.svc.cluster.local.'],
  },
  {
    why: 'headless IPv6 endpoint PTR (dashed, CoreDNS rule)',
    name: '6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: [
      '6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 30 IN PTR fd00--6.hl6.default.svc.cluster.local.',
    ],
  },
  {
    why: 'PTR of an IPv6 endpoint whose dashed name ends in ::',
    name: '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: [
      '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 30 IN PTR 2001-db8--0.hl6.default.svc.cluster.local.',
    ],
  },
  {
    why: 'not-ready endpoint has no PTR: forwarded (K-24)',
    name: '103.0.3.10.in-addr.arpa',
    type: 'PTR',
    rcode: '',
    forward: true,
  },
  { why: 'IP not in the cluster: forwarded', name: '9.9.9.9.in-addr.arpa', type: 'PTR', rcode: '', forward: true },
  {
    why: 'malformed reverse name (5 labels) (K-11)',
    name: '1.20.0.3.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NXDOMAIN',
    authority: [
      `in-addr.arpa. ${NEG_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${NEG_TTL}`,
    ],
  },
  {
    why: 'malformed reverse name (3 labels)',
    name: '0.3.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NXDOMAIN',
    authority: [
      `in-addr.arpa. ${NEG_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${NEG_TTL}`,
    ],
  },
  {
    why: 'malformed reverse name (bad octet)',
    name: '300.0.3.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NXDOMAIN',
    authority: [
      `in-addr.arpa. ${NEG_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${NEG_TTL}`,
    ],
  },
  {
    why: 'malformed ip6.arpa (31 nibbles) (K-11)',
    name: '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    type: 'PTR',
    rcode: 'NXDOMAIN',
    authority: [
      `ip6.arpa. ${NEG_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${NEG_TTL}`,
    ],
  },
  {
    why: 'malformed ip6.arpa (non-hex nibble)',
    name: 'g.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
    type: 'PTR',
    rcode: 'NXDOMAIN',
    authority: [
      `ip6.arpa. ${NEG_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${NEG_TTL}`,
    ],
  },
  {
    why: 'A on a known reverse name is NODATA',
    name: '20.0.3.10.in-addr.arpa',
    type: 'A',
    rcode: 'NOERROR',
    authority: [
      `in-addr.arpa. ${NEG_TTL} IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${NEG_TTL}`,
    ],
  },
  {
    why: 'SOA of a reverse zone is not ours: forwarded',
    name: '10.in-addr.arpa',
    type: 'SOA',
    rcode: '',
    forward: true,
  },
  // Headless (K-12 … K-17, K-19, K-24, K-25)
  {
    why: 'headless A: ready endpoints only, de-duplicated across slices (K-12, K-24)',
    name: 'headless.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: [
      'headless.default.svc.cluster.local. 30 IN A 10.3.0.100',
      'headless.default.svc.cluster.local. 30 IN A 10.3.0.101',
      'headless.default.svc.cluster.local. 30 IN A 10.3.0.102',
    ],
  },
  nodata('headless AAAA with IPv4-only endpoints (K-13)', 'headless.default.svc.cluster.local', 'AAAA'),
  {
    why: 'headless AAAA (K-13)',
    name: 'hl6.default.svc.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: [
      'hl6.default.svc.cluster.local. 30 IN AAAA fd00::5',
      'hl6.default.svc.cluster.local. 30 IN AAAA fd00::6',
      'hl6.default.svc.cluster.local. 30 IN AAAA 2001:db8::',
    ],
  },
  nxdomain('headless with no ready endpoints (K-14)', 'hl-empty.default.svc.cluster.local', 'A'),
  nxdomain('headless with no ready endpoints, SRV (fine print)', 'hl-empty.default.svc.cluster.local', 'SRV'),
  nxdomain('headless with no ready endpoints, named SRV', '_http._tcp.hl-empty.default.svc.cluster.local', 'SRV'),
  {
    why: 'endpoint by hostname (K-15)',
    name: 'my-pet.headless.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['my-pet.headless.default.svc.cluster.local. 30 IN A 10.3.0.100'],
  },
  {
    why: 'endpoint by dashed IP (K-16)',
    name: '10-3-0-102.headless.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['10-3-0-102.headless.default.svc.cluster.local. 30 IN A 10.3.0.102'],
  },
  {
    why: 'IPv6 endpoint by dashed IP (K-16)',
    name: 'fd00--6.hl6.default.svc.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['fd00--6.hl6.default.svc.cluster.local. 30 IN AAAA fd00::6'],
  },
  {
    why: 'IPv6 dashed name ending in :: gets a 0 (CoreDNS)',
    name: '2001-db8--0.hl6.default.svc.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['2001-db8--0.hl6.default.svc.cluster.local. 30 IN AAAA 2001:db8::'],
  },
  {
    why: 'IPv6 endpoint by hostname (K-15)',
    name: 'web-0.hl6.default.svc.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['web-0.hl6.default.svc.cluster.local. 30 IN AAAA fd00::5'],
  },
  nodata('endpoint name, other family', 'web-0.hl6.default.svc.cluster.local', 'A'),
  nxdomain('an endpoint with a hostname is not named by its IP', '10-3-0-100.headless.default.svc.cluster.local', 'A'),
  nxdomain('not-ready endpoint by name (K-24)', 'down.hl-empty.default.svc.cluster.local', 'A'),
  {
    why: 'one hostname, several IPs (K-15 dup-name)',
    name: 'same.dupname.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: [
      'same.dupname.default.svc.cluster.local. 30 IN A 172.0.0.4',
      'same.dupname.default.svc.cluster.local. 30 IN A 172.0.0.5',
    ],
  },
  nxdomain('unknown endpoint (K-19)', 'bogus.headless.default.svc.cluster.local', 'A'),
  nxdomain('endpoint name under a ClusterIP service', 'x.web.prod.svc.cluster.local', 'A'),
  nxdomain('too many labels (K-19)', 'a.b.web.prod.svc.cluster.local', 'A'),
  nxdomain('too many labels under an endpoint', 'a.b.my-pet.headless.default.svc.cluster.local', 'A'),
  {
    why: 'headless SRV: ready × named ports, endpoint targets, glue (K-17)',
    name: '_https._tcp.headless.default.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: [
      '_https._tcp.headless.default.svc.cluster.local. 30 IN SRV 0 33 443 my-pet.headless.default.svc.cluster.local.',
      '_https._tcp.headless.default.svc.cluster.local. 30 IN SRV 0 33 443 my-pet-2.headless.default.svc.cluster.local.',
      '_https._tcp.headless.default.svc.cluster.local. 30 IN SRV 0 33 443 10-3-0-102.headless.default.svc.cluster.local.',
    ],
    additional: [
      'my-pet.headless.default.svc.cluster.local. 30 IN A 10.3.0.100',
      'my-pet-2.headless.default.svc.cluster.local. 30 IN A 10.3.0.101',
      '10-3-0-102.headless.default.svc.cluster.local. 30 IN A 10.3.0.102',
    ],
  },
  {
    why: 'headless SRV N×M over the matching named port only',
    name: '_dns._udp.multi.default.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: [
      '_dns._udp.multi.default.svc.cluster.local. 30 IN SRV 0 50 53 a.multi.default.svc.cluster.local.',
      '_dns._udp.multi.default.svc.cluster.local. 30 IN SRV 0 50 53 b.multi.default.svc.cluster.local.',
    ],
    additional: [
      'a.multi.default.svc.cluster.local. 30 IN A 10.3.1.1',
      'b.multi.default.svc.cluster.local. 30 IN A 10.3.1.2',
    ],
  },
  {
    why: 'bare-name headless SRV: ready × all ports (fine print)',
    name: 'multi.default.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: [
      'multi.default.svc.cluster.local. 30 IN SRV 0 25 53 a.multi.default.svc.cluster.local.',
      'multi.default.svc.cluster.local. 30 IN SRV 0 25 9000 a.multi.default.svc.cluster.local.',
      'multi.default.svc.cluster.local. 30 IN SRV 0 25 53 b.multi.default.svc.cluster.local.',
      'multi.default.svc.cluster.local. 30 IN SRV 0 25 9000 b.multi.default.svc.cluster.local.',
    ],
    additional: [
      'a.multi.default.svc.cluster.local. 30 IN A 10.3.1.1',
      'b.multi.default.svc.cluster.local. 30 IN A 10.3.1.2',
    ],
  },
  {
    why: 'headless SRV with IPv6 endpoint targets',
    name: '_http._tcp.hl6.default.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: [
      '_http._tcp.hl6.default.svc.cluster.local. 30 IN SRV 0 33 8080 web-0.hl6.default.svc.cluster.local.',
      '_http._tcp.hl6.default.svc.cluster.local. 30 IN SRV 0 33 8080 fd00--6.hl6.default.svc.cluster.local.',
      '_http._tcp.hl6.default.svc.cluster.local. 30 IN SRV 0 33 8080 2001-db8--0.hl6.default.svc.cluster.local.',
    ],
    additional: [
      'web-0.hl6.default.svc.cluster.local. 30 IN AAAA fd00::5',
      'fd00--6.hl6.default.svc.cluster.local. 30 IN AAAA fd00::6',
      '2001-db8--0.hl6.default.svc.cluster.local. 30 IN AAAA 2001:db8::',
    ],
  },
  {
    why: 'portless headless still answers A (K-25)',
    name: 'hl-noports.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['hl-noports.default.svc.cluster.local. 30 IN A 10.3.0.120'],
  },
  nodata('portless headless has no SRV (K-25)', 'hl-noports.default.svc.cluster.local', 'SRV'),
  nxdomain('unnamed port of a headless service has no named SRV', '_9000._tcp.multi.default.svc.cluster.local', 'SRV'),
  // ExternalName (K-26 … K-30)
  {
    why: 'ExternalName CNAME (K-26)',
    name: 'foo.default.svc.cluster.local',
    type: 'CNAME',
    rcode: 'NOERROR',
    answer: ['foo.default.svc.cluster.local. 30 IN CNAME www.example.com.'],
  },
  {
    why: 'ExternalName A outside the zone: chased upstream (K-27)',
    name: 'foo.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['foo.default.svc.cluster.local. 30 IN CNAME www.example.com.'],
    chase: 'www.example.com',
  },
  {
    why: 'ExternalName, any type: CNAME then chase (SPEC)',
    name: 'foo.default.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['foo.default.svc.cluster.local. 30 IN CNAME www.example.com.'],
    chase: 'www.example.com',
  },
  {
    why: 'ExternalName inside the zone: chased from memory, CNAME first (K-27)',
    name: 'ext-in.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    ordered: true,
    answer: [
      'ext-in.default.svc.cluster.local. 30 IN CNAME web.prod.svc.cluster.local.',
      'web.prod.svc.cluster.local. 30 IN A 10.3.0.20',
    ],
  },
  {
    why: 'ExternalName to a headless service, chased',
    name: 'ext-hl.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    ordered: true,
    answer: [
      'ext-hl.default.svc.cluster.local. 30 IN CNAME headless.default.svc.cluster.local.',
      'headless.default.svc.cluster.local. 30 IN A 10.3.0.100',
      'headless.default.svc.cluster.local. 30 IN A 10.3.0.101',
      'headless.default.svc.cluster.local. 30 IN A 10.3.0.102',
    ],
  },
  {
    why: 'ExternalName chain inside the zone, in order',
    name: 'ext-chain.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    ordered: true,
    answer: [
      'ext-chain.default.svc.cluster.local. 30 IN CNAME ext-in.default.svc.cluster.local.',
      'ext-in.default.svc.cluster.local. 30 IN CNAME web.prod.svc.cluster.local.',
      'web.prod.svc.cluster.local. 30 IN A 10.3.0.20',
    ],
  },
  {
    why: 'ExternalName to a missing in-zone name: NXDOMAIN with the CNAME (RFC 6604)',
    name: 'ext-missing.default.svc.cluster.local',
    type: 'A',
    rcode: 'NXDOMAIN',
    answer: ['ext-missing.default.svc.cluster.local. 30 IN CNAME nosuch.prod.svc.cluster.local.'],
    authority: [SOA_LINE],
  },
  {
    why: 'ExternalName in-zone target, wrong family: CNAME + NODATA',
    name: 'ext-in.default.svc.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['ext-in.default.svc.cluster.local. 30 IN CNAME web.prod.svc.cluster.local.'],
    authority: [SOA_LINE],
  },
  nxdomain('names below an ExternalName (K-28)', 'endpoint.foo.default.svc.cluster.local', 'CNAME'),
  nxdomain('SRV below an ExternalName (K-28)', '_http._tcp.foo.default.svc.cluster.local', 'SRV'),
  nxdomain('IP-looking externalName: NXDOMAIN as CoreDNS (K-29)', 'ipext.default.svc.cluster.local', 'A'),
  nodata('x CNAME x is suppressed (K-30)', 'self.default.svc.cluster.local', 'A'),
  {
    why: 'a CNAME loop is cut, each record once (K-30)',
    name: 'loop-a.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    ordered: true,
    answer: [
      'loop-a.default.svc.cluster.local. 30 IN CNAME loop-b.default.svc.cluster.local.',
      'loop-b.default.svc.cluster.local. 30 IN CNAME loop-a.default.svc.cluster.local.',
    ],
  },
  // dns-version, apex (K-01, K-33, K-34)
  {
    why: 'dns-version TXT (K-01)',
    name: 'dns-version.cluster.local',
    type: 'TXT',
    rcode: 'NOERROR',
    answer: ['dns-version.cluster.local. 28800 IN TXT "1.1.0"'],
  },
  nodata('dns-version, other type', 'dns-version.cluster.local', 'A'),
  nxdomain('below dns-version', 'x.dns-version.cluster.local', 'TXT'),
  {
    why: 'apex SOA (K-33)',
    name: 'cluster.local',
    type: 'SOA',
    rcode: 'NOERROR',
    answer: [
      `cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${NEG_TTL}`,
    ],
  },
  {
    why: 'apex NS (K-34)',
    name: 'cluster.local',
    type: 'NS',
    rcode: 'NOERROR',
    answer: ['cluster.local. 30 IN NS ns.dns.cluster.local.'],
  },
  nodata('apex A is NODATA (fine print)', 'cluster.local', 'A'),
  nodata('apex AAAA is NODATA', 'cluster.local', 'AAAA'),
  nodata('apex SRV is NODATA', 'cluster.local', 'SRV'),
  nodata('apex TXT is NODATA', 'cluster.local', 'TXT'),
  nodata('ns.dns.<zone>: the SOA MNAME exists, no address known', 'ns.dns.cluster.local', 'A'),
  // Pods (K-31, K-32) in insecure mode
  {
    why: 'pod A, insecure (K-32)',
    name: '172-0-0-2.podns.pod.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['172-0-0-2.podns.pod.cluster.local. 30 IN A 172.0.0.2'],
  },
  {
    why: 'pod A of any IP in an existing namespace, insecure (K-31)',
    name: '10-9-9-9.default.pod.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['10-9-9-9.default.pod.cluster.local. 30 IN A 10.9.9.9'],
  },
  {
    why: 'pod AAAA, IPv6 dashed form (K-32)',
    name: 'fd00--1.podns.pod.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['fd00--1.podns.pod.cluster.local. 30 IN AAAA fd00::1'],
  },
  nodata('pod name, other family', '172-0-0-2.podns.pod.cluster.local', 'AAAA'),
  nxdomain('pod label that is no IP (K-32)', 'blah.podns.pod.cluster.local', 'A'),
  nxdomain('pod in an unknown namespace (K-32)', '172-0-0-2.nosuchns.pod.cluster.local', 'A'),
  nodata('<ns>.pod.<zone> of an existing namespace (K-32)', 'podns.pod.cluster.local', 'A'),
  nxdomain('<ns>.pod.<zone> of an unknown namespace', 'nosuchns.pod.cluster.local', 'A'),
  nxdomain('too many labels under pod', 'a.172-0-0-2.podns.pod.cluster.local', 'A'),
  // Empty non-terminals and other names (A.7)
  nodata('svc.<zone> is an empty non-terminal', 'svc.cluster.local', 'A'),
  nodata('<ns>.svc.<zone> of an existing namespace', 'prod.svc.cluster.local', 'A'),
  nodata('<ns>.svc.<zone> of a namespace without services', 'emptyns.svc.cluster.local', 'A'),
  nodata('pod.<zone> is an empty non-terminal', 'pod.cluster.local', 'A'),
  nodata('NS on an empty non-terminal is NODATA (A.7)', 'svc.cluster.local', 'NS'),
  nxdomain('NS for a name that does not exist (A.7)', 'foo.svc.cluster.local', 'NS'),
  nxdomain('unknown service in an existing namespace (A.7)', 'nosuch.prod.svc.cluster.local', 'A'),
  nxdomain('service in an unknown namespace (A.7)', 'x.nosuchns.svc.cluster.local', 'A'),
  nxdomain('<ns>.svc.<zone> of an unknown namespace', 'nosuchns.svc.cluster.local', 'A'),
  nxdomain('second label neither svc nor pod (A.7)', 'foo.cluster.local', 'A'),
  nxdomain('TXT on a name that does not exist (K-02)', 'nosuch.prod.svc.cluster.local', 'TXT'),
  nxdomain('no wildcards: * as the service (K-36)', '*.prod.svc.cluster.local', 'A'),
  nxdomain('no wildcards: * as the namespace (K-36)', 'web.*.svc.cluster.local', 'A'),
  nxdomain('no wildcards: any (K-36)', 'any.prod.svc.cluster.local', 'A'),
  nxdomain('no wildcards: * as the endpoint (K-36)', '*.headless.default.svc.cluster.local', 'A'),
  nxdomain('the search-path junk ndots:5 produces', 'www.example.com.default.svc.cluster.local', 'A'),
  // ANY (our choice: every RRset at the name except the synthesized bare-name SRV)
  {
    why: 'ANY on a dual-stack service: A and AAAA',
    name: 'dual.prod.svc.cluster.local',
    type: 'ANY',
    rcode: 'NOERROR',
    answer: ['dual.prod.svc.cluster.local. 30 IN A 10.3.0.30', 'dual.prod.svc.cluster.local. 30 IN AAAA 2001:db8::30'],
  },
  {
    why: 'ANY on an ExternalName: the CNAME, not chased',
    name: 'foo.default.svc.cluster.local',
    type: 'ANY',
    rcode: 'NOERROR',
    answer: ['foo.default.svc.cluster.local. 30 IN CNAME www.example.com.'],
  },
  {
    why: 'ANY at the apex: SOA and NS',
    name: 'cluster.local',
    type: 'ANY',
    rcode: 'NOERROR',
    answer: [
      `cluster.local. 30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. ${SERIAL} 7200 1800 86400 ${NEG_TTL}`,
      'cluster.local. 30 IN NS ns.dns.cluster.local.',
    ],
  },
  // Zone transfers and names outside the zone
  { why: 'AXFR refused', name: 'cluster.local', type: 'AXFR', rcode: 'REFUSED' },
  { why: 'IXFR refused', name: 'cluster.local', type: 'IXFR', rcode: 'REFUSED' },
  { why: 'names outside the zone are forwarded', name: 'www.example.com', type: 'A', rcode: '', forward: true },
  {
    why: 'a single label outside the zone is forwarded too (our choice)',
    name: 'localhost',
    type: 'A',
    rcode: '',
    forward: true,
  },
];

export function typeNumber(type: string): number {
  const value = (RRType as Record<string, number>)[type];
  assert.ok(value !== undefined, `unknown type ${type}`);
  return value;
}

export const sorted = (lines: string[]): string[] => [...lines].sort();

/** Checks one resolver result against a table row. */
export function checkResolution(row: Row, result: Resolution): void {
  const label = `${row.name} ${row.type}: ${row.why}`;
  if (row.forward) {
    assert.equal(result.kind, 'forward', label);
    return;
  }
  if (row.chase !== undefined) {
    assert.equal(result.kind, 'chase', label);
    if (result.kind !== 'chase') return;
    assert.equal(result.target, row.chase, label);
    assert.deepEqual(result.message.answer.map(recordLine), row.answer ?? [], label);
    return;
  }
  assert.equal(result.kind, 'answer', label);
  if (result.kind !== 'answer') return;
  const message = result.message;
  assert.equal(rcodeToString(message.rcode), row.rcode, label);
  const answer = message.answer.map(recordLine);
  assert.deepEqual(
    row.ordered ? answer : sorted(answer),
    row.ordered ? (row.answer ?? []) : sorted(row.answer ?? []),
    label,
  );
  assert.deepEqual(sorted(message.authority.map(recordLine)), sorted(row.authority ?? []), label);
  assert.deepEqual(message.additional.map(recordLine), row.additional ?? [], label);
  assert.equal(message.authoritative, row.rcode === 'NOERROR' || row.rcode === 'NXDOMAIN', `${label}: AA`);
}

/** A compact view of one resolver answer: `NXDOMAIN`, `NODATA`, `forward`, or the answer's data joined. */
export function ask(store: RecordStore, name: string, type: string): string {
  const result = resolve(store, { name, type: typeNumber(type) });
  if (result.kind !== 'answer') return result.kind;
  const { rcode, answer } = result.message;
  if (rcodeToString(rcode) !== 'NOERROR') return rcodeToString(rcode);
  if (answer.length === 0) return 'NODATA';
  return answer.map((rr) => recordLine(rr).split(' ').slice(4).join(' ')).join(',');
}

export interface QueryShape {
  /** RD (default on). */
  rd?: boolean;
  cd?: boolean;
  /** EDNS UDP size; omitted: no OPT. */
  edns?: number;
  dnssecOk?: boolean;
  id?: number;
  qclass?: 'IN' | 'CH' | 'ANY';
}

/** A query message as a client would send it (name case kept). */
export function makeQuery(name: string, type: string, shape: QueryShape = {}): Buffer {
  const packet: dnsPacket.Packet = {
    type: 'query',
    id: shape.id ?? 0x1234,
    flags: (shape.rd === false ? 0 : dnsPacket.RECURSION_DESIRED) | (shape.cd ? dnsPacket.CHECKING_DISABLED : 0),
    questions: [{ name, type: type as dnsPacket.RecordType, class: shape.qclass ?? 'IN' }],
  };
  if (shape.edns !== undefined) {
    packet.additionals = [
      { type: 'OPT', name: '.', udpPayloadSize: shape.edns, flags: shape.dnssecOk ? 0x8000 : 0 } as never,
    ];
  }
  return dnsPacket.encode(packet);
}

/** `web.prod.svc` → `WeB.PrOd.SvC`: a deterministic mixed-case spelling. */
export function mixCase(name: string, seed = 0): string {
  let out = '';
  for (let i = 0; i < name.length; i++) out += (i + seed) % 2 === 0 ? name[i]!.toUpperCase() : name[i]!.toLowerCase();
  return out;
}

/** The handler and its UDP fast path over `store`, with the fixture's zone and TTLs and a silent logger. */
export function fixtureAnswerer(
  store: RecordStore,
  forwarder: DnsForwarder = new FakeForwarder(),
  extra: Partial<KubeDnsHandlerDeps> = {},
): KubeDnsAnswerer {
  return createKubeDnsAnswerer({
    store,
    forwarder,
    zone: ZONE,
    ttl: TTL,
    negativeTtl: NEG_TTL,
    logger: silentLogger,
    ...extra,
  });
}

/**
 * A forwarder stand-in for handler tests: forwarded queries get a NOERROR reply with one TXT "forwarded",
 * ExternalName targets resolve to 192.0.2.53 (TTL 28715, as K-27's example).
 */
export class FakeForwarder {
  routingVersion = 0;
  stubs: string[] = [];
  forwarded: string[] = [];
  lookups: string[] = [];

  stubFor(name: string): string | null {
    return this.stubs.find((d) => name === d || name.endsWith(`.${d}`)) ?? null;
  }

  forward(query: Buffer, view: { qname: string; id: number }): Promise<Buffer> {
    this.forwarded.push(view.qname);
    const decoded = dnsPacket.decode(query);
    return Promise.resolve(
      dnsPacket.encode({
        type: 'response',
        id: view.id,
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: decoded.questions!,
        answers: [{ type: 'TXT', name: decoded.questions![0]!.name, ttl: 60, data: 'forwarded' }],
      }),
    );
  }

  lookup(name: string, qtype: number): Promise<Buffer | null> {
    this.lookups.push(`${name} ${qtype}`);
    if (name === 'unreachable.example') return Promise.resolve(null);
    return Promise.resolve(
      dnsPacket.encode({
        type: 'response',
        id: 1,
        flags: dnsPacket.RECURSION_AVAILABLE,
        questions: [{ name, type: 'A' }],
        answers: qtype === RRType.A ? [{ type: 'A', name, ttl: 28715, data: '192.0.2.53' }] : [],
      }),
    );
  }
}
