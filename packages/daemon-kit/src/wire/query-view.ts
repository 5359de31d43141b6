import { Flag, HEADER_LENGTH, MIN_UDP_SIZE, Opcode, RRType } from './constants.js';
import { readName, skipName } from './names.js';

/** What a server needs to know about an incoming query, read straight off the wire without a full decode. */
export interface QueryView {
  id: number;
  /** The raw 16-bit flags word. */
  flags: number;
  opcode: number;
  qdcount: number;
  /** Lower-cased, dotted, no trailing dot; '' for the root. */
  qname: string;
  qtype: number;
  qclass: number;
  /** Offset just past the (single) question: bytes 12..questionEnd are echoed verbatim in replies. */
  questionEnd: number;
  /** The query's OPT record, or null without EDNS (RFC 6891). */
  edns: EdnsInfo | null;
}

export interface EdnsInfo {
  udpSize: number;
  version: number;
  /** DNSSEC OK bit. */
  dnssecOk: boolean;
}

/**
 * Why a packet could not be taken as a query:
 * - `drop`: not answerable at all (shorter than a header, or a response): silence, per RFC 1035 §7.3 practice.
 * - `formerr`: header readable but the rest malformed: FORMERR with the header's ID.
 * - `notimp`: an opcode we do not implement.
 * - `badvers`: EDNS version above 0 (RFC 6891 §6.1.3).
 */
export type QueryProblem = 'drop' | 'formerr' | 'notimp' | 'badvers';

export type ParsedQuery =
  { ok: true; view: QueryView } | { ok: false; problem: QueryProblem; view: Partial<QueryView> };

/** Parses header, question and EDNS of a query. Never throws. */
export function parseQuery(buf: Buffer): ParsedQuery {
  if (buf.length < HEADER_LENGTH) return { ok: false, problem: 'drop', view: {} };
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const opcode = (flags >> 11) & 0xf;
  const partial: Partial<QueryView> = { id, flags, opcode };
  if (flags & Flag.QR) return { ok: false, problem: 'drop', view: partial };
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  const nscount = buf.readUInt16BE(8);
  const arcount = buf.readUInt16BE(10);
  partial.qdcount = qdcount;
  const name = qdcount === 1 ? readName(buf, HEADER_LENGTH) : null;
  if (name !== null && name.end + 4 <= buf.length) partial.questionEnd = name.end + 4;
  // An unknown opcode gets NOTIMP with its question echoed when it has a readable one. These replies carry an
  // OPT when the query had a readable one (RFC 6891 §7; RFC 8906 §8.2 checks it).
  if (opcode !== Opcode.QUERY) {
    partial.edns = optAfterQuestions(buf, qdcount, ancount + nscount, arcount);
    return { ok: false, problem: 'notimp', view: partial };
  }
  if (qdcount !== 1 || name === null || name.end + 4 > buf.length) {
    partial.edns = optAfterQuestions(buf, qdcount, ancount + nscount, arcount);
    return { ok: false, problem: 'formerr', view: partial };
  }
  const qtype = buf.readUInt16BE(name.end);
  const qclass = buf.readUInt16BE(name.end + 2);
  const questionEnd = name.end + 4;
  const view: QueryView = {
    id,
    flags,
    opcode,
    qdcount,
    qname: name.name,
    qtype,
    qclass,
    questionEnd,
    edns: null,
  };
  if (ancount === 0 && nscount === 0 && arcount === 0) return { ok: true, view };
  const edns = findOpt(buf, questionEnd, ancount + nscount, arcount);
  if (edns === 'malformed') return { ok: false, problem: 'formerr', view };
  view.edns = edns;
  if (edns !== null && edns.version > 0) return { ok: false, problem: 'badvers', view };
  return { ok: true, view };
}

/** The OPT of a query with any number of questions; null when there is none or anything before it is unreadable. */
function optAfterQuestions(buf: Buffer, qdcount: number, skipCount: number, arcount: number): EdnsInfo | null {
  if (arcount === 0) return null;
  let offset = HEADER_LENGTH;
  for (let i = 0; i < qdcount; i++) {
    offset = skipName(buf, offset);
    if (offset < 0 || offset + 4 > buf.length) return null;
    offset += 4;
  }
  const edns = findOpt(buf, offset, skipCount, arcount);
  return edns === 'malformed' ? null : edns;
}

/** Walks the RRs after the question looking for the OPT record; more than one OPT is malformed (RFC 6891 §6.1.1). */
function findOpt(buf: Buffer, offset: number, skipCount: number, arcount: number): EdnsInfo | null | 'malformed' {
  let found: EdnsInfo | null = null;
  const total = skipCount + arcount;
  for (let i = 0; i < total; i++) {
    const nameStart = offset;
    offset = skipName(buf, offset);
    if (offset < 0 || offset + 10 > buf.length) return 'malformed';
    const type = buf.readUInt16BE(offset);
    const rdlength = buf.readUInt16BE(offset + 8);
    const end = offset + 10 + rdlength;
    if (end > buf.length) return 'malformed';
    if (type === RRType.OPT) {
      if (i < skipCount || found !== null || buf[nameStart] !== 0) return 'malformed';
      found = {
        udpSize: buf.readUInt16BE(offset + 2),
        version: buf[offset + 5]!,
        dnssecOk: (buf[offset + 6]! & 0x80) !== 0,
      };
      if (!optionsWellFormed(buf, offset + 10, end)) return 'malformed';
    }
    offset = end;
  }
  return found;
}

function optionsWellFormed(buf: Buffer, offset: number, end: number): boolean {
  while (offset < end) {
    if (offset + 4 > end) return false;
    offset += 4 + buf.readUInt16BE(offset + 2);
  }
  return offset === end;
}

/**
 * The largest UDP reply to a query (RFC 6891 §6.2.5): 512 octets without EDNS (`clientUdpSize` null), else the
 * OPT's payload size, at least 512 and at most the listener's (`listenerUdpSize`, itself taken as at least 512).
 */
export function maxUdpReplySize(clientUdpSize: number | null, listenerUdpSize: number): number {
  if (clientUdpSize === null) return MIN_UDP_SIZE;
  return Math.min(Math.max(clientUdpSize, MIN_UDP_SIZE), Math.max(listenerUdpSize, MIN_UDP_SIZE));
}
