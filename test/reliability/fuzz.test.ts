import { after, before, describe, test } from 'node:test';
import type { MemorySample } from './support/daemon.js';
import { startFuzzEnvironment, type FuzzEnvironment } from './support/fuzz-environment.js';
import {
  ANSWER_CACHE_ENTRY_BYTES,
  answerCacheEntries,
  assertMemoryBack,
  describeMemory,
  fuzzListener,
} from './support/fuzz-run.js';
import { seedFrom } from './support/random.js';

/**
 * Every listener of the Pod's two DNS servers (the real bins), UDP and TCP, fed random and mutated
 * messages of every malformation RFC 1035/6891 name, with valid queries interleaved and checked. The
 * soak (`npm run soak`) runs the same campaigns with a million messages per listener.
 */

const UDP_MESSAGES = Number(process.env['FUZZ_UDP_MESSAGES'] ?? 60_000);
const TCP_MESSAGES = Number(process.env['FUZZ_TCP_MESSAGES'] ?? 20_000);
const SEED = seedFrom('FUZZ_SEED', 20_240_601);
const MB = 1024 * 1024;

describe('fuzzing every listener (kube-dns and dnsmasq-cache bins, UDP and TCP)', { timeout: 240_000 }, () => {
  let env: FuzzEnvironment;
  const baseline = new Map<string, MemorySample>();
  let entriesBefore = 0;
  before(async () => {
    env = await startFuzzEnvironment();
    entriesBefore = await answerCacheEntries(env.kubeDns);
    baseline.set('kube-dns', await env.kubeDns.memory());
    baseline.set('dnsmasq-cache', await env.cache.memory());
  });
  after(() => env?.close());

  const log = (line: string): void => console.log(`# ${line}`);

  test(`kube-dns UDP: ${UDP_MESSAGES} hostile datagrams, no crash, RFC answers or silence, valid queries answered`, async () => {
    await fuzzListener(env.kubeDns, { transport: 'udp', count: UDP_MESSAGES, seed: SEED, log });
  });

  test(`kube-dns TCP: ${TCP_MESSAGES} hostile frames, lying lengths, random streams`, async () => {
    await fuzzListener(env.kubeDns, { transport: 'tcp', count: TCP_MESSAGES, seed: SEED + 1, log });
  });

  test('kube-dns: live memory back to its baseline plus what its bounded answer cache holds', async () => {
    const after = await env.kubeDns.memory();
    const entries = (await answerCacheEntries(env.kubeDns)) - entriesBefore;
    log(
      `kube-dns memory: before ${describeMemory(baseline.get('kube-dns')!)}; after ${describeMemory(after)}; ${entries} more cached answers`,
    );
    assertMemoryBack(env.kubeDns, baseline.get('kube-dns')!, after, 4 * MB + entries * ANSWER_CACHE_ENTRY_BYTES);
  });

  test(`dnsmasq-cache UDP: ${UDP_MESSAGES} hostile datagrams through the cache to kube-dns and upstream`, async () => {
    await fuzzListener(env.cache, { transport: 'udp', count: UDP_MESSAGES, seed: SEED + 2, log });
  });

  test(`dnsmasq-cache TCP: ${TCP_MESSAGES} hostile frames`, async () => {
    await fuzzListener(env.cache, { transport: 'tcp', count: TCP_MESSAGES, seed: SEED + 3, log });
  });

  test('dnsmasq-cache: live memory back to its baseline (plus the bounded cache)', async () => {
    const after = await env.cache.memory();
    log(
      `dnsmasq-cache memory: before ${describeMemory(baseline.get('dnsmasq-cache')!)}; after ${describeMemory(after)}`,
    );
    assertMemoryBack(env.cache, baseline.get('dnsmasq-cache')!, after, 12 * MB);
  });
});
