import { runDnsperf, type DnsperfResult } from './dnsperf.js';
import { cpuSeconds, loadAverage, machineBusySeconds, selfAndChildrenCpuSeconds } from './proc.js';
import type { ServerProcess } from './servers.js';
import { median, round } from './stats.js';

export type Mode = 'full' | 'fixed';

/** One dnsperf run against one server. */
export interface RunSample {
  server: string;
  mode: Mode;
  round: number;
  rate: number | null;
  qps: number;
  completed: number;
  lost: number;
  /** Server CPU seconds (utime+stime from /proc/<pid>/stat) per 100,000 answers. */
  cpuPer100k: number;
  /** Milliseconds; percentiles from dnsperf -v (fixed-rate runs only). */
  p50Ms: number | null;
  p99Ms: number | null;
  avgMs: number;
  rcodes: Record<string, number>;
  /** 1-minute load average before the run. */
  load: number;
  /** Cores' worth of CPU used by other processes on the machine during the run (interference). */
  otherCores: number;
  /** Extra processes whose CPU is counted with the server's (e.g. kube-dns behind a cache), per 100k answers. */
  backendCpuPer100k?: number;
}

export interface RunOptions {
  file: string;
  seconds: number;
  mode: Mode;
  rate?: number;
  round: number;
  /** Processes whose CPU is reported alongside (not added to) the server's. */
  backendPids?: number[];
}

export async function measureRun(server: ServerProcess, options: RunOptions): Promise<RunSample> {
  const load = loadAverage();
  const backends = options.backendPids ?? [];
  const cpu0 = cpuSeconds(server.pid);
  const backend0 = backends.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const busy0 = machineBusySeconds();
  const mine0 = selfAndChildrenCpuSeconds();
  const started = performance.now();
  const result: DnsperfResult = await runDnsperf({
    port: server.port,
    file: options.file,
    seconds: options.seconds,
    outstanding: 100,
    clients: 8,
    ...(options.mode === 'fixed' ? { rate: options.rate!, latencies: true } : {}),
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(server.pid) - cpu0;
  const backendCpu = backends.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - backend0;
  const other = machineBusySeconds() - busy0 - (selfAndChildrenCpuSeconds() - mine0) - cpu - backendCpu;
  const sample: RunSample = {
    server: server.name,
    mode: options.mode,
    round: options.round,
    rate: options.mode === 'fixed' ? options.rate! : null,
    qps: round(result.qps, 0),
    completed: result.completed,
    lost: result.lost,
    cpuPer100k: round((cpu / result.completed) * 100_000, 4),
    p50Ms: result.p50 === null ? null : round(result.p50 * 1000, 4),
    p99Ms: result.p99 === null ? null : round(result.p99 * 1000, 4),
    avgMs: round(result.avgLatency * 1000, 4),
    rcodes: result.rcodes,
    load,
    otherCores: round(Math.max(0, other) / elapsed, 2),
  };
  if (backends.length > 0) sample.backendCpuPer100k = round((backendCpu / result.completed) * 100_000, 4);
  return sample;
}

export interface ServerSummary {
  qpsFull: number;
  cpuPer100kFull: number;
  cpuPer100kFixed: number;
  p50MsFixed: number;
  p99MsFixed: number;
  lostFixed: number;
  backendCpuPer100kFull?: number;
  backendCpuPer100kFixed?: number;
}

export interface PairResult {
  /** The shared fixed rate (queries/s) both servers were asked to sustain. */
  fixedRate: number;
  ours: ServerSummary;
  peer: ServerSummary;
  samples: RunSample[];
}

export interface PairOptions {
  file: string;
  rounds: number;
  seconds: number;
  /** Fixed rate; default: half the slower server's median full-speed rate, at most `maxFixedRate`. */
  fixedRate?: number;
  maxFixedRate?: number;
  /** Called before each run (e.g. to re-warm a cache). */
  beforeRun?: (server: ServerProcess) => Promise<void>;
  backendPids?: number[];
  log: (line: string) => void;
}

function summarize(samples: RunSample[], server: string): ServerSummary {
  const pick = (mode: Mode, key: keyof RunSample): number =>
    median(samples.filter((s) => s.server === server && s.mode === mode).map((s) => s[key] as number));
  const summary: ServerSummary = {
    qpsFull: pick('full', 'qps'),
    cpuPer100kFull: pick('full', 'cpuPer100k'),
    cpuPer100kFixed: pick('fixed', 'cpuPer100k'),
    p50MsFixed: pick('fixed', 'p50Ms'),
    p99MsFixed: pick('fixed', 'p99Ms'),
    lostFixed: pick('fixed', 'lost'),
  };
  if (samples.some((s) => s.server === server && s.backendCpuPer100k !== undefined)) {
    summary.backendCpuPer100kFull = pick('full', 'backendCpuPer100k');
    summary.backendCpuPer100kFixed = pick('fixed', 'backendCpuPer100k');
  }
  return summary;
}

export function describeSample(s: RunSample): string {
  const latency =
    s.p50Ms === null ? `avg ${s.avgMs.toFixed(3)} ms` : `p50 ${s.p50Ms.toFixed(3)} p99 ${s.p99Ms!.toFixed(3)} ms`;
  const backend = s.backendCpuPer100k === undefined ? '' : ` backend ${s.backendCpuPer100k.toFixed(3)}`;
  return (
    `${s.server.padEnd(14)} ${s.mode.padEnd(5)} r${s.round} ${String(s.qps).padStart(7)} q/s  ` +
    `cpu/100k ${s.cpuPer100k.toFixed(3)} s${backend}  ${latency}  lost ${s.lost}  load ${s.load.toFixed(2)} other ${s.otherCores.toFixed(2)}`
  );
}

export interface CompareResult {
  /** The shared fixed rate (queries/s) every server was asked to sustain. */
  fixedRate: number;
  summaries: Record<string, ServerSummary>;
  samples: RunSample[];
}

/**
 * Runs the servers in turn, the order rotating every round: `rounds` full-speed runs each, then `rounds` runs at a
 * fixed rate all sustain (half the slowest one's median full speed unless given), with per-query latencies.
 * Medians per server and mode.
 */
export async function compareServers(servers: readonly ServerProcess[], options: PairOptions): Promise<CompareResult> {
  const samples: RunSample[] = [];
  const order = (round: number): ServerProcess[] => servers.map((_, i) => servers[(i + round) % servers.length]!);
  const run = async (server: ServerProcess, mode: Mode, round: number, rate?: number): Promise<void> => {
    await options.beforeRun?.(server);
    const sample = await measureRun(server, {
      file: options.file,
      seconds: options.seconds,
      mode,
      round,
      ...(rate !== undefined ? { rate } : {}),
      ...(options.backendPids ? { backendPids: options.backendPids } : {}),
    });
    samples.push(sample);
    options.log(describeSample(sample));
  };
  for (let round = 0; round < options.rounds; round++) {
    for (const server of order(round)) await run(server, 'full', round);
  }
  const slowest = Math.min(...servers.map((server) => summarize(samples, server.name).qpsFull));
  const fixedRate =
    options.fixedRate ??
    Math.max(1000, Math.min(options.maxFixedRate ?? 20_000, Math.floor(slowest / 2 / 1000) * 1000));
  for (let round = 0; round < options.rounds; round++) {
    for (const server of order(round)) await run(server, 'fixed', round, fixedRate);
  }
  const summaries = Object.fromEntries(servers.map((server) => [server.name, summarize(samples, server.name)]));
  return { fixedRate, summaries, samples };
}

/** compareServers for ours and one peer (the order flips every round). */
export async function comparePair(ours: ServerProcess, peer: ServerProcess, options: PairOptions): Promise<PairResult> {
  const result = await compareServers([ours, peer], options);
  return {
    fixedRate: result.fixedRate,
    ours: result.summaries[ours.name]!,
    peer: result.summaries[peer.name]!,
    samples: result.samples,
  };
}
