import assert from 'node:assert/strict';
import { assertRunning, type Daemon, type MemorySample } from './daemon.js';
import { metricValue, type KubeDnsDaemon } from './launch.js';
import { smallClusterProbes } from './fixture.js';
import { summary, tcpCampaign, udpCampaign, type CampaignReport } from './fuzz-campaign.js';

export interface FuzzRunOptions {
  transport: 'udp' | 'tcp';
  count: number;
  seed: number;
  log?: (line: string) => void;
  /** Log every ~10% too (long soak runs). */
  progress?: boolean;
}

const MB = 1024 * 1024;

export function describeMemory(m: MemorySample): string {
  return `heap ${(m.heapUsed / MB).toFixed(1)} MB + buffers ${(m.arrayBuffers / MB).toFixed(1)} MB, rss ${(m.rss / MB).toFixed(1)} MB`;
}

/** What a process holds alive after a full GC: the JS heap and the memory behind Buffers (outside the heap). */
export function liveBytes(m: MemorySample): number {
  return m.heapUsed + m.arrayBuffers;
}

/** One campaign against a running daemon; fails with the first violations if there are any, or if it died. */
export async function fuzzListener(
  daemon: Daemon & { dns: { host: string; port: number } },
  options: FuzzRunOptions,
): Promise<CampaignReport> {
  const run = options.transport === 'udp' ? udpCampaign : tcpCampaign;
  const report = await run({
    target: daemon.dns,
    count: options.count,
    seed: options.seed,
    probes: smallClusterProbes,
    ...(options.progress ? { progress: (r: CampaignReport) => options.log?.(`${daemon.name} ${summary(r)}`) } : {}),
  });
  options.log?.(`${daemon.name} ${summary(report)}`);
  assertRunning(daemon);
  assert.deepEqual(report.violations, [], `${daemon.name} ${options.transport}: ${summary(report)}`);
  assert.deepEqual(
    report.probeFailures,
    [],
    `${daemon.name} ${options.transport}: valid queries failed among the garbage`,
  );
  assert.ok(report.probes > 0);
  return report;
}

/**
 * What one pre-encoded answer in kube-dns's answer cache may cost: measured 650–1,000 octets with the fuzz
 * names (the answer, its key strings, the index Maps growing in steps).
 */
export const ANSWER_CACHE_ENTRY_BYTES = 1536;

/** kube-dns's `skydns_skydns_answer_cache_entries` (pre-encoded answers held; bounded, 50k). */
export async function answerCacheEntries(kubeDns: KubeDnsDaemon): Promise<number> {
  return metricValue(await kubeDns.metrics(), 'skydns_skydns_answer_cache_entries');
}

/**
 * Live memory after the campaigns must be back near the baseline: what may remain is what the bounded caches
 * hold (`allowanceBytes`: kube-dns's answer cache, at most 50k answers; the cache's --cache-size), never
 * something that grows with the number of messages.
 */
export function assertMemoryBack(
  daemon: Daemon,
  before: MemorySample,
  after: MemorySample,
  allowanceBytes: number,
): void {
  const grown = liveBytes(after) - liveBytes(before);
  assert.ok(
    grown < allowanceBytes,
    `${daemon.name}: live memory (heap and buffers) grew by ${(grown / MB).toFixed(1)} MB (before: ${describeMemory(before)}; after: ${describeMemory(after)}), more than the ${(allowanceBytes / MB).toFixed(1)} MB its bounded caches account for`,
  );
}
