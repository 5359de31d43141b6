import assert from 'node:assert/strict';
import { assertRunning, type Daemon, type MemorySample } from './daemon.js';
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
  return `heap ${(m.heapUsed / MB).toFixed(1)} MB, rss ${(m.rss / MB).toFixed(1)} MB`;
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
 * The live heap after the campaigns must be back near the baseline: what remains is bounded by the answer
 * caches (kube-dns keeps at most 20k pre-encoded answers, the cache its --cache-size), never by the number
 * of messages. `slackBytes` is that bound.
 */
export function assertMemoryBack(daemon: Daemon, before: MemorySample, after: MemorySample, slackBytes: number): void {
  const grown = after.heapUsed - before.heapUsed;
  assert.ok(
    grown < slackBytes,
    `${daemon.name}: live heap grew by ${(grown / MB).toFixed(1)} MB (before: ${describeMemory(before)}; after: ${describeMemory(after)}), more than the ${(slackBytes / MB).toFixed(0)} MB its bounded caches can hold`,
  );
}
