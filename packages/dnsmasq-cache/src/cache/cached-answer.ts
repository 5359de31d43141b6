import { encodeOpt, Flag, HEADER_LENGTH } from '@kube-dns/daemon-kit';
import type { CacheEntry } from './response-cache.js';

/** Query flag bits a cached answer keeps (opcode, RD, CD), as dnsmasq's answer_request does. */
const KEPT_QUERY_FLAGS = 0x7800 | Flag.RD | Flag.CD;

/**
 * The OPT records a cached answer carries when the query had one: our UDP size, DO echoed (RFC 3225). Built once.
 */
export interface OptRecords {
  plain: Buffer;
  dnssecOk: Buffer;
}

export function makeOptRecords(udpSize: number): OptRecords {
  return { plain: encodeOpt(udpSize), dnssecOk: encodeOpt(udpSize, 0, true) };
}

/**
 * The hot path: a response from a cached entry without decoding anything. Copies the stored message, then patches in
 * place the ID, the flags (QR, RA, the query's opcode/RD/CD, the cached rcode), the question (the client's bytes, so
 * the owner names that point at it echo the client's case) and each TTL (what remains, capped by `--max-ttl`), and
 * appends an OPT when the query had EDNS. `questionEnd` is the query's; it equals the entry's because both are the
 * same name (case aside), type and class.
 */
export function answerFromCache(
  entry: CacheEntry,
  query: Buffer,
  queryFlags: number,
  questionEnd: number,
  opt: Buffer | null,
  now: number,
  maxTtl: number,
): Buffer {
  const wire = entry.wire;
  const length = wire.length;
  const out = Buffer.allocUnsafe(opt === null ? length : length + opt.length);
  // TypedArray#set and a byte loop for the short question: cheaper than Buffer#copy's argument checks.
  out.set(wire, 0);
  out[0] = query[0]!;
  out[1] = query[1]!;
  const flags = Flag.QR | Flag.RA | (queryFlags & KEPT_QUERY_FLAGS) | entry.rcode;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  for (let i = HEADER_LENGTH; i < questionEnd; i++) out[i] = query[i]!;
  const elapsed = now - entry.insertedAt;
  const offsets = entry.ttlOffsets;
  const ttls = entry.ttls;
  for (let i = 0; i < offsets.length; i++) {
    // Whole seconds remaining, rounded up: a fresh entry shows its full TTL, the last second shows 1.
    let ttl = Math.ceil((ttls[i]! * 1000 - elapsed) / 1000);
    if (ttl < 0) ttl = 0;
    if (maxTtl !== 0 && ttl > maxTtl) ttl = maxTtl;
    out.writeUInt32BE(ttl, offsets[i]);
  }
  if (opt !== null) {
    out.set(opt, length);
    out[10] = 0;
    out[11] = 1;
  }
  return out;
}
