import dgram from 'node:dgram';
import { encodeName, Flag, HEADER_LENGTH, readName, RRClass, RRType, walkRecords } from '@kube-dns/daemon-kit';

export interface DecodedRecord {
  section: 'answer' | 'authority' | 'additional';
  name: string;
  type: number;
  ttl: number;
  /** A/AAAA: the address; SRV: `priority weight port target`; names: the name; else hex. */
  data: string;
}

export interface DecodedResponse {
  rcode: number;
  flags: number;
  records: DecodedRecord[];
}

export interface QueryOptions {
  qclass?: number;
  timeoutMs?: number;
  /** Adds an OPT record advertising this UDP size. */
  ednsUdpSize?: number;
}

/**
 * A small UDP DNS client on one socket, many queries in flight, matched by ID: readiness probes, answer
 * comparisons and the DNS-programming-latency poller. Not used for load (dnsperf does that).
 */
export class DnsClient {
  private readonly socket = dgram.createSocket('udp4');
  private readonly pending = new Map<number, { resolve: (r: Buffer | null) => void; timer: NodeJS.Timeout }>();
  private nextId = 1;

  private constructor() {
    this.socket.on('message', (message) => {
      if (message.length < HEADER_LENGTH) return;
      const waiter = this.pending.get(message.readUInt16BE(0));
      if (!waiter) return;
      this.pending.delete(message.readUInt16BE(0));
      clearTimeout(waiter.timer);
      waiter.resolve(message);
    });
    this.socket.on('error', () => undefined);
  }

  static async open(): Promise<DnsClient> {
    const client = new DnsClient();
    await new Promise<void>((resolve) => client.socket.bind(0, '127.0.0.1', resolve));
    return client;
  }

  /** The raw response, or null on timeout. */
  raw(port: number, name: string, qtype: number, options: QueryOptions = {}): Promise<Buffer | null> {
    let id = this.nextId;
    while (this.pending.has(id)) id = (id % 0xffff) + 1;
    this.nextId = (id % 0xffff) + 1;
    const query = buildQuery(id, name, qtype, options.qclass ?? RRClass.IN, options.ednsUdpSize);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, options.timeoutMs ?? 1000);
      this.pending.set(id, { resolve, timer });
      this.socket.send(query, port, '127.0.0.1');
    });
  }

  async query(port: number, name: string, qtype: number, options: QueryOptions = {}): Promise<DecodedResponse | null> {
    const raw = await this.raw(port, name, qtype, options);
    return raw === null ? null : decodeResponse(raw);
  }

  close(): void {
    for (const waiter of this.pending.values()) {
      clearTimeout(waiter.timer);
      waiter.resolve(null);
    }
    this.pending.clear();
    this.socket.close();
  }
}

export function buildQuery(
  id: number,
  name: string,
  qtype: number,
  qclass = RRClass.IN as number,
  edns?: number,
): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(Flag.RD, 2);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(qclass, 2);
  const parts = [header, encodeName(name), tail];
  if (edns !== undefined) {
    header.writeUInt16BE(1, 10);
    const opt = Buffer.alloc(11);
    opt.writeUInt16BE(RRType.OPT, 1);
    opt.writeUInt16BE(edns, 3);
    parts.push(opt);
  }
  return Buffer.concat(parts);
}

export function decodeResponse(buf: Buffer): DecodedResponse | null {
  const walked = walkRecords(buf);
  if (walked === null) return null;
  const records: DecodedRecord[] = [];
  for (const span of walked.records) {
    if (span.type === RRType.OPT) continue;
    const owner = readName(buf, span.start);
    const rdata = span.fixed + 10;
    let data: string;
    switch (span.type) {
      case RRType.A:
        data = [...buf.subarray(rdata, rdata + 4)].join('.');
        break;
      case RRType.SRV:
        data = `${buf.readUInt16BE(rdata)} ${buf.readUInt16BE(rdata + 2)} ${buf.readUInt16BE(rdata + 4)} ${readName(buf, rdata + 6)?.name ?? '?'}`;
        break;
      case RRType.CNAME:
      case RRType.PTR:
      case RRType.NS:
        data = readName(buf, rdata)?.name ?? '?';
        break;
      default:
        data = buf.subarray(rdata, span.end).toString('hex');
    }
    records.push({
      section: span.section,
      name: owner?.name ?? '?',
      type: span.type,
      ttl: buf.readUInt32BE(span.fixed + 4),
      data,
    });
  }
  return { rcode: buf[3]! & 0xf, flags: buf.readUInt16BE(2), records };
}

/** The A addresses of an answer section, sorted. */
export function answerAddresses(response: DecodedResponse | null): string[] {
  if (response === null) return [];
  return response.records
    .filter((r) => r.section === 'answer' && r.type === RRType.A)
    .map((r) => r.data)
    .sort();
}
