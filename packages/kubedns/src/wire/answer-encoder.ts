import { HEADER_LENGTH, ipToBytes, MAX_LABEL_LENGTH, RRClass, RRType } from '@kube-dns/daemon-kit';
import type { AnswerMessage, ResourceRecord } from '../resolver/answer.js';

/**
 * An answer pre-encoded for the wire: the answer, authority and additional sections as they follow the
 * question. Names are compressed against the question name (which sits at offset 12 of every reply, copied
 * from the query) and against each other, so one encoding serves every query with the same lower-cased
 * question: a pointer to the question spells that name in the asker's case.
 *
 * Spelling rule (the reference encoder implements the same): a name equal to the question's is spelled as in
 * the question; every other name is lower case. SRV targets are written out in full, lower case
 * (RFC 2782: no compression in SRV RDATA).
 */
export interface EncodedAnswer {
  /** The three sections, to be placed at `questionEnd`. */
  body: Buffer;
  /** AA and the rcode bits of the flags word. */
  flags: number;
  ancount: number;
  nscount: number;
  arcount: number;
  /** Offset of the SOA serial inside `body`, or -1: patched with the store's serial on every send. */
  serialOffset: number;
  /** The offset the body was encoded for: 12 + the question name's wire length + 4. */
  questionEnd: number;
}

const AA = 0x0400;
const MAX_POINTER = 0x3fff;

/** Wire length of a plain (unescaped) dotted name. */
export function plainNameLength(name: string): number {
  return name === '' ? 1 : name.length + 2;
}

/** Encodes `message` for a question named `qname` (lower case, plain: no escaped characters). */
export function encodeAnswer(qname: string, message: AnswerMessage): EncodedAnswer {
  const questionEnd = HEADER_LENGTH + plainNameLength(qname) + 4;
  const writer = new SectionWriter(questionEnd);
  writer.seedQuestion(qname);
  for (const record of message.answer) writer.record(record);
  for (const record of message.authority) writer.record(record);
  for (const record of message.additional) writer.record(record);
  return {
    body: writer.finish(),
    flags: (message.authoritative ? AA : 0) | (message.rcode & 0xf),
    ancount: message.answer.length,
    nscount: message.authority.length,
    arcount: message.additional.length,
    serialOffset: writer.serialOffset,
    questionEnd,
  };
}

class SectionWriter {
  private buf = Buffer.allocUnsafe(512);
  private pos = 0;
  /** Lower-case name → absolute offset where this section writer spelled it (in full or as a suffix). */
  private readonly names = new Map<string, number>();
  serialOffset = -1;
  private readonly base: number;
  private question: string | null = null;

  constructor(base: number) {
    this.base = base;
  }

  /**
   * The question name is used for whole names only: a pointer to it as the suffix of a longer name would
   * spell those labels in the asker's case.
   */
  seedQuestion(qname: string): void {
    this.question = qname;
  }

  record(rr: ResourceRecord): void {
    this.name(rr.name);
    this.ensure(10);
    this.buf.writeUInt16BE(rr.type, this.pos);
    this.buf.writeUInt16BE(RRClass.IN, this.pos + 2);
    this.buf.writeUInt32BE(rr.ttl >>> 0, this.pos + 4);
    const lengthAt = this.pos + 8;
    this.pos += 10;
    const start = this.pos;
    switch (rr.type) {
      case RRType.A:
      case RRType.AAAA: {
        const bytes = ipToBytes(rr.address)!;
        this.ensure(bytes.length);
        bytes.copy(this.buf, this.pos);
        this.pos += bytes.length;
        break;
      }
      case RRType.NS:
      case RRType.CNAME:
      case RRType.PTR:
        this.name(rr.target);
        break;
      case RRType.SRV:
        this.ensure(6);
        this.buf.writeUInt16BE(rr.priority, this.pos);
        this.buf.writeUInt16BE(rr.weight, this.pos + 2);
        this.buf.writeUInt16BE(rr.port, this.pos + 4);
        this.pos += 6;
        this.literalName(rr.target);
        break;
      case RRType.SOA:
        this.name(rr.mname);
        this.name(rr.rname);
        this.ensure(20);
        this.serialOffset = this.pos;
        this.buf.writeUInt32BE(rr.serial >>> 0, this.pos);
        this.buf.writeUInt32BE(rr.refresh, this.pos + 4);
        this.buf.writeUInt32BE(rr.retry, this.pos + 8);
        this.buf.writeUInt32BE(rr.expire, this.pos + 12);
        this.buf.writeUInt32BE(rr.minimum, this.pos + 16);
        this.pos += 20;
        break;
      case RRType.TXT:
        for (const text of rr.strings) {
          const bytes = Buffer.from(text, 'utf8');
          for (let i = 0; i === 0 || i < bytes.length; i += 255) {
            const chunk = bytes.subarray(i, i + 255);
            this.ensure(chunk.length + 1);
            this.buf[this.pos++] = chunk.length;
            chunk.copy(this.buf, this.pos);
            this.pos += chunk.length;
          }
        }
        break;
    }
    this.buf.writeUInt16BE(this.pos - start, lengthAt);
  }

  finish(): Buffer {
    // Outside Buffer's shared pool: a long-lived cache entry must not pin an 8 KiB slab of short-lived replies.
    const out = Buffer.allocUnsafeSlow(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  /** A compressed name: the longest known suffix becomes a pointer; new suffixes are remembered. */
  private name(name: string): void {
    if (name === this.question) {
      this.ensure(2);
      this.buf.writeUInt16BE(0xc000 | HEADER_LENGTH, this.pos);
      this.pos += 2;
      return;
    }
    let start = 0;
    while (start < name.length) {
      const known = this.names.get(start === 0 ? name : name.slice(start));
      if (known !== undefined) {
        this.ensure(2);
        this.buf.writeUInt16BE(0xc000 | known, this.pos);
        this.pos += 2;
        return;
      }
      const absolute = this.base + this.pos;
      if (absolute <= MAX_POINTER) this.names.set(start === 0 ? name : name.slice(start), absolute);
      start = this.label(name, start);
    }
    this.ensure(1);
    this.buf[this.pos++] = 0;
  }

  /** A name written out in full and not offered for compression. */
  private literalName(name: string): void {
    let start = 0;
    while (start < name.length) start = this.label(name, start);
    this.ensure(1);
    this.buf[this.pos++] = 0;
  }

  /** Writes the label starting at `start`; returns where the next one starts (past the dot). */
  private label(name: string, start: number): number {
    let end = name.indexOf('.', start);
    if (end < 0) end = name.length;
    const length = end - start;
    // Cluster names are validated by the apiserver; anything else must not corrupt a message.
    if (length === 0 || length > MAX_LABEL_LENGTH) throw new Error(`cannot encode name with label of ${length} octets`);
    this.ensure(length + 1);
    this.buf[this.pos++] = length;
    this.buf.write(name.slice(start, end), this.pos, 'latin1');
    this.pos += length;
    return end + 1;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}
