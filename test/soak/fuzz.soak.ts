import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Daemon, MemorySample } from '../reliability/support/daemon.js';
import { startFuzzEnvironment, type FuzzEnvironment } from '../reliability/support/fuzz-environment.js';
import {
  ANSWER_CACHE_ENTRY_BYTES,
  answerCacheEntries,
  assertMemoryBack,
  describeMemory,
  fuzzListener,
  liveBytes,
} from '../reliability/support/fuzz-run.js';
import { seedFrom } from '../reliability/support/random.js';

/**
 * The suite's fuzz campaigns at soak size: a million hostile messages per listener (kube-dns and the
 * cache, UDP and TCP), in rounds with a live-memory measurement after each: it may grow with what the
 * bounded caches hold, not with the number of messages.
 */

const MESSAGES = Number(process.env['SOAK_FUZZ_MESSAGES'] ?? 1_000_000);
const ROUNDS = 5;
const SEED = seedFrom('FUZZ_SEED', 20_240_701);
const MB = 1024 * 1024;

describe(`soak: ${MESSAGES} hostile messages per listener`, { timeout: 60 * 60_000 }, () => {
  let env: FuzzEnvironment;
  before(async () => {
    env = await startFuzzEnvironment();
  });
  after(() => env?.close());
  const log = (line: string): void => console.log(`# ${line}`);

  /**
   * Live memory is sampled after each round with what kube-dns's answer cache holds then (the cache bin's own
   * cache is small: `entries` is 0 for it). Each sample must be within the baseline plus what the held
   * answers account for, and from the first round to the last live memory may grow only by what the extra
   * held answers account for plus `climbMb`: a leak grows with the messages, a bounded cache with its entries.
   */
  const soak = async (
    daemon: Daemon & { dns: { host: string; port: number } },
    transport: 'udp' | 'tcp',
    seed: number,
    entries: () => Promise<number>,
    climbMb: number,
  ) => {
    const baseline = await daemon.memory();
    const baseEntries = await entries();
    const samples: Array<{ memory: MemorySample; entries: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      await fuzzListener(daemon, { transport, count: Math.ceil(MESSAGES / ROUNDS), seed: seed + round * 7919, log });
      const sample = { entries: await entries(), memory: await daemon.memory() };
      samples.push(sample);
      log(
        `${daemon.name} ${transport} round ${round + 1}/${ROUNDS}: ${describeMemory(sample.memory)}, ${sample.entries} cached answers`,
      );
      assertMemoryBack(
        daemon,
        baseline,
        sample.memory,
        8 * MB + Math.max(0, sample.entries - baseEntries) * ANSWER_CACHE_ENTRY_BYTES,
      );
    }
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const allowance = climbMb * MB + Math.max(0, last.entries - first.entries) * ANSWER_CACHE_ENTRY_BYTES;
    assert.ok(
      liveBytes(last.memory) - liveBytes(first.memory) < allowance,
      `${daemon.name} ${transport}: live memory climbing (${samples.map((x) => `${(liveBytes(x.memory) / MB).toFixed(1)} MB/${x.entries}`).join(' → ')})`,
    );
  };
  const kubeDnsEntries = () => answerCacheEntries(env.kubeDns);
  const none = () => Promise.resolve(0);

  test('kube-dns UDP', async () => soak(env.kubeDns, 'udp', SEED, kubeDnsEntries, 2));
  test('kube-dns TCP', async () => soak(env.kubeDns, 'tcp', SEED + 1, kubeDnsEntries, 2));
  test('dnsmasq-cache UDP', async () => soak(env.cache, 'udp', SEED + 2, none, 1));
  test('dnsmasq-cache TCP', async () => soak(env.cache, 'tcp', SEED + 3, none, 1));
});
