import { Flag, HEADER_LENGTH } from '@kube-dns/daemon-kit';

/** One record of a locally made answer; its owner is the question name. */
export interface LocalRecord {
  type: number;
  rrclass: number;
  ttl: number;
  rdata: Buffer;
}

const KEPT_QUERY_FLAGS = 0x7800 | Flag.RD | Flag.CD;

/**
 * A response made here rather than upstream (hosts files, CHAOS statistics, local domains, REFUSED): the query's
 * ID and question, RA set, the query's opcode/RD/CD kept, AA when `authoritative` (dnsmasq sets it for hosts and
 * statistics), the records with a pointer to the question as owner, and an OPT when the query had EDNS.
 */
export function buildLocalAnswer(
  query: Buffer,
  queryFlags: number,
  questionEnd: number,
  rcode: number,
  authoritative: boolean,
  records: readonly LocalRecord[],
  opt: Buffer | null,
): Buffer {
  let length = questionEnd + (opt === null ? 0 : opt.length);
  for (const record of records) length += 12 + record.rdata.length;
  const out = Buffer.allocUnsafe(length);
  out[0] = query[0]!;
  out[1] = query[1]!;
  out.writeUInt16BE(
    Flag.QR | Flag.RA | (queryFlags & KEPT_QUERY_FLAGS) | (authoritative ? Flag.AA : 0) | (rcode & 0xf),
    2,
  );
  out.writeUInt16BE(questionEnd > HEADER_LENGTH ? 1 : 0, 4);
  out.writeUInt16BE(records.length, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(opt === null ? 0 : 1, 10);
  query.copy(out, HEADER_LENGTH, HEADER_LENGTH, questionEnd);
  let offset = questionEnd;
  for (const record of records) {
    out.writeUInt16BE(0xc000 | HEADER_LENGTH, offset);
    out.writeUInt16BE(record.type, offset + 2);
    out.writeUInt16BE(record.rrclass, offset + 4);
    out.writeUInt32BE(record.ttl, offset + 6);
    out.writeUInt16BE(record.rdata.length, offset + 10);
    record.rdata.copy(out, offset + 12);
    offset += 12 + record.rdata.length;
  }
  if (opt !== null) opt.copy(out, offset);
  return out;
}

/** TXT RDATA: each string as a length-prefixed character-string (≤255 octets each). */
export function txtRdata(strings: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const text of strings) {
    const bytes = Buffer.from(text, 'utf8').subarray(0, 255);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  return Buffer.concat(parts);
}
