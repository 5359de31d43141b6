import dnsPacket from 'dns-packet';
import { exchangeUdp, randomQueryId, RRType, walkRecords, type UpstreamServer } from '@kube-dns/daemon-kit';
import { CACHE_STATS, type CacheStatName } from './metrics.js';

/** One poll's raw values, as the cache reports them (counters since its start). */
export type CacheStats = Record<CacheStatName, number>;

export interface FetchCacheStatsOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * Reads dnsmasq's statistics the way the original does (`pkg/dnsmasq/metrics.go`): one CHAOS TXT query
 * per counter (`hits.bind.` … `cachesize.bind.`), one after the other; any failure fails the whole poll.
 */
export async function fetchCacheStats(server: UpstreamServer, options: FetchCacheStatsOptions): Promise<CacheStats> {
  const stats = {} as CacheStats;
  for (const stat of CACHE_STATS) {
    const name = `${stat}.bind.`;
    const response = await exchangeUdp(server, statQuery(name), options);
    stats[stat] = parseStatResponse(response, name);
  }
  return stats;
}

/** `<name> CH TXT` with RD set, as the original's miekg client sends it. */
export function statQuery(name: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: randomQueryId(),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: 'TXT', class: 'CH' }],
  });
}

/**
 * The value of a statistics answer: exactly one answer record, a TXT with exactly one string holding a
 * decimal int64. Throws with the original's messages otherwise.
 */
export function parseStatResponse(response: Buffer, name: string): number {
  const walked = walkRecords(response);
  if (walked === null) throw new Error(`malformed response for ${name}`);
  const answers = walked.records.filter((record) => record.section === 'answer');
  if (answers.length !== 1) throw new Error(`invalid number of Answer records for ${name}: ${answers.length}`);
  const answer = answers[0]!;
  if (answer.type !== RRType.TXT) throw new Error(`missing TXT record for ${name}`);
  const strings = txtStrings(response, answer.fixed + 10, answer.end);
  if (strings === null) throw new Error(`malformed TXT record for ${name}`);
  if (strings.length !== 1) throw new Error(`invalid number of TXT records for ${name}: ${strings.length}`);
  return parseInt64(strings[0]!);
}

/** The character-strings of TXT RDATA (RFC 1035 §3.3.14), or null if they overrun it. */
function txtStrings(buf: Buffer, start: number, end: number): string[] | null {
  const strings: string[] = [];
  let offset = start;
  while (offset < end) {
    const length = buf[offset]!;
    if (offset + 1 + length > end) return null;
    strings.push(buf.toString('latin1', offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  return strings;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** Go's strconv.ParseInt(text, 10, 64), with its error wording. */
export function parseInt64(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  const value = BigInt(text);
  if (value > INT64_MAX || value < INT64_MIN) {
    throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`);
  }
  return Number(value);
}
