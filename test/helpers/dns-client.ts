import dnsPacket from 'dns-packet';
import type { DecodedPacket, Packet, RecordClass, RecordType } from 'dns-packet';
import { exchangeTcp, exchangeUdp, randomQueryId, rcodeToString, type UpstreamServer } from '@kube-dns/daemon-kit';

export interface QueryOptions {
  tcp?: boolean;
  /** EDNS0 UDP size to advertise; omitted means no OPT record. */
  edns?: number;
  qclass?: RecordClass;
  recursionDesired?: boolean;
  timeoutMs?: number;
}

export interface QueryResult {
  raw: Buffer;
  packet: DecodedPacket;
  rcode: string;
  flags: { aa: boolean; tc: boolean; rd: boolean; ra: boolean };
}

/** Builds a query message with dns-packet. */
export function buildQuery(name: string, type: RecordType, options: QueryOptions = {}): Buffer {
  const packet: Packet = {
    type: 'query',
    id: randomQueryId(),
    flags: options.recursionDesired === false ? 0 : dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: options.qclass ?? 'IN' }],
  };
  if (options.edns !== undefined) {
    packet.additionals = [{ type: 'OPT', name: '.', udpPayloadSize: options.edns, flags: 0 } as never];
  }
  return dnsPacket.encode(packet);
}

/** Decodes a response and reads its header bits. */
export function describeResponse(raw: Buffer): QueryResult {
  const packet = dnsPacket.decode(raw);
  const flags = raw.readUInt16BE(2);
  return {
    raw,
    packet,
    rcode: rcodeToString(raw[3]! & 0xf),
    flags: {
      aa: (flags & 0x400) !== 0,
      tc: (flags & 0x200) !== 0,
      rd: (flags & 0x100) !== 0,
      ra: (flags & 0x80) !== 0,
    },
  };
}

/** A dig-like query for tests: UDP by default, TCP on request. */
export async function queryDns(
  server: UpstreamServer,
  name: string,
  type: RecordType,
  options: QueryOptions = {},
): Promise<QueryResult> {
  const query = buildQuery(name, type, options);
  const exchange = options.tcp ? exchangeTcp : exchangeUdp;
  const raw = await exchange(server, query, { timeoutMs: options.timeoutMs ?? 3000 });
  return describeResponse(raw);
}

/** Answer records as compact strings (`name TTL TYPE data`) for table assertions. */
export function answerLines(
  packet: DecodedPacket,
  section: 'answers' | 'authorities' | 'additionals' = 'answers',
): string[] {
  return (packet[section] ?? [])
    .filter((rr) => rr.type !== 'OPT')
    .map((rr) => {
      const r = rr as { name: string; ttl?: number; type: string; data: unknown };
      return `${r.name} ${r.ttl ?? 0} ${r.type} ${formatData(r.type, r.data)}`;
    });
}

function formatData(type: string, data: unknown): string {
  if (type === 'SRV') {
    const d = data as { priority: number; weight: number; port: number; target: string };
    return `${d.priority} ${d.weight} ${d.port} ${d.target}`;
  }
  if (type === 'SOA') {
    const d = data as {
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    };
    return `${d.mname} ${d.rname} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
  }
  if (type === 'TXT') return (data as Buffer[]).map((b) => JSON.stringify(b.toString())).join(' ');
  return String(data);
}
