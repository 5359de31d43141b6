import { DEFAULT_EDNS_UDP_SIZE, Flag, HEADER_LENGTH, RRType } from './constants.js';
import type { QueryView } from './query-view.js';

/** An OPT pseudo-RR (RFC 6891 §6.1.2) with no options. `extendedRcode` is the rcode's upper 8 bits. */
export function encodeOpt(udpSize: number = DEFAULT_EDNS_UDP_SIZE, extendedRcode = 0, dnssecOk = false): Buffer {
  const opt = Buffer.alloc(11);
  // opt[0] = 0: root owner name
  opt.writeUInt16BE(RRType.OPT, 1);
  opt.writeUInt16BE(udpSize, 3);
  opt[5] = extendedRcode;
  opt[6] = 0; // version 0
  opt[7] = dnssecOk ? 0x80 : 0;
  // opt[8..10] = 0: flags low byte, RDLENGTH 0
  return opt;
}

export interface ErrorResponseOptions {
  recursionAvailable?: boolean;
  authoritative?: boolean;
  /** The UDP size we advertise in the echoed OPT. */
  ednsUdpSize?: number;
}

/**
 * A reply with no records: header, the question echoed byte for byte (when it could be parsed),
 * and an OPT when the query had one. Used for FORMERR, NOTIMP, SERVFAIL, REFUSED, BADVERS.
 */
export function buildErrorResponse(
  query: Buffer,
  view: Partial<QueryView>,
  rcode: number,
  options: ErrorResponseOptions = {},
): Buffer | null {
  if (query.length < HEADER_LENGTH || view.id === undefined) return null;
  const flags = view.flags ?? 0;
  const questionEnd = view.questionEnd ?? HEADER_LENGTH;
  const withQuestion = questionEnd > HEADER_LENGTH;
  const opt = view.edns ? encodeOpt(options.ednsUdpSize ?? DEFAULT_EDNS_UDP_SIZE, rcode >> 4) : null;
  const out = Buffer.alloc(questionEnd + (opt ? opt.length : 0));
  out.writeUInt16BE(view.id, 0);
  let outFlags = Flag.QR | (flags & (0x7800 | Flag.RD | Flag.CD)) | (rcode & 0xf);
  if (options.recursionAvailable) outFlags |= Flag.RA;
  if (options.authoritative) outFlags |= Flag.AA;
  out.writeUInt16BE(outFlags, 2);
  out.writeUInt16BE(withQuestion ? 1 : 0, 4);
  out.writeUInt16BE(opt ? 1 : 0, 10);
  if (withQuestion) query.copy(out, HEADER_LENGTH, HEADER_LENGTH, questionEnd);
  if (opt) opt.copy(out, questionEnd);
  return out;
}

/** Reads the full rcode of a response: header low 4 bits plus the OPT's extended bits when present. */
export function headerRcode(buf: Buffer): number {
  return buf.length >= 4 ? buf[3]! & 0xf : -1;
}
