import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RRType } from '@kube-dns/daemon-kit';
import { headlessFqdn, serviceFqdn, writeQueryFile, writeZoneFile, ZONE } from '../cluster.js';
import type { SuiteContext, SuiteResult } from '../context.js';
import type { DnsClient } from '../dns-client.js';
import { runDnsperf } from '../dnsperf.js';
import { comparePair, type PairResult } from '../measure.js';
import { pairRows, ratioAtMost, type Row } from '../report.js';
import { startKnot, type ServerProcess } from '../servers.js';

interface Mix {
  key: string;
  label: string;
  queries: Array<readonly [string, string]>;
}

/** Answer sections of both servers for the same question, compared as sets (order and TTL aside). */
async function sameAnswers(
  client: DnsClient,
  a: number,
  b: number,
  name: string,
  qtype: number,
): Promise<string | null> {
  const [x, y] = await Promise.all([client.query(a, name, qtype), client.query(b, name, qtype)]);
  if (x === null || y === null) return `${name}: no answer from ${x === null ? 'kube-dns' : 'knotd'}`;
  const norm = (r: typeof x): string =>
    `${r.rcode} ` +
    r.records
      .filter((rec) => rec.section !== 'authority')
      .map((rec) => `${rec.section} ${rec.name} ${rec.type} ${rec.data}`)
      .sort()
      .join(', ');
  const [nx, ny] = [norm(x), norm(y)];
  return nx === ny ? null : `${name} type ${qtype}: kube-dns [${nx}] knotd [${ny}]`;
}

/**
 * 2. Authoritative: kube-dns holding the cluster (10k ClusterIP services, 2k headless) vs knotd serving the same
 * records from a zone file. Three query mixes: ClusterIP A, SRV of a named port, headless A (25 addresses).
 */
export async function authoritative(ctx: SuiteContext): Promise<SuiteResult> {
  const env = await ctx.cluster();
  const dir = join(ctx.workDir, 'knot');
  mkdirSync(dir, { recursive: true });
  const zoneFile = join(dir, `${ZONE}.zone`);
  writeZoneFile(zoneFile, env.sim, ctx.shape);
  const knot: ServerProcess = await startKnot(dir, ZONE, zoneFile, ctx.client);
  try {
    const shape = ctx.shape;
    const mixes: Mix[] = [
      {
        key: 'clusterip-a',
        label: 'ClusterIP A',
        queries: Array.from({ length: shape.clusterIpServices }, (_, i) => [serviceFqdn(i, shape), 'A'] as const),
      },
      {
        key: 'srv',
        label: 'SRV',
        queries: Array.from(
          { length: shape.clusterIpServices },
          (_, i) => [`_http._tcp.${serviceFqdn(i, shape)}`, 'SRV'] as const,
        ),
      },
      {
        key: 'headless-a',
        label: `headless A (${shape.endpointsPerHeadless} addresses)`,
        queries: Array.from({ length: shape.headlessServices }, (_, i) => [headlessFqdn(i, shape), 'A'] as const),
      },
    ];

    // The two servers must give the same answers, or the comparison means nothing.
    const mismatches: string[] = [];
    let compared = 0;
    for (const mix of mixes) {
      for (let i = 0; i < mix.queries.length; i += Math.max(1, Math.floor(mix.queries.length / 100))) {
        const [name, type] = mix.queries[i]!;
        const problem = await sameAnswers(
          ctx.client,
          env.kubeDns.port,
          knot.port,
          name,
          type === 'SRV' ? RRType.SRV : RRType.A,
        );
        compared++;
        if (problem) mismatches.push(problem);
      }
    }
    ctx.log(
      `answers compared: ${compared}, different: ${mismatches.length}${mismatches[0] ? ` (first: ${mismatches[0]})` : ''}`,
    );

    const rows: Row[] = [];
    const results: Record<string, PairResult> = {};
    for (const mix of mixes) {
      const file = join(ctx.workDir, `auth-${mix.key}.txt`);
      writeQueryFile(file, mix.queries);
      // One pass first: kube-dns builds its pre-encoded answers on first use.
      for (const server of [env.kubeDns, knot])
        await runDnsperf({ port: server.port, file, maxRuns: 1, outstanding: 20 });
      ctx.log(`-- ${mix.label}`);
      const pair = await comparePair(env.kubeDns, knot, {
        file,
        rounds: ctx.rounds,
        seconds: ctx.seconds,
        log: ctx.log,
      });
      results[mix.key] = pair;
      const suite = `2 authoritative, ${mix.label}`;
      rows.push(...pairRows(suite, pair.ours, pair.peer, pair.fixedRate, 'knotd', { cpu: ratioAtMost(1.5) }));
    }
    return {
      name: 'authoritative',
      rows,
      raw: { answersCompared: compared, answerMismatches: mismatches.slice(0, 20), mixes: results },
    };
  } finally {
    await knot.stop();
  }
}
