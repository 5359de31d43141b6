import dnsPacket from 'dns-packet';
import { effectiveExpectation, type FuzzCase } from './fuzz-packets.js';

/**
 * Checks one server response against what the RFCs allow for the message that caused it. Deliberately
 * independent of daemon-kit's parser (the code under test): it walks names itself.
 */

const FORMERR = 1;
const NOTIMP = 4;
const BADVERS = 16;
const ANSWER_RCODES = new Set([0, 2, 3, 5]); // NOERROR, SERVFAIL, NXDOMAIN, REFUSED

/** Offset after the question at 12, or -1; `pointers`: whether the name uses compression. */
export function questionEnd(message: Buffer): { end: number; pointers: boolean } {
  let offset = 12;
  let length = 1;
  while (offset < message.length) {
    const len = message[offset]!;
    if (len === 0)
      return offset + 5 <= message.length ? { end: offset + 5, pointers: false } : { end: -1, pointers: false };
    if ((len & 0xc0) === 0xc0) {
      return offset + 6 <= message.length ? { end: offset + 6, pointers: true } : { end: -1, pointers: true };
    }
    if (len > 63) return { end: -1, pointers: false };
    length += len + 1;
    if (length > 255) return { end: -1, pointers: false };
    offset += len + 1;
  }
  return { end: -1, pointers: false };
}

interface OptInfo {
  present: boolean;
  extendedRcode: number;
}

function optOf(packet: dnsPacket.DecodedPacket): OptInfo {
  const record = (packet.additionals ?? []).find((rr) => rr.type === 'OPT') as { extendedRcode?: number } | undefined;
  return { present: record !== undefined, extendedRcode: record?.extendedRcode ?? 0 };
}

/** null when `response` is an acceptable answer to `query` (the case's bytes with the ID that was sent). */
export function checkResponse(c: FuzzCase, query: Buffer, response: Buffer, transport: 'udp' | 'tcp'): string | null {
  const expect = effectiveExpectation(c);
  if (expect === 'silence') return 'answered a message that must be ignored (short header or QR set)';
  if (response.length < 12) return `response of ${response.length} octets`;
  const flags = response.readUInt16BE(2);
  if (!(flags & 0x8000)) return 'QR not set in the response';
  const opcode = (flags >> 11) & 0xf;
  const queryOpcode = (query[2]! >> 3) & 0xf;
  if (opcode !== queryOpcode) return `opcode ${opcode} instead of the query's ${queryOpcode}`;
  const qdcount = response.readUInt16BE(4);
  if (qdcount > 1) return `QDCOUNT ${qdcount} in the response`;
  const asked = questionEnd(query);
  if (qdcount === 1) {
    if (asked.end < 0) return 'echoed a question the query does not have';
    if (response.length < asked.end || !response.subarray(12, asked.end).equals(query.subarray(12, asked.end))) {
      return 'question not echoed byte for byte';
    }
  }
  let packet: dnsPacket.DecodedPacket | null = null;
  try {
    packet = dnsPacket.decode(response);
  } catch (error) {
    // A compressed question echoed verbatim may point at header octets that differ in the response.
    if (!asked.pointers) return `undecodable response: ${(error as Error).message}`;
  }
  const opt = packet ? optOf(packet) : { present: false, extendedRcode: 0 };
  const rcode = (opt.extendedRcode << 4) | (flags & 0xf);
  if (opt.present && c.hasOpt === false) return 'OPT in the answer to a query without a (valid) OPT (RFC 6891 §7)';
  if (transport === 'udp' && c.hasOpt === false && response.length > 512)
    return `${response.length} octets over UDP without EDNS`;
  switch (expect) {
    case 'notimp':
      return rcode === NOTIMP ? null : `rcode ${rcode}, expected NOTIMP`;
    case 'formerr':
      return rcode === FORMERR ? null : `rcode ${rcode}, expected FORMERR`;
    case 'badvers':
      if (rcode !== BADVERS) return `rcode ${rcode}, expected BADVERS (16)`;
      return opt.present ? null : 'BADVERS without an OPT';
    case 'answer':
      if (!ANSWER_RCODES.has(rcode)) return `rcode ${rcode} for a well-formed query`;
      return qdcount === 1 ? null : 'answer without the question';
    case 'any':
      if (rcode === FORMERR || rcode === BADVERS) return null;
      if (!ANSWER_RCODES.has(rcode)) return `rcode ${rcode}`;
      return qdcount === 1 ? null : 'answer without the question';
  }
}
