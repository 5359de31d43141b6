import {
  Flag,
  HEADER_LENGTH,
  Rcode,
  readName,
  RRClass,
  RRType,
  walkRecords,
  type RecordSpan,
} from '@kube-dns/daemon-kit';
import { readLabels, WireWriter } from './wire-writer.js';

/**
 * An upstream answer as the cache keeps it: exactly what dnsmasq 2.90 would answer from its cache for the same
 * question (the CNAME chain and the records of the asked type; for negative answers the SOA in authority), already
 * laid out as a message so that a hit only copies it and patches ID, flags, question and TTLs.
 */
export interface StoredAnswer {
  /** Header, question, answer records, then the SOA of a negative answer; no OPT. */
  wire: Buffer;
  /** Offset just past the question: bytes 12..questionEnd are replaced by the client's question on a hit. */
  questionEnd: number;
  rcode: number;
  /** Offset of each record's TTL field in `wire`. */
  ttlOffsets: Uint16Array;
  /** The TTL each record was cached with (after --min/--max-cache-ttl), seconds. */
  ttls: Uint32Array;
  /** Seconds until the entry expires: its shortest record, or the negative TTL. */
  lifetime: number;
  /** How many dnsmasq cache records this answer stands for: its share of --cache-size and of insertions.bind. */
  weight: number;
  /** NXDOMAIN for the queried name itself: dnsmasq answers every type of that name from it. */
  nameError: boolean;
}

/**
 * What one upstream answer puts in the cache. dnsmasq caches record by record, so after `a CNAME b` + `b A 1.2.3.4`
 * a direct question for `b A` is a hit too: `target` is that second entry (the final name of a CNAME chain with
 * its records, or its negative answer). The records' weight is split so the total equals dnsmasq's record count:
 * `primary` weighs its CNAMEs, `target` the rest.
 */
export interface StoredAnswers {
  primary: StoredAnswer;
  target: { name: string; answer: StoredAnswer } | null;
  /**
   * The SOA of a negative answer as an entry of its own (`<zone> SOA`): dnsmasq keeps it as one record per zone that
   * each negative answer replaces, and answers SOA questions for the zone from it.
   */
  soa: { zone: string; answer: StoredAnswer } | null;
}

export interface CachePolicy {
  negativeCache: boolean;
  /** --neg-ttl: used when a negative answer has no SOA. */
  negTtl: number;
  maxCacheTtl: number;
  minCacheTtl: number;
}

/** dnsmasq CNAME_CHAIN: longer chains are not cached (loop protection). */
const CNAME_CHAIN = 10;

/** Types whose positive answers dnsmasq 2.90 caches without --cache-rr. */
const POSITIVE_TYPES: ReadonlySet<number> = new Set([RRType.A, RRType.AAAA, RRType.SRV]);

/** RDATA layouts with embedded names: numbers are fixed octets, 'n' a compressible name, 'N' one never compressed. */
const RDATA_LAYOUT: ReadonlyMap<number, readonly (number | 'n' | 'N')[]> = new Map<number, (number | 'n' | 'N')[]>([
  [2, ['n']], // NS
  [3, ['n']], // MD
  [4, ['n']], // MF
  [5, ['n']], // CNAME
  [6, ['n', 'n', 20]], // SOA
  [7, ['n']], // MB
  [8, ['n']], // MG
  [9, ['n']], // MR
  [12, ['n']], // PTR
  [14, ['n', 'n']], // MINFO
  [15, [2, 'n']], // MX
  [17, ['N', 'N']], // RP
  [18, [2, 'N']], // AFSDB
  [21, [2, 'N']], // RT
  [26, [2, 'N', 'N']], // PX
  [33, [6, 'N']], // SRV (RFC 2782: no compression)
  [36, [2, 'N']], // KX
  [39, ['N']], // DNAME
]);

/**
 * Decides, with dnsmasq 2.90's rules (rfc1035.c extract_addresses, cache.c cache_insert), whether and how an upstream
 * answer is cached. Returns null when dnsmasq would not cache it and 'malformed' when the message cannot be walked.
 * - NOERROR/NXDOMAIN only, not truncated, not with CD (unvalidated), class IN.
 * - Positive: A, AAAA, SRV (CNAME chains followed, ≤10) and PTR of in-addr.arpa/ip6.arpa names.
 * - NODATA for those types and NXDOMAIN for any type, unless --no-negcache; TTL = min(SOA TTL, SOA MINIMUM), else
 *   --neg-ttl, else the CNAME chain's TTL; the SOA is kept for the authority section (and as `<zone> SOA`).
 * - Every TTL goes through --max-cache-ttl then --min-cache-ttl; a resulting 0 means nothing is cached.
 */
export function storeAnswer(response: Buffer, policy: CachePolicy): StoredAnswers | null | 'malformed' {
  if (response.length < HEADER_LENGTH) return 'malformed';
  const flags = response.readUInt16BE(2);
  if (!(flags & Flag.QR) || ((flags >> 11) & 0xf) !== 0 || response.readUInt16BE(4) !== 1) return null;
  if (flags & Flag.TC || flags & Flag.CD) return null;
  const rcode = flags & 0xf;
  if (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) return null;
  const walked = walkRecords(response);
  if (walked === null) return 'malformed';
  const question = readName(response, HEADER_LENGTH);
  if (question === null) return 'malformed';
  const qtype = response.readUInt16BE(question.end);
  const qclass = response.readUInt16BE(question.end + 2);
  if (qclass !== RRClass.IN) return null;
  if (walked.records.some((r) => r.type === RRType.OPT && (response[r.fixed + 5] ?? 0) !== 0)) return null;

  const answers = walked.records.filter((r) => r.section === 'answer');
  const isPtr = qtype === RRType.PTR;
  if (isPtr && !isReverseName(question.name)) return null;
  const chain: RecordSpan[] = [];
  const found: RecordSpan[] = [];
  let current = question.name;
  for (let restart = true; restart;) {
    restart = false;
    for (const record of answers) {
      if (response.readUInt16BE(record.fixed + 2) !== RRClass.IN) continue;
      const owner = readName(response, record.start);
      if (owner === null) return 'malformed';
      if (owner.name !== current) continue;
      if (record.type === RRType.CNAME && qtype !== RRType.CNAME) {
        if (chain.includes(record)) continue;
        if (chain.length >= CNAME_CHAIN) return null;
        const target = readName(response, record.fixed + 10);
        if (target === null) return 'malformed';
        chain.push(record);
        current = target.name;
        restart = true;
        break;
      }
      if (record.type === qtype && qtype !== RRType.ANY && rcode !== Rcode.NXDOMAIN) found.push(record);
    }
  }

  const clamp = (ttl: number): number => {
    let value = ttl;
    if (policy.maxCacheTtl !== 0 && value > policy.maxCacheTtl) value = policy.maxCacheTtl;
    if (policy.minCacheTtl !== 0 && value < policy.minCacheTtl) value = policy.minCacheTtl;
    return value;
  };
  const ttlOf = (record: RecordSpan): number => response.readUInt32BE(record.fixed + 4);

  const questionEnd = question.end + 4;
  if (found.length > 0) {
    if (!POSITIVE_TYPES.has(qtype) && !isPtr) return null;
    const records = [...chain, ...found];
    const ttls = records.map((r) => clamp(ttlOf(r)));
    if (ttls.some((t) => t === 0)) return null;
    const lifetime = Math.min(...ttls);
    if (chain.length === 0) {
      return single(
        build(response, HEADER_LENGTH, questionEnd, rcode, records, [], ttls, lifetime, found.length, false),
      );
    }
    const foundTtls = ttls.slice(chain.length);
    return pair(
      build(response, HEADER_LENGTH, questionEnd, rcode, records, [], ttls, lifetime, chain.length, false),
      current,
      build(
        response,
        chain[chain.length - 1]!.fixed + 10,
        null,
        rcode,
        found,
        [],
        foundTtls,
        Math.min(...foundTtls),
        found.length,
        false,
        qtype,
      ),
    );
  }

  // Negative: dnsmasq stores NODATA only for the types it caches, NXDOMAIN for any type; never for ANY's NODATA.
  const nameError = rcode === Rcode.NXDOMAIN;
  if (!policy.negativeCache) return null;
  if (!nameError && !POSITIVE_TYPES.has(qtype) && !isPtr) return null;
  if (qtype === RRType.CNAME && !nameError) return null;
  const soa = walked.records.find(
    (r) =>
      r.section === 'authority' &&
      r.type === RRType.SOA &&
      response.readUInt16BE(r.fixed + 2) === RRClass.IN &&
      isSuffix(readName(response, r.start)?.name ?? null, current),
  );
  let negTtl = policy.negTtl;
  if (soa) {
    const minimum = soaMinimum(response, soa);
    if (minimum === null) return 'malformed';
    negTtl = Math.min(ttlOf(soa), minimum);
  }
  if (negTtl === 0 && chain.length > 0) negTtl = Math.min(...chain.map(ttlOf));
  const negative = clamp(negTtl);
  const chainTtls = chain.map((r) => clamp(ttlOf(r)));
  const soaTtls = soa ? [clamp(ttlOf(soa))] : [];
  if (negative === 0 || chainTtls.some((t) => t === 0) || soaTtls.some((t) => t === 0)) return null;
  const authority = soa ? [soa] : [];
  // The SOA's weight goes to its own entry (one per zone, replaced by each negative answer), as in dnsmasq.
  const negativeWeight = 1;
  let soaEntry: StoredAnswers['soa'] = null;
  if (soa) {
    const zone = readName(response, soa.start)!.name;
    const answer = build(
      response,
      soa.start,
      null,
      Rcode.NOERROR,
      [soa],
      [],
      soaTtls,
      soaTtls[0]!,
      1,
      false,
      RRType.SOA,
    );
    if (answer === 'malformed') return 'malformed';
    soaEntry = { zone, answer };
  }
  const primary = build(
    response,
    HEADER_LENGTH,
    questionEnd,
    rcode,
    chain,
    authority,
    [...chainTtls, ...soaTtls],
    Math.min(negative, ...chainTtls),
    chain.length === 0 ? negativeWeight : chain.length,
    nameError && chain.length === 0,
  );
  if (chain.length === 0) return withSoa(single(primary), soaEntry);
  const target = build(
    response,
    chain[chain.length - 1]!.fixed + 10,
    null,
    rcode,
    [],
    authority,
    soaTtls,
    negative,
    negativeWeight,
    nameError,
    qtype,
  );
  return withSoa(pair(primary, current, target), soaEntry);
}

function single(primary: StoredAnswer | 'malformed'): StoredAnswers | 'malformed' {
  return primary === 'malformed' ? 'malformed' : { primary, target: null, soa: null };
}

function withSoa(answers: StoredAnswers | 'malformed', soa: StoredAnswers['soa']): StoredAnswers | 'malformed' {
  return answers === 'malformed' ? answers : { ...answers, soa };
}

function pair(
  primary: StoredAnswer | 'malformed',
  name: string,
  target: StoredAnswer | 'malformed',
): StoredAnswers | 'malformed' {
  if (primary === 'malformed' || target === 'malformed') return 'malformed';
  return { primary, target: { name, answer: target }, soa: null };
}

function isSuffix(zone: string | null, name: string): boolean {
  if (zone === null) return false;
  return zone === '' || name === zone || name.endsWith('.' + zone);
}

function soaMinimum(response: Buffer, soa: RecordSpan): number | null {
  let offset = soa.fixed + 10;
  for (let i = 0; i < 2; i++) {
    const name = readLabels(response, offset);
    if (name === null) return null;
    offset = name.end;
  }
  return offset + 20 <= soa.end ? response.readUInt32BE(offset + 16) : null;
}

/** `d.c.b.a.in-addr.arpa` (four decimal octets) or 32 nibbles + `ip6.arpa`: the names dnsmasq caches PTRs for. */
export function isReverseName(name: string): boolean {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
  }
  if (name.endsWith('.ip6.arpa')) {
    const parts = name.slice(0, -'.ip6.arpa'.length).split('.');
    return parts.length === 32 && parts.every((p) => /^[0-9a-f]$/.test(p));
  }
  return false;
}

/**
 * Lays out a stored answer. The question is the response's own (`questionEnd` given) or, for the target of a CNAME
 * chain, made from the name at `nameOffset` with `qtype` and class IN.
 */
function build(
  response: Buffer,
  nameOffset: number,
  questionEnd: number | null,
  rcode: number,
  answers: RecordSpan[],
  authority: RecordSpan[],
  ttls: number[],
  lifetime: number,
  weight: number,
  nameError: boolean,
  qtype = 0,
): StoredAnswer | 'malformed' {
  const writer = new WireWriter();
  const header = Buffer.from(response.subarray(0, HEADER_LENGTH));
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  header.writeUInt16BE(authority.length, 8);
  header.writeUInt16BE(0, 10);
  writer.bytes(header);
  const questionLabels = readLabels(response, nameOffset);
  if (questionLabels === null) return 'malformed';
  if (questionEnd !== null) {
    writer.bytes(Buffer.from(response.subarray(HEADER_LENGTH, questionEnd)));
  } else {
    writer.name(questionLabels.labels, false, false);
    writer.u16(qtype);
    writer.u16(RRClass.IN);
  }
  const ownQuestionEnd = writer.offset;
  // Names equal to the question become pointers to it, so a hit echoes the client's spelling. Only the whole name:
  // other names pointing into the question's suffixes would take on the client's case too.
  writer.remember(questionLabels.labels, HEADER_LENGTH, 1);
  const ttlOffsets: number[] = [];
  for (const record of [...answers, ...authority]) {
    const owner = readLabels(response, record.start);
    if (owner === null) return 'malformed';
    writer.name(owner.labels, true);
    writer.bytes(Buffer.from(response.subarray(record.fixed, record.fixed + 4)));
    ttlOffsets.push(writer.offset);
    writer.u32(response.readUInt32BE(record.fixed + 4));
    const setLength = writer.placeholder16();
    const start = writer.offset;
    if (!writeRdata(writer, response, record)) return 'malformed';
    setLength(writer.offset - start);
  }
  const wire = writer.finish();
  for (let i = 0; i < ttlOffsets.length; i++) wire.writeUInt32BE(ttls[i]!, ttlOffsets[i]);
  return {
    wire,
    questionEnd: ownQuestionEnd,
    rcode,
    ttlOffsets: Uint16Array.from(ttlOffsets),
    ttls: Uint32Array.from(ttls),
    lifetime,
    weight,
    nameError,
  };
}

/** Copies RDATA, expanding embedded names (their pointers are meaningless at new offsets) and re-compressing. */
function writeRdata(writer: WireWriter, response: Buffer, record: RecordSpan): boolean {
  const start = record.fixed + 10;
  const layout = RDATA_LAYOUT.get(record.type);
  if (layout === undefined) {
    writer.bytes(Buffer.from(response.subarray(start, record.end)));
    return true;
  }
  let offset = start;
  for (const part of layout) {
    if (typeof part === 'number') {
      if (offset + part > record.end) return false;
      writer.bytes(Buffer.from(response.subarray(offset, offset + part)));
      offset += part;
    } else {
      const name = readLabels(response, offset);
      if (name === null || name.end > record.end) return false;
      writer.name(name.labels, part === 'n');
      offset = name.end;
    }
  }
  if (offset < record.end) writer.bytes(Buffer.from(response.subarray(offset, record.end)));
  return true;
}
