import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Daemon, MemorySample } from '../reliability/support/daemon.js';
import { startFuzzEnvironment, type FuzzEnvironment } from '../reliability/support/fuzz-environment.js';
import { assertMemoryBack, describeMemory, fuzzListener } from '../reliability/support/fuzz-run.js';
import { seedFrom } from '../reliability/support/random.js';

/**
 * The suite's fuzz campaigns at soak size: a million hostile messages per listener (kube-dns and the
 * cache, UDP and TCP), in rounds with a live-heap measurement after each: once the bounded caches are full,
 * the heap must not grow with the number of messages.
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

  const soak = async (
    daemon: Daemon & { dns: { host: string; port: number } },
    transport: 'udp' | 'tcp',
    seed: number,
    slackMb: number,
  ) => {
    const baseline = await daemon.memory();
    const samples: MemorySample[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await fuzzListener(daemon, { transport, count: Math.ceil(MESSAGES / ROUNDS), seed: seed + round * 7919, log });
      samples.push(await daemon.memory());
      log(`${daemon.name} ${transport} round ${round + 1}/${ROUNDS}: ${describeMemory(samples.at(-1)!)}`);
    }
    for (const sample of samples) assertMemoryBack(daemon, baseline, sample, slackMb * MB);
    // The bounded caches fill and empty (kube-dns drops its answer cache when a new type arrives at the
    // limit), so the heap goes up and down between rounds; a leak would make it climb: the last round
    // may not end above every earlier one by more than noise.
    const highest = Math.max(...samples.slice(0, -1).map((s) => s.heapUsed));
    const last = samples.at(-1)!.heapUsed;
    assert.ok(
      last < highest + 4 * MB,
      `${daemon.name} ${transport}: live heap still climbing (${samples.map((s) => (s.heapUsed / MB).toFixed(1)).join(' → ')} MB)`,
    );
  };

  test('kube-dns UDP', async () => soak(env.kubeDns, 'udp', SEED, 24));
  test('kube-dns TCP', async () => soak(env.kubeDns, 'tcp', SEED + 1, 24));
  test('dnsmasq-cache UDP', async () => soak(env.cache, 'udp', SEED + 2, 12));
  test('dnsmasq-cache TCP', async () => soak(env.cache, 'tcp', SEED + 3, 12));
});
