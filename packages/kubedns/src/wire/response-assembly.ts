import { DEFAULT_EDNS_UDP_SIZE, Flag, RRType, type QueryView } from '@kube-dns/daemon-kit';
import type { EncodedAnswer } from './answer-encoder.js';

/** Header bits a reply keeps from its query: opcode, RD, CD. */
const KEPT_QUERY_FLAGS = 0x7800 | Flag.RD | Flag.CD;
const OPT_LENGTH = 11;

/**
 * A question is plain when it is written without compression or escaped characters: then its lower-cased
 * name fixes every offset in the question, and a pre-encoded answer fits any spelling of it.
 */
export function isPlainQuestion(view: QueryView): boolean {
  const nameLength = view.qname === '' ? 1 : view.qname.length + 2;
  return view.questionEnd === 12 + nameLength + 4 && !view.qname.includes('\\');
}

/**
 * One reply from a pre-encoded answer: the query's header and question copied as they came (so the ID and
 * the question's case are echoed for free), flags and counts set, the sections copied, the SOA serial
 * patched, and an OPT (RFC 6891) when the query had one.
 */
export function assembleResponse(
  query: Buffer,
  view: QueryView,
  encoded: EncodedAnswer,
  serial: number,
  ednsUdpSize: number = DEFAULT_EDNS_UDP_SIZE,
): Buffer {
  const edns = view.edns === null ? NO_EDNS : view.edns.dnssecOk ? EDNS_DO : EDNS;
  return assembleFromQuestion(query, view.questionEnd, view.flags, edns, encoded, serial, ednsUdpSize);
}

/** The query had no OPT record. */
export const NO_EDNS = 0;
/** The query had an OPT record without the DO bit. */
export const EDNS = 1;
/** The query had an OPT record with the DO bit (RFC 3225: copied into the reply). */
export const EDNS_DO = 2;

/**
 * assembleResponse from what the UDP fast path reads off the query itself: where its question ends, its flags
 * word, and whether it had an OPT (NO_EDNS, EDNS, EDNS_DO). The one implementation of both paths.
 */
export function assembleFromQuestion(
  query: Buffer,
  questionEnd: number,
  queryFlags: number,
  edns: number,
  encoded: EncodedAnswer,
  serial: number,
  ednsUdpSize: number,
): Buffer {
  const body = encoded.body;
  const out = Buffer.allocUnsafe(questionEnd + body.length + (edns !== NO_EDNS ? OPT_LENGTH : 0));
  query.copy(out, 0, 0, questionEnd);
  out.writeUInt16BE(Flag.QR | (queryFlags & KEPT_QUERY_FLAGS) | Flag.RA | encoded.flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(encoded.ancount, 6);
  out.writeUInt16BE(encoded.nscount, 8);
  out.writeUInt16BE(encoded.arcount + (edns !== NO_EDNS ? 1 : 0), 10);
  body.copy(out, questionEnd);
  if (encoded.serialOffset >= 0) out.writeUInt32BE(serial >>> 0, questionEnd + encoded.serialOffset);
  if (edns !== NO_EDNS) {
    const at = questionEnd + body.length;
    out[at] = 0; // root owner
    out.writeUInt16BE(RRType.OPT, at + 1);
    out.writeUInt16BE(ednsUdpSize, at + 3);
    out[at + 5] = 0; // extended rcode
    out[at + 6] = 0; // version
    // RFC 3225 §3: the DO bit is copied into the response.
    out[at + 7] = edns === EDNS_DO ? 0x80 : 0;
    out[at + 8] = 0;
    out.writeUInt16BE(0, at + 9);
  }
  return out;
}
