/** Numeric DNS constants (RFC 1035 §3.2, RFC 3596, RFC 2782, RFC 6891). `as const` maps, never enums. */

export const RRType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const RRClass = {
  IN: 1,
  CH: 3,
  NONE: 254,
  ANY: 255,
} as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended rcode 16 (RFC 6891 §6.1.3): upper 8 bits go in the OPT TTL field. */
  BADVERS: 16,
} as const;

export const Opcode = {
  QUERY: 0,
  IQUERY: 1,
  STATUS: 2,
  NOTIFY: 4,
  UPDATE: 5,
} as const;

/** Bits of the 16-bit flags word (header bytes 2–3). */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  AD: 0x0020,
  CD: 0x0010,
} as const;

export const HEADER_LENGTH = 12;
/** RFC 1035 §2.3.4. */
export const MAX_LABEL_LENGTH = 63;
export const MAX_NAME_LENGTH = 255;
/** Plain UDP limit without EDNS (RFC 1035 §4.2.1). */
export const MIN_UDP_SIZE = 512;
/** DNS Flag Day 2020 default: avoids IP fragmentation on common paths. */
export const DEFAULT_EDNS_UDP_SIZE = 1232;
export const MAX_MESSAGE_SIZE = 65535;

const typeNames = new Map<number, string>(Object.entries(RRType).map(([name, value]) => [value, name]));
const rcodeNames = new Map<number, string>(Object.entries(Rcode).map(([name, value]) => [value, name]));

export function typeToString(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}

export function rcodeToString(rcode: number): string {
  return rcodeNames.get(rcode) ?? `RCODE${rcode}`;
}
