import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApiServer, type ApiServerHandle } from '@kube-dns/apiserver-sim';
import { waitUntil } from '../../helpers/index.js';
import { waitForConvergence } from './answer-compare.js';
import { ClusterChurn, seedStableNamespace, STABLE_NAMESPACE } from './churn.js';
import { expectedAnswers, NameLedger } from './cluster-model.js';
import { assertRunning } from './daemon.js';
import { metricValue, startKubeDns, writeKubeconfig, type KubeDnsDaemon } from './launch.js';
import { Random } from './random.js';
import { startSteadyProber, type SteadyProber } from './steady-prober.js';
import { startStubUpstream, type StubUpstream } from './stub-upstream.js';

/**
 * The apiserver misbehaves in every way the issue lists while the cluster keeps changing; after each
 * fault kube-dns must answer exactly what the apiserver's objects imply (every name that exists, and
 * NXDOMAIN for every name that existed before and is gone), having answered the unchanged names
 * correctly and kept readiness 200 all along. Its metrics and logs must tell what happened.
 */
export interface ApiserverFaultOptions {
  /** How long the apiserver stays down (the suite: a few seconds; the soak: 60 s). */
  outageMs: number;
  seed: number;
  /** Random changes applied around each fault. */
  churnPerFault: number;
  log: (line: string) => void;
}

export type Step = (name: string, fn: () => Promise<void>) => Promise<void>;

const KINDS = ['services', 'endpointslices', 'namespaces'];
const PREFIX = 'skydns_skydns_';

interface Context {
  sim: ApiServerHandle;
  kubeDns: KubeDnsDaemon;
  churn: ClusterChurn;
  ledger: NameLedger;
  prober: SteadyProber;
  upstream: StubUpstream;
}

async function watchMetric(kubeDns: KubeDnsDaemon, name: string): Promise<Record<string, number>> {
  const text = await kubeDns.metrics();
  return Object.fromEntries(KINDS.map((kind) => [kind, metricValue(text, `${PREFIX}${name}`, { kind })]));
}

function lostLines(kubeDns: KubeDnsDaemon): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(KINDS.map((k) => [k, 0]));
  for (const line of kubeDns.lines) {
    if (line.message === 'watch lost; serving the last known state' && typeof line['kind'] === 'string') {
      out[line['kind']] = (out[line['kind']] ?? 0) + 1;
    }
  }
  return out;
}

function increased(before: Record<string, number>, after: Record<string, number>): boolean {
  return KINDS.every((kind) => (after[kind] ?? 0) > (before[kind] ?? 0));
}

export async function runApiserverFaults(step: Step, options: ApiserverFaultOptions): Promise<void> {
  const { log } = options;
  const convergeMs = 45_000;
  const ctx = {} as Context;
  try {
    await step('setup: the real kube-dns bin against the simulator, a churning cluster, steady probes', async () => {
      ctx.sim = await startApiServer({ tokens: ['fault-token'], historySize: 2000 });
      seedStableNamespace(ctx.sim);
      ctx.upstream = await startStubUpstream();
      ctx.churn = new ClusterChurn(ctx.sim, new Random(options.seed));
      ctx.churn.steps(40);
      ctx.ledger = new NameLedger();
      const kubeconfig = await writeKubeconfig(ctx.sim, { token: 'fault-token' });
      ctx.kubeDns = await startKubeDns([
        `--kubecfg-file=${kubeconfig}`,
        `--nameservers=127.0.0.1:${ctx.upstream.port}`,
        '--shutdown-grace=0s',
      ]);
      await ctx.kubeDns.waitReady(20_000);
      const elapsed = await waitForConvergence(ctx.kubeDns.dns, () => ctx.ledger.expectations(ctx.sim), convergeMs);
      const stable = [...expectedAnswers(ctx.sim).values()].filter(
        (a) =>
          a.name.includes(`.${STABLE_NAMESPACE}.svc.`) || a.data.some((d) => d.includes(`.${STABLE_NAMESPACE}.svc.`)),
      );
      assert.ok(stable.length >= 15, 'the stable names');
      ctx.prober = startSteadyProber(ctx.kubeDns.dns, stable, {
        readinessUrl: `http://127.0.0.1:${ctx.kubeDns.healthzPort}/readiness`,
        tcpEvery: 5,
      });
      log(`synced ${ctx.ledger.expectations(ctx.sim).length} names in ${elapsed} ms`);
    });

    /** The answers match the apiserver, and every kind's watch is open again (the next fault finds it up). */
    const converge = async (what: string): Promise<void> => {
      const elapsed = await waitForConvergence(ctx.kubeDns.dns, () => ctx.ledger.expectations(ctx.sim), convergeMs);
      await waitForMetric('watch_connected', (v) => KINDS.every((k) => v[k] === 1), 'every watch open again');
      assertRunning(ctx.kubeDns);
      log(`${what}: converged in ${elapsed} ms (${ctx.ledger.expectations(ctx.sim).length} names checked)`);
    };
    /** Metrics are read until they tell the story (a kind that did not change may re-list after the answers match). */
    const waitForMetric = async (
      name: string,
      told: (values: Record<string, number>) => boolean,
      what: string,
    ): Promise<void> => {
      let last: Record<string, number> = {};
      try {
        await waitUntil(what, async () => told((last = await watchMetric(ctx.kubeDns, name))), {
          timeoutMs: convergeMs,
        });
      } catch {
        throw new Error(`${PREFIX}${name} does not show ${what}: ${JSON.stringify(last)}`);
      }
    };

    await step(
      'watch cut mid-stream: resumed from its resourceVersion without a re-list, changes meanwhile arrive',
      async () => {
        const restarts = await watchMetric(ctx.kubeDns, 'watch_restarts_total');
        const relists = await watchMetric(ctx.kubeDns, 'watch_relists_total');
        ctx.churn.steps(options.churnPerFault);
        ctx.sim.faults.dropWatches();
        ctx.churn.steps(options.churnPerFault);
        await converge('watch cut');
        await waitForMetric('watch_restarts_total', (v) => increased(restarts, v), 'the cut of every watch');
        assert.deepEqual(
          await watchMetric(ctx.kubeDns, 'watch_relists_total'),
          relists,
          'no re-list after a plain cut',
        );
      },
    );

    await step(
      '410 Gone (history compacted while the watch was cut): re-list, deletions during the gap disappear',
      async () => {
        const relists = await watchMetric(ctx.kubeDns, 'watch_relists_total');
        ctx.sim.faults.dropWatches();
        ctx.churn.steps(options.churnPerFault);
        ctx.sim.compact();
        await converge('410');
        await waitForMetric('watch_relists_total', (v) => increased(relists, v), 'a re-list of every kind');
      },
    );

    await step(
      `apiserver down for ${options.outageMs / 1000} s, back with its history lost: answers from memory, then re-list`,
      async () => {
        const relists = await watchMetric(ctx.kubeDns, 'watch_relists_total');
        const queriesBefore = ctx.prober.queries;
        await ctx.sim.faults.goDown();
        const downAt = Date.now();
        ctx.churn.steps(options.churnPerFault);
        await waitUntil(
          'watch_connected 0 for every kind while the apiserver is down',
          async () => Object.values(await watchMetric(ctx.kubeDns, 'watch_connected')).every((v) => v === 0),
          { timeoutMs: 10_000 },
        );
        assert.equal(await ctx.kubeDns.readiness(), 200, 'readiness stays 200 while the last known state is served');
        await sleep(Math.max(0, options.outageMs - (Date.now() - downAt)));
        assert.ok(ctx.prober.queries - queriesBefore > 0, 'names were asked during the outage');
        await ctx.sim.faults.comeBack({ expireHistory: true });
        await converge('outage');
        await waitForMetric('watch_relists_total', (v) => increased(relists, v), 'a re-list of every kind');
      },
    );

    await step('500s on every request while watches are cut: retried with backoff, then resumed', async () => {
      const restarts = await watchMetric(ctx.kubeDns, 'watch_restarts_total');
      ctx.sim.faults.failRequests({ status: 500 });
      ctx.sim.faults.dropWatches();
      ctx.churn.steps(options.churnPerFault);
      // The cut, then at least one retry that got a 500, for every kind: each attempt is counted.
      await waitForMetric(
        'watch_restarts_total',
        (v) => KINDS.every((k) => (v[k] ?? 0) >= (restarts[k] ?? 0) + 2),
        'a failed retry of every kind',
      );
      assert.ok(ctx.sim.requests.count({ status: 500 }) >= 3);
      ctx.sim.faults.clear();
      await converge('500s');
    });

    await step(
      'slow lists after the history expired: answers keep coming while the re-list takes its time',
      async () => {
        const relists = await watchMetric(ctx.kubeDns, 'watch_relists_total');
        ctx.sim.faults.slowLists(2500);
        ctx.sim.faults.expireHistory();
        ctx.sim.faults.dropWatches();
        ctx.churn.steps(options.churnPerFault);
        await converge('slow lists');
        await waitForMetric('watch_relists_total', (v) => increased(relists, v), 'a re-list of every kind');
        ctx.sim.faults.clear();
      },
    );

    await step('token rejected (401) for a while, then accepted again', async () => {
      ctx.sim.faults.rejectAuth(true);
      ctx.sim.faults.dropWatches();
      ctx.churn.steps(options.churnPerFault);
      await waitUntil('401s', () => ctx.sim.requests.count({ status: 401 }) >= 3, { timeoutMs: 15_000 });
      assert.equal(await ctx.kubeDns.readiness(), 200);
      ctx.sim.faults.rejectAuth(false);
      await converge('token rejected');
    });

    await step(
      'throughout: the unchanged names always answered, readiness always 200; the logs and metrics tell it',
      async () => {
        await ctx.prober.stop();
        log(`steady probes: ${ctx.prober.queries} queries, ${ctx.prober.failures.length} failures`);
        assert.deepEqual(ctx.prober.failures, [], 'unchanged names answered correctly through every fault');
        assert.deepEqual(ctx.prober.readinessChanges, [], 'readiness stayed 200');
        assert.ok(ctx.prober.queries > 100);
        // One warning per loss per kind (retries are debug), and one line when it is back.
        const lost = lostLines(ctx.kubeDns);
        log(`"watch lost" lines per kind: ${JSON.stringify(lost)}`);
        for (const kind of KINDS)
          assert.ok(lost[kind]! >= 5 && lost[kind]! <= 7, `${kind}: ${lost[kind]} "watch lost" lines for 6 faults`);
        const resynced = ctx.kubeDns.lines.filter((l) => l.message === 'watch resynced').length;
        assert.ok(resynced >= 15, `"watch resynced" logged when each kind came back (${resynced})`);
        assert.deepEqual(await watchMetric(ctx.kubeDns, 'watch_connected'), {
          services: 1,
          endpointslices: 1,
          namespaces: 1,
        });
        assert.deepEqual(await watchMetric(ctx.kubeDns, 'watch_synced'), {
          services: 1,
          endpointslices: 1,
          namespaces: 1,
        });
        assertRunning(ctx.kubeDns);
      },
    );
  } finally {
    await ctx.prober?.stop();
    await ctx.kubeDns?.stop();
    await ctx.upstream?.close();
    await ctx.sim?.close();
  }
}
