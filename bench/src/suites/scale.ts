import type { ApiServerHandle, KubeObject } from '@kube-dns/apiserver-sim';
import { RRType } from '@kube-dns/daemon-kit';
import { join } from 'node:path';
import {
  clusterIpService,
  endpointIp,
  endpointSlice,
  headlessFqdn,
  headlessName,
  namespaceName,
  serviceFqdn,
  writeQueryFile,
  ZONE,
  type ClusterShape,
} from '../cluster.js';
import { startCluster, type SuiteContext, type SuiteResult } from '../context.js';
import { answerAddresses, type DnsClient, type DecodedResponse } from '../dns-client.js';
import { runDnsperf } from '../dnsperf.js';
import { MiB, RssSampler, rssBytes } from '../proc.js';
import { atMost, ratioAtMost, row } from '../report.js';
import { startKubeDns, type KubeDnsProcess } from '../servers.js';
import { percentile, round } from '../stats.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Changes per second during churn (the figure). */
const CHURN_RATE = 100;
/** A change not visible in DNS after this long counts as lost. */
const PROGRAMMING_TIMEOUT_MS = 5000;

type ChangeKind = 'endpoint' | 'create' | 'delete';

interface Change {
  kind: ChangeKind;
  name: string;
  /** Is the answer the new state yet? */
  done: (response: DecodedResponse) => boolean;
}

interface ProgrammingSample {
  kind: ChangeKind;
  ms: number | null;
  /** For a change never seen: the name and the last answer (rcode and addresses). */
  missed?: string;
}

/**
 * Polls kube-dns for `change.name` from the moment the simulator committed the write (`committedAt`) until
 * the answer shows it, pausing 1 ms between queries (so polling does not load the server it measures).
 */
async function pollUntilProgrammed(
  client: DnsClient,
  port: number,
  change: Change,
  committedAt: number,
): Promise<ProgrammingSample> {
  for (;;) {
    const response = await client.query(port, change.name, RRType.A, { timeoutMs: 500 });
    const now = performance.now();
    if (response !== null && change.done(response)) return { kind: change.kind, ms: now - committedAt };
    if (now - committedAt > PROGRAMMING_TIMEOUT_MS) {
      const last = response === null ? 'no answer' : `rcode ${response.rcode} [${answerAddresses(response).join(' ')}]`;
      return { kind: change.kind, ms: null, missed: `${change.name}: ${last}` };
    }
    await sleep(1);
  }
}

/**
 * Churn at CHURN_RATE changes/s for `seconds`: a headless service's endpoint moves to a new IP, a ClusterIP
 * service is created, an endpoint moves again, the oldest created service is deleted (repeat; until 50 exist,
 * another endpoint move instead of the delete). Returns one programming-latency sample per change.
 */
async function churn(
  sim: ApiServerHandle,
  client: DnsClient,
  kubeDns: KubeDnsProcess,
  shape: ClusterShape,
  seconds: number,
): Promise<ProgrammingSample[]> {
  const slices = new Map<number, string[]>();
  const created: Array<{ name: string; namespace: string }> = [];
  let nextIp = 0;
  let churnServices = 0;
  let endpointChanges = 0;
  const pollers: Array<Promise<ProgrammingSample>> = [];
  const total = Math.round(seconds * CHURN_RATE);
  const started = performance.now();

  const change = (k: number): Change => {
    const step = k % 4;
    if (step === 0 || step === 2 || (step === 3 && created.length <= 50)) {
      // Each slice changes once per 2,000 endpoint changes: a change is never superseded before it can be seen.
      const j = endpointChanges++ % shape.headlessServices;
      const namespace = namespaceName(j % shape.namespaces);
      const ips =
        slices.get(j) ??
        Array.from({ length: shape.endpointsPerHeadless }, (_, e) => endpointIp(j * shape.endpointsPerHeadless + e));
      const next = [...ips];
      // Addresses past every endpoint of the cluster: unique for the whole run.
      next[Math.floor(endpointChanges / shape.headlessServices) % next.length] = endpointIp(
        shape.headlessServices * shape.endpointsPerHeadless + nextIp++,
      );
      slices.set(j, next);
      sim.objects.apply(endpointSlice(`${headlessName(j)}-slice`, namespace, headlessName(j), next));
      const expected = [...next].sort().join(',');
      return {
        kind: 'endpoint',
        name: headlessFqdn(j, shape),
        done: (response) => answerAddresses(response).join(',') === expected,
      };
    }
    // Deleted services have lived for a while (50 creations, 2 s): a create is never undone before it can be seen.
    if (step === 3 && created.length > 50) {
      const victim = created.shift()!;
      sim.objects.delete({ kind: 'Service', namespace: victim.namespace, name: victim.name });
      return {
        kind: 'delete',
        name: `${victim.name}.${victim.namespace}.svc.${ZONE}`,
        done: (response) => response.rcode === 3,
      };
    }
    const name = `churn-${churnServices++}`;
    const namespace = namespaceName(k % shape.namespaces);
    const service: KubeObject = sim.objects.create(clusterIpService(name, namespace));
    const ip = (service['spec'] as { clusterIP: string }).clusterIP;
    created.push({ name, namespace });
    return {
      kind: 'create',
      name: `${name}.${namespace}.svc.${ZONE}`,
      done: (response) => response.rcode === 0 && answerAddresses(response).includes(ip),
    };
  };

  for (let k = 0; k < total; k++) {
    // Paced by elapsed time, not by a fixed interval: timer drift does not lower the rate.
    const due = started + (k * 1000) / CHURN_RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const next = change(k);
    pollers.push(pollUntilProgrammed(client, kubeDns.port, next, performance.now()));
  }
  return Promise.all(pollers);
}

/**
 * 4. Scale: the simulator serving 10k ClusterIP services in 100 namespaces and 2k headless services with 25 ready
 * endpoints each. Start to ready, RSS after sync, DNS programming latency under churn, and the RSS peak during a
 * forced full re-list (history expired, watches dropped: 410 on resume, then a list of every kind).
 */
export async function scale(ctx: SuiteContext): Promise<SuiteResult> {
  const shape = ctx.shape;
  const { sim, kubeconfig } = await startCluster(ctx.workDir, shape);
  let kubeDns: KubeDnsProcess | null = null;
  try {
    kubeDns = await startKubeDns(kubeconfig);
    const pid = kubeDns.pid;
    const rssAtReady = rssBytes(pid);
    // V8 returns the pages the sync's garbage left to the system ~10 s after the burst (its memory reducer):
    // "after sync" is the settled figure, 15 s after ready; the one at ready is reported too.
    await sleep(15_000);
    const rssAfterSync = rssBytes(pid);
    ctx.log(
      `kube-dns ready after ${kubeDns.readyAfterMs.toFixed(0)} ms; RSS at ready ${(rssAtReady / MiB).toFixed(1)} MiB, ` +
        `settled (15 s later) ${(rssAfterSync / MiB).toFixed(1)} MiB`,
    );

    const churnSampler = new RssSampler(pid, 50);
    churnSampler.start();
    const samples = await churn(sim, ctx.client, kubeDns, shape, ctx.churnSeconds);
    const churnRss = churnSampler.stop();
    const latencies = samples.filter((s) => s.ms !== null).map((s) => s.ms!);
    const lost = samples.length - latencies.length;
    const missed = samples.filter((s) => s.missed !== undefined).map((s) => s.missed!);
    if (missed.length > 0) ctx.log(`changes not seen in DNS: ${missed.slice(0, 5).join('; ')}`);
    const byKind = Object.fromEntries(
      (['endpoint', 'create', 'delete'] as const).map((kind) => {
        const xs = samples.filter((s) => s.kind === kind && s.ms !== null).map((s) => s.ms!);
        return [kind, { n: xs.length, p50: round(percentile(xs, 50), 2), p99: round(percentile(xs, 99), 2) }];
      }),
    );
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    ctx.log(
      `churn: ${samples.length} changes, programming p50 ${p50.toFixed(1)} ms p99 ${p99.toFixed(1)} ms max ` +
        `${Math.max(...latencies).toFixed(1)} ms, not seen within ${PROGRAMMING_TIMEOUT_MS} ms: ${lost}; ${JSON.stringify(byKind)}`,
    );

    await sleep(3000);
    const steady = rssBytes(pid);
    const sampler = new RssSampler(pid, 50);
    sampler.start();
    const kinds = ['services', 'endpointslices', 'namespaces'];
    const listsBefore = kinds.map((resource) => sim.requests.count({ verb: 'list', resource }));
    const relistStarted = performance.now();
    sim.faults.expireHistory();
    sim.faults.dropWatches();
    let relistMs = NaN;
    for (const deadline = performance.now() + 60_000; performance.now() < deadline;) {
      const relisted = kinds.every((resource, i) => sim.requests.count({ verb: 'list', resource }) > listsBefore[i]!);
      if (relisted && sim.openWatches().length >= kinds.length) {
        relistMs = performance.now() - relistStarted;
        break;
      }
      await sleep(50);
    }
    // Keep sampling a while: the old objects become garbage only after the new list is applied.
    await sleep(3000);
    const relist = sampler.stop();
    const after = await ctx.client.query(kubeDns.port, headlessFqdn(0, shape), RRType.A);
    ctx.log(
      `re-list: done after ${relistMs.toFixed(0)} ms; RSS steady ${(steady / MiB).toFixed(1)} MiB, peak ` +
        `${(relist.peak / MiB).toFixed(1)} MiB (${relist.samples} samples); answers after: ${answerAddresses(after).length} addresses`,
    );

    // Serving: every A, SRV and headless question of the cluster asked once, so the answer cache holds them all
    // (like CoreDNS's cache, outside the sizing formula the target comes from).
    const servingFile = join(ctx.workDir, 'scale-serving.txt');
    writeQueryFile(servingFile, [
      ...Array.from({ length: shape.clusterIpServices }, (_, i) => [serviceFqdn(i, shape), 'A'] as const),
      ...Array.from(
        { length: shape.clusterIpServices },
        (_, i) => [`_http._tcp.${serviceFqdn(i, shape)}`, 'SRV'] as const,
      ),
      ...Array.from({ length: shape.headlessServices }, (_, i) => [headlessFqdn(i, shape), 'A'] as const),
    ]);
    await runDnsperf({ port: kubeDns.port, file: servingFile, maxRuns: 1, outstanding: 20 });
    await sleep(3000);
    const rssServing = rssBytes(pid);
    ctx.log(
      `RSS serving with ${2 * shape.clusterIpServices + shape.headlessServices} answers cached: ${(rssServing / MiB).toFixed(1)} MiB`,
    );

    const suite = '4 scale';
    const rows = [
      row(suite, 'start to ready', 's', kubeDns.readyAfterMs / 1000, null, null, atMost(5, 's')),
      row(suite, 'kube-dns RSS at ready (sync just done)', 'MiB', rssAtReady / MiB),
      row(
        suite,
        'kube-dns RSS after sync (settled, 15 s after ready)',
        'MiB',
        rssAfterSync / MiB,
        null,
        null,
        atMost(114, 'MiB'),
      ),
      row(
        suite,
        'RSS peak during forced re-list / steady',
        'MiB',
        relist.peak / MiB,
        steady / MiB,
        'steady',
        ratioAtMost(1.3),
      ),
      row(suite, 'kube-dns RSS serving, answer cache holding 22k answers', 'MiB', rssServing / MiB),
      row(suite, `DNS programming latency p50 (${CHURN_RATE} changes/s)`, 'ms', p50),
      row(suite, `DNS programming latency p99 (${CHURN_RATE} changes/s)`, 'ms', p99, null, null, atMost(50, 'ms')),
    ];
    return {
      name: 'scale',
      rows,
      raw: {
        shape,
        readyAfterMs: round(kubeDns.readyAfterMs, 1),
        rssAtReadyMiB: round(rssAtReady / MiB, 1),
        rssAfterSyncMiB: round(rssAfterSync / MiB, 1),
        rssServingMiB: round(rssServing / MiB, 1),
        churn: {
          ratePerSecond: CHURN_RATE,
          seconds: ctx.churnSeconds,
          changes: samples.length,
          lost,
          missed: missed.slice(0, 20),
          p50Ms: round(p50, 2),
          p99Ms: round(p99, 2),
          maxMs: round(Math.max(...latencies), 2),
          byKind,
          rssPeakMiB: round(churnRss.peak / MiB, 1),
        },
        relist: {
          steadyMiB: round(steady / MiB, 1),
          peakMiB: round(relist.peak / MiB, 1),
          samples: relist.samples,
          completedAfterMs: round(relistMs, 0),
          answersAfter: answerAddresses(after).length,
        },
      },
    };
  } finally {
    await kubeDns?.stop();
    await sim.close();
  }
}
