import { join } from 'node:path';
import { writeQueryFile } from '../cluster.js';
import type { SuiteContext, SuiteResult } from '../context.js';
import { runDnsperf } from '../dnsperf.js';
import { compareServers, type ServerSummary } from '../measure.js';
import { pairRows, ratioAtLeast, ratioAtMost, row, type Row } from '../report.js';
import {
  cacheCommonFlags,
  freePort,
  startDnsmasq,
  startDnsmasqCache,
  startFloorEcho,
  type ServerProcess,
} from '../servers.js';
import { loadUdpBatchAddon } from '@kube-dns/daemon-kit';
import { chaosCounter } from '../chaos.js';
import { startStubUpstream } from '../upstream.js';

const NAMES = 1000;

/**
 * 1. Cache hits: dnsmasq-cache vs dnsmasq 2.90 with identical flags (--cache-size=10000), in front of the same
 * upstream, 1,000 names warmed; dnsperf at full speed and at a fixed rate both sustain.
 */
export async function cacheHits(ctx: SuiteContext): Promise<SuiteResult> {
  const file = join(ctx.workDir, 'cache-hits.txt');
  writeQueryFile(
    file,
    Array.from({ length: NAMES }, (_, i) => [`host${i}.bench.example`, 'A'] as const),
  );
  const upstream = await startStubUpstream();
  const servers: ServerProcess[] = [];
  try {
    const flags = (port: number): string[] => [
      ...cacheCommonFlags(port),
      '--no-resolv',
      '--cache-size=10000',
      `--server=127.0.0.1#${upstream.port}`,
    ];
    const peerPort = await freePort();
    const peer = await startDnsmasq(flags(peerPort), peerPort, ctx.client);
    servers.push(peer);
    const oursPort = await freePort();
    const ours = await startDnsmasqCache(flags(oursPort), oursPort, ctx.client);
    servers.push(ours);
    ctx.log(`flags (both): ${flags(0).join(' ').replace('--port=0', '--port=<port>')}`);

    const warm = {} as Record<string, { insertions: number; upstreamQueries: number }>;
    for (const server of [peer, ours]) {
      const before = upstream.answered;
      await runDnsperf({ port: server.port, file, maxRuns: 1, outstanding: 10, clients: 1 });
      warm[server.name] = {
        insertions: await chaosCounter(ctx.client, server.port, 'insertions.bind'),
        upstreamQueries: upstream.answered - before,
      };
    }
    ctx.log(`warmed: ${JSON.stringify(warm)}`);
    const missesBefore = {
      ours: await chaosCounter(ctx.client, ours.port, 'misses.bind'),
      peer: await chaosCounter(ctx.client, peer.port, 'misses.bind'),
    };

    // The floor: a raw Node dgram server sending the same replies (see floor-echo.ts), measured in the same rounds.
    const floor = await startFloorEcho(await freePort(), ctx.client);
    servers.push(floor);
    // And the same through batched UDP I/O (recvmmsg/sendmmsg), when the addon is built.
    const batchedFloor =
      loadUdpBatchAddon().addon === null ? null : await startFloorEcho(await freePort(), ctx.client, 'batched');
    if (batchedFloor !== null) servers.push(batchedFloor);
    const all = await compareServers(batchedFloor === null ? [ours, peer, floor] : [ours, peer, floor, batchedFloor], {
      file,
      rounds: ctx.rounds,
      seconds: ctx.seconds,
      log: ctx.log,
    });
    const pair = {
      fixedRate: all.fixedRate,
      ours: all.summaries[ours.name]!,
      peer: all.summaries[peer.name]!,
      floor: all.summaries[floor.name]!,
      batchedFloor: batchedFloor === null ? null : all.summaries[batchedFloor.name]!,
      samples: all.samples,
    };
    const missesDuring = {
      ours: (await chaosCounter(ctx.client, ours.port, 'misses.bind')) - missesBefore.ours,
      peer: (await chaosCounter(ctx.client, peer.port, 'misses.bind')) - missesBefore.peer,
    };

    const suite = '1 cache hits';
    const rows = [
      ...pairRows(suite, pair.ours, pair.peer, pair.fixedRate, 'dnsmasq', {
        qps: ratioAtLeast(0.8),
        cpu: ratioAtMost(1.2),
        p99: ratioAtMost(1.5),
      }),
      ...floorRows('1 cache hits, Node floor (raw dgram echo)', pair.floor, pair.peer, pair.fixedRate),
      ...(pair.batchedFloor === null
        ? []
        : floorRows('1 cache hits, Node floor (batched UDP I/O echo)', pair.batchedFloor, pair.peer, pair.fixedRate)),
    ];
    return { name: 'cache-hits', rows, raw: { names: NAMES, warm, missesDuringRuns: missesDuring, ...pair } };
  } finally {
    for (const server of servers) await server.stop();
    await upstream.close();
  }
}

/** The Node floor beside dnsmasq: what a Node server that does nothing but reply costs (no target). */
function floorRows(suite: string, floor: ServerSummary, peer: ServerSummary, rate: number): Row[] {
  return [
    row(suite, 'answered q/s, full speed', 'q/s', floor.qpsFull, peer.qpsFull, 'dnsmasq'),
    row(suite, 'CPU per 100k answers, full speed', 's', floor.cpuPer100kFull, peer.cpuPer100kFull, 'dnsmasq'),
    row(suite, `CPU per 100k answers, ${rate} q/s`, 's', floor.cpuPer100kFixed, peer.cpuPer100kFixed, 'dnsmasq'),
    row(suite, `p99 latency at ${rate} q/s`, 'ms', floor.p99MsFixed, peer.p99MsFixed, 'dnsmasq'),
  ];
}
