/**
 * The question of a query read straight off its bytes, for a UDP fast path (dns-listener UdpFastPath): no
 * strings, no objects. A hash of the lower-cased question name and type finds a cached answer, and the name is
 * then compared with the cached one (a lower-cased dotted name, as readName gives it) octet by octet.
 *
 * Only plain names qualify: no compression pointer, no octet readName would escape (`.`, `\`, controls, space,
 * 0x7f and above), labels of at most 63 octets, at most 255 octets in all; for those, readName's name is the
 * wire name lower-cased and dotted. Anything else is left to the normal path.
 */

import { RRType } from './constants.js';
import { maxUdpReplySize } from './query-view.js';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Small integers stay unboxed in V8 (Map keys, fields): the hash keeps 30 bits. */
const HASH_MASK = 0x3fffffff;

function mix(hash: number, octet: number): number {
  return Math.imul(hash ^ octet, FNV_PRIME);
}

/** The hash of a name hash (RawQuestion.nameHash) with a type: what questionHash gives for the same name and type. */
export function withType(nameHash: number, qtype: number): number {
  return mix(mix(nameHash, qtype >> 8), qtype & 0xff) & HASH_MASK;
}

/**
 * The hash of a question as the fast path computes it, from the lower-cased dotted name ('' is the root). `qtype`
 * may be above 0xffff for entries that are not one type (dnsmasq-cache's name errors): it never equals a wire type.
 */
export function questionHash(qname: string, qtype: number): number {
  let hash = FNV_OFFSET;
  if (qname !== '') {
    let labelStart = 0;
    for (;;) {
      const dot = qname.indexOf('.', labelStart);
      const labelEnd = dot < 0 ? qname.length : dot;
      hash = mix(hash, labelEnd - labelStart);
      for (let i = labelStart; i < labelEnd; i++) hash = mix(hash, qname.charCodeAt(i));
      if (dot < 0) break;
      labelStart = dot + 1;
    }
  }
  return withType(mix(hash, 0), qtype);
}

/** Reads the question at offset 12 of a query. One per listener: its fields are overwritten by every scan. */
export class RawQuestion {
  /** questionHash() of the lower-cased name and the type. */
  hash = 0;
  /** The hash of the name alone: withType(nameHash, t) is the hash of the same name with type t. */
  nameHash = 0;
  /** Offset just past the name's final zero octet. */
  nameEnd = 0;
  qtype = 0;
  qclass = 0;
  /** Set by scanQuery: whether the query ends with an OPT, its DO bit, and its UDP payload size (0: no OPT). */
  hasOpt = false;
  dnssecOk = false;
  udpSize = 0;

  /**
   * Scans a plain query, the only kind a UDP fast path answers: QR clear and opcode QUERY, one question with a
   * plain name (see scan), no answer or authority records, and no additional record but at most the plainest OPT
   * (root owner, version 0, no options) ending the message. False for anything else: parseQuery judges it.
   */
  scanQuery(query: Buffer): boolean {
    const length = query.length;
    if (length < 17 || (query[2]! & 0xf8) !== 0) return false;
    if (query[4] !== 0 || query[5] !== 1 || query[6] !== 0 || query[7] !== 0 || query[8] !== 0 || query[9] !== 0)
      return false;
    const arcount = (query[10]! << 8) | query[11]!;
    if (arcount > 1 || !this.scan(query)) return false;
    const questionEnd = this.nameEnd + 4;
    if (arcount === 0) {
      if (length !== questionEnd) return false;
      this.hasOpt = false;
      this.dnssecOk = false;
      this.udpSize = 0;
      return true;
    }
    if (length !== questionEnd + 11 || query[questionEnd] !== 0) return false;
    if (((query[questionEnd + 1]! << 8) | query[questionEnd + 2]!) !== RRType.OPT || query[questionEnd + 6] !== 0)
      return false;
    if (query[questionEnd + 9] !== 0 || query[questionEnd + 10] !== 0) return false;
    this.hasOpt = true;
    this.dnssecOk = (query[questionEnd + 7]! & 0x80) !== 0;
    this.udpSize = (query[questionEnd + 3]! << 8) | query[questionEnd + 4]!;
    return true;
  }

  /** The largest UDP reply to the scanned query (maxUdpReplySize), as the listener computes it for parseQuery's view. */
  maxReplySize(listenerUdpSize: number): number {
    return maxUdpReplySize(this.hasOpt ? this.udpSize : null, listenerUdpSize);
  }

  /** Scans the question at offset 12; false if it is not a plain name followed by type and class. */
  scan(query: Buffer): boolean {
    const length = query.length;
    let pos = 12;
    let wire = 1;
    let hash = FNV_OFFSET;
    for (;;) {
      if (pos >= length) return false;
      const labelLength = query[pos]!;
      if (labelLength === 0) break;
      if (labelLength > 63) return false;
      wire += labelLength + 1;
      if (wire > 255 || pos + 1 + labelLength > length) return false;
      hash = mix(hash, labelLength);
      const end = pos + 1 + labelLength;
      for (let i = pos + 1; i < end; i++) {
        let c = query[i]!;
        if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) return false;
        if (c >= 0x41 && c <= 0x5a) c += 0x20;
        hash = mix(hash, c);
      }
      pos = end;
    }
    const nameEnd = pos + 1;
    if (nameEnd + 4 > length) return false;
    const qtype = (query[nameEnd]! << 8) | query[nameEnd + 1]!;
    this.nameHash = mix(hash, 0);
    this.hash = withType(this.nameHash, qtype);
    this.nameEnd = nameEnd;
    this.qtype = qtype;
    this.qclass = (query[nameEnd + 2]! << 8) | query[nameEnd + 3]!;
    return true;
  }
}

/** Whether the (scanned, plain) name at offset 12 of `query` is `qname` (lower case, dotted), ignoring case. */
export function nameMatches(query: Buffer, qname: string): boolean {
  let pos = 12;
  let i = 0;
  for (;;) {
    const labelLength = query[pos]!;
    if (labelLength === 0) return i === qname.length;
    if (i > 0) {
      if (qname.charCodeAt(i) !== 0x2e) return false;
      i++;
    }
    const end = pos + 1 + labelLength;
    for (let k = pos + 1; k < end; k++) {
      let c = query[k]!;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      if (c !== qname.charCodeAt(i++)) return false;
    }
    pos = end;
  }
}
