import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fullCluster } from './cluster.js';
import { startClusterEnv, type ClusterEnv, type SuiteContext, type SuiteResult } from './context.js';
import { DnsClient } from './dns-client.js';
import { loadAverage } from './proc.js';
import { markdownTable, type Row } from './report.js';
import { repoRoot } from './servers.js';
import { authoritative } from './suites/authoritative.js';
import { cacheHits } from './suites/cache-hits.js';
import { misses } from './suites/misses.js';
import { scale } from './suites/scale.js';
import { ensureTools, knownVersions, type Tool } from './tools.js';

const SUITES = {
  'cache-hits': { run: cacheHits, tools: ['dnsperf', 'dnsmasq'] },
  authoritative: { run: authoritative, tools: ['dnsperf', 'knotd'] },
  misses: { run: misses, tools: ['dnsperf', 'dnsmasq'] },
  scale: { run: scale, tools: [] },
} satisfies Record<string, { run: (ctx: SuiteContext) => Promise<SuiteResult>; tools: Tool[] }>;
type SuiteName = keyof typeof SUITES;

const USAGE = `Usage: npm run bench -- [options]
  --only <list>          suites to run, comma-separated: ${Object.keys(SUITES).join(',')} (default: all)
  --rounds <n>           alternating rounds per server and mode (default 3; medians are reported)
  --seconds <n>          length of each dnsperf run (default 8)
  --churn-seconds <n>    churn length in the scale benchmark (default 20)
  --quick                1 round of 3 s, 5 s of churn: a smoke run, not a result
  --out <dir>            where the JSON goes (default bench/results)
  --no-save              print only
Profiling: BENCH_NODE_OPTIONS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench -- --only cache-hits`;

function machine(): Record<string, unknown> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  return {
    nproc: os.availableParallelism(),
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    ...knownVersions(),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      'churn-seconds': { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      'no-save': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const selected = (values.only ?? Object.keys(SUITES).join(',')).split(',').map((s) => s.trim());
  for (const name of selected) {
    if (!(name in SUITES))
      throw new Error(`unknown suite ${JSON.stringify(name)}; known: ${Object.keys(SUITES).join(', ')}`);
  }
  const quick = values.quick;
  const int = (text: string | undefined, fallback: number): number => {
    const value = text === undefined ? fallback : Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`not a positive integer: ${text}`);
    return value;
  };
  const log = (line: string): void => console.error(`[bench] ${line}`);
  const tools = [...new Set(selected.flatMap((name) => SUITES[name as SuiteName].tools as Tool[]))];
  ensureTools(tools, log);

  const workDir = mkdtempSync(join(os.tmpdir(), 'kube-dns-bench-'));
  const client = await DnsClient.open();
  let env: ClusterEnv | null = null;
  let envStarting: Promise<ClusterEnv> | null = null;
  const ctx: SuiteContext = {
    workDir,
    rounds: int(values.rounds, quick ? 1 : 3),
    seconds: int(values.seconds, quick ? 3 : 8),
    churnSeconds: int(values['churn-seconds'], quick ? 5 : 20),
    shape: fullCluster,
    client,
    log,
    cluster: () => {
      envStarting ??= startClusterEnv(workDir, fullCluster).then((started) => {
        env = started;
        log(`cluster: simulator + kube-dns ready after ${started.kubeDns.readyAfterMs.toFixed(0)} ms`);
        return started;
      });
      return envStarting;
    },
  };
  const info = { date: new Date().toISOString(), machine: machine(), loadBefore: loadAverage() };
  log(`machine: ${JSON.stringify(info.machine)}; load ${info.loadBefore}`);
  log(`rounds ${ctx.rounds}, ${ctx.seconds} s per run, churn ${ctx.churnSeconds} s`);

  const results: SuiteResult[] = [];
  const failures: Array<{ suite: string; error: string }> = [];
  try {
    for (const name of selected) {
      log(`== ${name}`);
      try {
        results.push(await SUITES[name as SuiteName].run(ctx));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`${name} failed: ${message}`);
        failures.push({ suite: name, error: message });
      }
    }
  } finally {
    await (env as ClusterEnv | null)?.close();
    client.close();
    rmSync(workDir, { recursive: true, force: true });
  }

  const rows: Row[] = results.flatMap((r) => r.rows);
  const table = markdownTable(rows);
  const header =
    `${String(info.machine['nproc'])} × ${String(info.machine['cpu'])}, Node ${process.version}, ${info.date.slice(0, 10)}, ` +
    `rounds ${ctx.rounds} × ${ctx.seconds} s (medians)`;
  console.log(`\n${header}\n\n${table}\n`);
  const document = {
    ...info,
    loadAfter: loadAverage(),
    settings: {
      rounds: ctx.rounds,
      seconds: ctx.seconds,
      churnSeconds: ctx.churnSeconds,
      shape: ctx.shape,
      suites: selected,
    },
    rows,
    failures,
    suites: Object.fromEntries(results.map((r) => [r.name, r.raw])),
  };
  if (!values['no-save']) {
    const dir = values.out ?? join(repoRoot, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${info.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(`${path}.tmp`, JSON.stringify(document, null, 2) + '\n');
    renameSync(`${path}.tmp`, path);
    console.log(`saved ${path}`);
  }
  const missed = rows.filter((r) => r.holds === false).length;
  console.log(`targets: ${rows.filter((r) => r.holds === true).length} hold, ${missed} do not`);
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
