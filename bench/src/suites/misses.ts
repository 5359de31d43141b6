import { join } from 'node:path';
import { namespaceName, serviceFqdn, writeQueryFile } from '../cluster.js';
import type { SuiteContext, SuiteResult } from '../context.js';
import { chaosCounter } from '../chaos.js';
import { runDnsperf } from '../dnsperf.js';
import { comparePair, type PairResult } from '../measure.js';
import { pairRows, row, type Row } from '../report.js';
import { freePort, startDnsmasq, startDnsmasqCache, cacheCommonFlags, type ServerProcess } from '../servers.js';

/** Services looked up; 4 questions each, so with negative caching everything fits in --cache-size=1000. */
const LOOKUPS = 200;

/**
 * The questions a Pod in `client` namespace sends for `name` with `search <ns>.svc.cluster.local svc.cluster.local
 * cluster.local` and `ndots:5`: a name with fewer than 5 dots goes through the search list first.
 */
function searchPath(name: string, clientNamespace: string): string[] {
  const search = [`${clientNamespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'];
  const dots = name.split('.').length - 1;
  return dots >= 5 ? [name] : [...search.map((suffix) => `${name}.${suffix}`), name];
}

/**
 * 3. Misses through the cache to kube-dns: a Pod resolving `<svc>.<ns>.svc.cluster.local` (4 dots) sends three
 * NXDOMAIN questions before the hit. The manifest's cache flags, with --no-negcache (as in the manifest) and
 * without it (negative caching on). kube-dns's CPU is reported alongside.
 */
export async function misses(ctx: SuiteContext): Promise<SuiteResult> {
  const env = await ctx.cluster();
  const shape = ctx.shape;
  const queries: Array<readonly [string, string]> = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const service = (i * 37) % shape.clusterIpServices;
    const client = namespaceName((i + 1) % shape.namespaces);
    for (const name of searchPath(serviceFqdn(service, shape), client)) queries.push([name, 'A']);
  }
  const file = join(ctx.workDir, 'misses.txt');
  writeQueryFile(file, queries);
  const kdns = `127.0.0.1#${env.kubeDns.port}`;
  const manifestFlags = (port: number, negcache: boolean): string[] => [
    ...cacheCommonFlags(port),
    '--no-resolv',
    '--cache-size=1000',
    ...(negcache ? [] : ['--no-negcache']),
    '--dns-loop-detect',
    `--server=/cluster.local/${kdns}`,
    `--server=/in-addr.arpa/${kdns}`,
    `--server=/ip6.arpa/${kdns}`,
  ];

  const rows: Row[] = [];
  const raw: Record<string, PairResult & { flags: string[]; forwardedShare: { ours: number; peer: number } }> = {};
  for (const negcache of [false, true]) {
    const variant = negcache ? 'negative caching on' : '--no-negcache (manifest)';
    ctx.log(`-- misses, ${variant}`);
    const servers: ServerProcess[] = [];
    try {
      const peerPort = await freePort();
      const peer = await startDnsmasq(manifestFlags(peerPort, negcache), peerPort, ctx.client);
      servers.push(peer);
      const oursPort = await freePort();
      const ours = await startDnsmasqCache(manifestFlags(oursPort, negcache), oursPort, ctx.client);
      servers.push(ours);
      const missesBefore = {
        ours: await chaosCounter(ctx.client, ours.port, 'misses.bind'),
        peer: await chaosCounter(ctx.client, peer.port, 'misses.bind'),
      };
      const pair = await comparePair(ours, peer, {
        file,
        rounds: ctx.rounds,
        seconds: ctx.seconds,
        backendPids: [env.kubeDns.pid],
        // The same starting state before each run: one pass fills the cache with what it keeps.
        beforeRun: async (server) => {
          await runDnsperf({ port: server.port, file, maxRuns: 1, outstanding: 20 });
        },
        log: ctx.log,
      });
      // misses.bind over every query of the runs and warm-ups: the share each cache sent on to kube-dns.
      const answered = (name: string): number =>
        pair.samples.filter((s) => s.server === name).reduce((sum, s) => sum + s.completed, 0) +
        2 * ctx.rounds * queries.length;
      const forwardedShare = {
        ours: ((await chaosCounter(ctx.client, ours.port, 'misses.bind')) - missesBefore.ours) / answered(ours.name),
        peer: ((await chaosCounter(ctx.client, peer.port, 'misses.bind')) - missesBefore.peer) / answered(peer.name),
      };
      ctx.log(`forwarded to kube-dns: ${JSON.stringify(forwardedShare)}`);
      raw[negcache ? 'negcache' : 'noNegcache'] = { flags: manifestFlags(0, negcache), forwardedShare, ...pair };
      const suite = `3 ndots:5 misses, ${variant}`;
      rows.push(
        ...pairRows(suite, pair.ours, pair.peer, pair.fixedRate, 'dnsmasq', { cpuLabel: 'cache CPU' }),
        row(
          suite,
          'share of questions forwarded to kube-dns (misses.bind)',
          '%',
          100 * forwardedShare.ours,
          100 * forwardedShare.peer,
          'dnsmasq',
        ),
        row(
          suite,
          `kube-dns CPU per 100k client answers, ${pair.fixedRate} q/s`,
          's',
          pair.ours.backendCpuPer100kFixed ?? NaN,
          pair.peer.backendCpuPer100kFixed ?? NaN,
          'behind dnsmasq',
        ),
      );
    } finally {
      for (const server of servers) await server.stop();
    }
  }
  return { name: 'misses', rows, raw: { lookups: LOOKUPS, questionsPerLookup: 4, variants: raw } };
}
