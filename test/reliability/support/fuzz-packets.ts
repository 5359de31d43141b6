import { RRType } from '@kube-dns/daemon-kit';
import type { Random } from './random.js';

/**
 * Hostile DNS messages and what RFC 1035 / RFC 6891 say a server does with each:
 * - `silence`: shorter than a header (no ID to answer) or QR set (a response: answering it could loop).
 * - `notimp`: an opcode other than QUERY (RFC 1035 §4.1.1 rcode 4).
 * - `formerr`: a readable header but a malformed rest: QDCOUNT ≠ 1, a bad name (label over 63, name over 255,
 *   a pointer loop, forward or past the end), a truncated question, a malformed or misplaced OPT (RFC 6891 §6.1.1).
 * - `badvers`: a good question with EDNS version > 0 (RFC 6891 §6.1.3): extended rcode 16 with an OPT.
 * - `answer`: a well-formed query, however odd (unknown type or class, flags, options): some answer, never
 *   FORMERR/NOTIMP, the question echoed byte for byte.
 * - `any`: random or mutated bytes: whatever the header implies (see `headerExpectation`), else FORMERR,
 *   BADVERS or an answer.
 */
export type Expectation = 'silence' | 'notimp' | 'formerr' | 'badvers' | 'answer' | 'any';

export interface FuzzCase {
  kind: string;
  bytes: Buffer;
  expect: Expectation;
  /** The query carries a well-formed OPT (so the answer may carry one); false: the answer must not. */
  hasOpt: boolean | 'unknown';
}

const QUERY_NAMES = [
  'web.default.svc.cluster.local',
  'db.default.svc.cluster.local',
  'missing.default.svc.cluster.local',
  '_http._tcp.web.default.svc.cluster.local',
  'default.svc.cluster.local',
  'cluster.local',
  'dns-version.cluster.local',
  '10-1-0-1.default.pod.cluster.local',
  '20.0.96.10.in-addr.arpa',
  'fuzz.example.org',
  'localhost',
  '',
];

/** A name in wire form from its labels (each given as bytes or text), uncompressed. */
export function wireName(labels: Array<string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = typeof label === 'string' ? Buffer.from(label, 'latin1') : label;
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function dottedName(name: string): Buffer {
  return wireName(name === '' ? [] : name.split('.'));
}

export interface HeaderFields {
  id?: number;
  flags?: number;
  qd?: number;
  an?: number;
  ns?: number;
  ar?: number;
}

export function header(fields: HeaderFields = {}): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(fields.id ?? 0, 0);
  out.writeUInt16BE(fields.flags ?? 0x0100, 2);
  out.writeUInt16BE(fields.qd ?? 1, 4);
  out.writeUInt16BE(fields.an ?? 0, 6);
  out.writeUInt16BE(fields.ns ?? 0, 8);
  out.writeUInt16BE(fields.ar ?? 0, 10);
  return out;
}

export function question(name: Buffer, type: number, qclass = 1): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(qclass, 2);
  return Buffer.concat([name, tail]);
}

/** An OPT RR: root owner, `udpSize` in CLASS, version and DO in TTL, `options` as RDATA. */
export function opt(
  udpSize: number,
  version = 0,
  dnssecOk = false,
  options: Buffer = Buffer.alloc(0),
  owner: Buffer = Buffer.from([0]),
): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(RRType.OPT, 0);
  fixed.writeUInt16BE(udpSize, 2);
  fixed[4] = 0;
  fixed[5] = version;
  fixed[6] = dnssecOk ? 0x80 : 0;
  fixed.writeUInt16BE(options.length, 8);
  return Buffer.concat([owner, fixed, options]);
}

/** EDNS options (code, length, data) exactly as given, however wrong the lengths are. */
export function ednsOption(code: number, data: Buffer, claimedLength = data.length): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(code, 0);
  head.writeUInt16BE(claimedLength & 0xffff, 2);
  return Buffer.concat([head, data]);
}

/** A well-formed query for `name`/`type`. */
export function validQuery(
  name: string,
  type: number,
  options: { qclass?: number; edns?: number; flags?: number } = {},
): Buffer {
  const parts = [
    header({ flags: options.flags ?? 0x0100, ar: options.edns === undefined ? 0 : 1 }),
    question(dottedName(name), type, options.qclass ?? 1),
  ];
  if (options.edns !== undefined) parts.push(opt(options.edns));
  return Buffer.concat(parts);
}

/**
 * What the first 12 octets alone decide: silence (short or QR), NOTIMP (opcode), or null when the rest matters.
 */
export function headerExpectation(bytes: Buffer): 'silence' | 'notimp' | null {
  if (bytes.length < 12) return 'silence';
  if (bytes[2]! & 0x80) return 'silence';
  if (((bytes[2]! >> 3) & 0xf) !== 0) return 'notimp';
  return null;
}

function randomName(rng: Random): string {
  if (rng.bool(0.6)) return rng.pick(QUERY_NAMES);
  const labels: string[] = [];
  const count = rng.int(1, 6);
  for (let i = 0; i < count; i++) {
    const length = rng.int(1, 20);
    let label = '';
    for (let j = 0; j < length; j++) label += rng.pick([...'abcdefghijklmnopqrstuvwxyzABCDEFXYZ0123456789-_']);
    labels.push(label);
  }
  if (rng.bool(0.5))
    labels.push(
      ...rng
        .pick(['svc.cluster.local', 'default.svc.cluster.local', 'cluster.local', 'in-addr.arpa', 'example.org'])
        .split('.'),
    );
  return labels.join('.');
}

function randomType(rng: Random): number {
  return rng.bool(0.8) ? rng.pick([1, 2, 5, 6, 12, 16, 28, 33, 255, 65, 64, 99]) : rng.int(0, 65535);
}

function caseFlip(rng: Random, name: string): string {
  return [...name].map((c) => (rng.bool(0.3) ? c.toUpperCase() : c)).join('');
}

type Generator = (rng: Random) => FuzzCase;

const generators: Array<[weight: number, generator: Generator]> = [
  // Random bytes of every length, including none at all.
  [
    10,
    (rng) => {
      const bytes = rng.bytes(rng.bool(0.2) ? rng.int(0, 11) : rng.int(12, 600));
      return { kind: 'random', bytes, expect: 'any', hasOpt: 'unknown' };
    },
  ],
  // A valid query with a few random mutations: bit flips, byte writes, cuts, insertions.
  [
    20,
    (rng) => {
      const base = validQuery(
        caseFlip(rng, randomName(rng)),
        randomType(rng),
        rng.bool(0.5) ? { edns: rng.int(0, 4096) } : {},
      );
      let bytes: Buffer = Buffer.from(base);
      const mutations = rng.int(1, 4);
      for (let i = 0; i < mutations; i++) {
        const op = rng.int(0, 4);
        const at = rng.int(0, Math.max(0, bytes.length - 1));
        if (op === 0 && bytes.length > 0) bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7));
        else if (op === 1 && bytes.length > 0) bytes[at] = rng.int(0, 255);
        else if (op === 2) bytes = bytes.subarray(0, rng.int(0, bytes.length));
        else if (op === 3) bytes = Buffer.concat([bytes.subarray(0, at), rng.bytes(rng.int(1, 8)), bytes.subarray(at)]);
        else bytes = Buffer.concat([bytes, rng.bytes(rng.int(1, 40))]);
      }
      return { kind: 'mutated', bytes: Buffer.from(bytes), expect: 'any', hasOpt: 'unknown' };
    },
  ],
  // Truncated header: nothing to answer.
  [4, (rng) => ({ kind: 'short-header', bytes: rng.bytes(rng.int(0, 11)), expect: 'silence', hasOpt: false })],
  // A response sent as a query (QR set), well formed or not.
  [
    6,
    (rng) => {
      const bytes = validQuery(randomName(rng), randomType(rng), rng.bool(0.3) ? { edns: 1232 } : {});
      bytes[2] = bytes[2]! | 0x80 | (rng.bool(0.5) ? 0x04 : 0);
      if (rng.bool(0.5)) bytes[3] = rng.int(0, 255);
      return { kind: 'response-as-query', bytes, expect: 'silence', hasOpt: false };
    },
  ],
  // Unknown or unimplemented opcodes (IQUERY, STATUS, NOTIFY, UPDATE, DSO, unassigned).
  [
    6,
    (rng) => {
      const opcode = rng.int(1, 15);
      const bytes = rng.bool(0.7)
        ? validQuery(randomName(rng), randomType(rng))
        : Buffer.concat([header({ qd: rng.int(0, 3) }), rng.bytes(rng.int(0, 30))]);
      bytes[2] = (bytes[2]! & 0x87) | (opcode << 3);
      return { kind: `opcode-${opcode}`, bytes, expect: 'notimp', hasOpt: false };
    },
  ],
  // QDCOUNT 0, or more than one question.
  [
    6,
    (rng) => {
      const qd = rng.pick([0, 2, 3, 65535]);
      const questions = Array.from({ length: Math.min(qd, 3) }, () => question(dottedName(randomName(rng)), 1));
      return {
        kind: `qdcount-${qd}`,
        bytes: Buffer.concat([header({ qd }), ...questions]),
        expect: 'formerr',
        hasOpt: false,
      };
    },
  ],
  // Labels longer than 63 (length octets 64–191 are the reserved label types 01 and 10).
  [
    4,
    (rng) => {
      const length = rng.int(64, 191);
      const bytes = Buffer.concat([
        header(),
        Buffer.from([length]),
        Buffer.alloc(Math.min(length, 200), 0x61),
        Buffer.from([0, 0, 1, 0, 1]),
      ]);
      return { kind: 'label-over-63', bytes, expect: 'formerr', hasOpt: false };
    },
  ],
  // Names over 255 octets (several 63-octet labels), and the exact 255/256 boundary.
  [
    4,
    (rng) => {
      const boundary = rng.int(0, 2);
      if (boundary === 0) {
        const labels = Array.from({ length: rng.int(5, 9) }, () => 'a'.repeat(63));
        return {
          kind: 'name-over-255',
          bytes: Buffer.concat([header(), question(wireName(labels), 1)]),
          expect: 'formerr',
          hasOpt: false,
        };
      }
      // Four labels of 63 are 4×64 + 1 = 257 octets; three of 63 plus one of 61 is exactly 255.
      const last = boundary === 1 ? 61 : 62;
      const labels = ['b'.repeat(63), 'c'.repeat(63), 'd'.repeat(63), 'e'.repeat(last)];
      return {
        kind: boundary === 1 ? 'name-255' : 'name-256',
        bytes: Buffer.concat([header(), question(wireName(labels), 1)]),
        expect: boundary === 1 ? 'answer' : 'formerr',
        hasOpt: false,
      };
    },
  ],
  // Compression pointers: to itself, forwards, past the end, a loop, a pointer cut in half.
  [
    8,
    (rng) => {
      const variant = rng.int(0, 4);
      let name: Buffer;
      if (variant === 0) name = Buffer.from([0xc0, 12]);
      else if (variant === 1) name = Buffer.from([1, 0x61, 0xc0, 16, 0]);
      else if (variant === 2) name = Buffer.from([1, 0x61, 0xc0 | rng.int(0, 0x3f), 0xff]);
      else if (variant === 3) name = Buffer.from([1, 0x61, 0xc0, 12]);
      else name = Buffer.from([1, 0x61, 0xc0]);
      const bytes = Buffer.concat([header(), name, variant === 4 ? Buffer.alloc(0) : Buffer.from([0, 1, 0, 1])]);
      return {
        kind: `pointer-${['self', 'forward', 'past-end', 'loop', 'cut'][variant]}`,
        bytes,
        expect: 'formerr',
        hasOpt: false,
      };
    },
  ],
  // A question cut anywhere: no type/class, or a name that never ends.
  [
    4,
    (rng) => {
      const full = Buffer.concat([header(), question(dottedName(randomName(rng) || 'a'), 1)]);
      return {
        kind: 'truncated-question',
        bytes: full.subarray(0, rng.int(12, full.length - 1)),
        expect: 'formerr',
        hasOpt: false,
      };
    },
  ],
  // Unknown types and classes, odd flags and rcode bits in a query: all answerable.
  [
    10,
    (rng) => {
      const qclass = rng.pick([1, 1, 3, 4, 0, 254, 255, rng.int(5, 65535)]);
      const qtype = rng.bool(0.5) ? rng.int(0, 65535) : randomType(rng);
      const flags = (rng.int(0, 0xffff) & 0x07ff & ~0x8000) | (rng.bool(0.7) ? 0x0100 : 0);
      const bytes = validQuery(caseFlip(rng, randomName(rng)), qtype, { qclass, flags: flags & 0x87ff });
      return { kind: 'odd-type-class-flags', bytes, expect: 'answer', hasOpt: false };
    },
  ],
  // Well-formed EDNS: any payload size, DO, known and unknown options.
  [
    8,
    (rng) => {
      const options = Buffer.concat(
        Array.from({ length: rng.int(0, 4) }, () => ednsOption(rng.int(0, 65535), rng.bytes(rng.int(0, 24)))),
      );
      const bytes = Buffer.concat([
        header({ ar: 1 }),
        question(dottedName(randomName(rng)), randomType(rng)),
        opt(rng.int(0, 65535), 0, rng.bool(), options),
      ]);
      return { kind: 'edns-ok', bytes, expect: 'answer', hasOpt: true };
    },
  ],
  // EDNS version above 0: BADVERS.
  [
    4,
    (rng) => {
      const bytes = Buffer.concat([
        header({ ar: 1 }),
        question(dottedName(randomName(rng)), 1),
        opt(1232, rng.int(1, 255)),
      ]);
      return { kind: 'edns-version', bytes, expect: 'badvers', hasOpt: true };
    },
  ],
  // EDNS garbage: option lengths past the RDATA, RDATA past the end, two OPTs, OPT not at the root, OPT as an answer.
  [
    8,
    (rng) => {
      const q = question(dottedName(randomName(rng)), 1);
      const variant = rng.int(0, 4);
      let bytes: Buffer;
      if (variant === 0) {
        bytes = Buffer.concat([
          header({ ar: 1 }),
          q,
          opt(1232, 0, false, ednsOption(10, rng.bytes(4), rng.int(5, 65535))),
        ]);
      } else if (variant === 1) {
        const record = opt(1232, 0, false, rng.bytes(8));
        record.writeUInt16BE(rng.int(9, 65535), 9);
        bytes = Buffer.concat([header({ ar: 1 }), q, record]);
      } else if (variant === 2) {
        bytes = Buffer.concat([header({ ar: 2 }), q, opt(1232), opt(512)]);
      } else if (variant === 3) {
        bytes = Buffer.concat([header({ ar: 1 }), q, opt(1232, 0, false, Buffer.alloc(0), dottedName('example.org'))]);
      } else {
        bytes = Buffer.concat([header({ an: 1 }), q, opt(1232)]);
      }
      return { kind: `edns-garbage-${variant}`, bytes, expect: 'formerr', hasOpt: false };
    },
  ],
  // Counts that promise records which are not there.
  [
    4,
    (rng) => {
      const bytes = Buffer.concat([
        header({ an: rng.int(0, 3), ns: rng.int(0, 3), ar: rng.int(1, 65535) }),
        question(dottedName(randomName(rng)), 1),
      ]);
      return { kind: 'counts-lie', bytes, expect: 'formerr', hasOpt: false };
    },
  ],
];

const totalWeight = generators.reduce((sum, [weight]) => sum + weight, 0);

/** One hostile message, drawn by weight from every generator above. */
export function fuzzCase(rng: Random): FuzzCase {
  let roll = rng.next() * totalWeight;
  for (const [weight, generator] of generators) {
    roll -= weight;
    if (roll < 0) return generator(rng);
  }
  return generators[0]![1](rng);
}

/** The expectation of a case, with the header's verdict applied to `any`. */
export function effectiveExpectation(c: FuzzCase): Expectation {
  if (c.expect !== 'any') return c.expect;
  return headerExpectation(c.bytes) ?? 'any';
}
