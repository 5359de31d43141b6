import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { percentileSorted, Samples } from './stats.js';

export interface DnsperfOptions {
  port: number;
  /** dnsperf data file: one `name TYPE` per line. */
  file: string;
  /** Run length (-l). */
  seconds?: number;
  /** Go through the file this many times at most (-n). */
  maxRuns?: number;
  /** Queries outstanding at most (-q). */
  outstanding?: number;
  /** Client sockets (-c). */
  clients?: number;
  /** Queries per second at most (-Q); full speed when absent. */
  rate?: number;
  /** Per-query latencies from `-v` (one line per answer), for p50/p99. */
  latencies?: boolean;
  /** Seconds before an unanswered query counts as lost (-t). */
  timeoutSeconds?: number;
}

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  qps: number;
  /** Seconds, dnsperf's own average. */
  avgLatency: number;
  /** Seconds, from the per-query lines (only with `latencies`). */
  p50: number | null;
  p99: number | null;
  rcodes: Record<string, number>;
  elapsed: number;
}

const number = (text: string, pattern: RegExp): number => {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : NaN;
};

/** Runs dnsperf against 127.0.0.1:port and returns its summary (and latency percentiles with `-v`). */
export function runDnsperf(options: DnsperfOptions): Promise<DnsperfResult> {
  const args = ['-s', '127.0.0.1', '-p', String(options.port), '-d', options.file];
  args.push('-c', String(options.clients ?? 8), '-q', String(options.outstanding ?? 100));
  args.push('-t', String(options.timeoutSeconds ?? 2));
  if (options.seconds !== undefined) args.push('-l', String(options.seconds));
  if (options.maxRuns !== undefined) args.push('-n', String(options.maxRuns));
  if (options.rate !== undefined) args.push('-Q', String(options.rate));
  if (options.latencies) args.push('-v');
  const child = spawn('dnsperf', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const latencies = new Samples();
  const summary: string[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 10_000) stderr += chunk;
  });
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    if (line.startsWith('> ')) {
      // "> NOERROR name TYPE 0.000123" (T: timed out, I: interrupted)
      const space = line.lastIndexOf(' ');
      const rcode = line.slice(2, line.indexOf(' ', 2));
      if (rcode !== 'T' && rcode !== 'I') latencies.push(Number(line.slice(space + 1)));
    } else {
      summary.push(line);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const text = summary.join('\n');
      if (code !== 0) {
        reject(new Error(`dnsperf exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' / ')}`));
        return;
      }
      const rcodes: Record<string, number> = {};
      const codes = /Response codes:\s+(.*)/.exec(text)?.[1] ?? '';
      for (const m of codes.matchAll(/([A-Z]+) (\d+) \(/g)) rcodes[m[1]!] = Number(m[2]);
      const sorted = options.latencies ? latencies.sorted() : null;
      resolve({
        sent: number(text, /Queries sent:\s+(\d+)/),
        completed: number(text, /Queries completed:\s+(\d+)/),
        lost: number(text, /Queries lost:\s+(\d+)/),
        qps: number(text, /Queries per second:\s+([\d.]+)/),
        avgLatency: number(text, /Average Latency \(s\):\s+([\d.]+)/),
        p50: sorted ? percentileSorted(sorted, 50) : null,
        p99: sorted ? percentileSorted(sorted, 99) : null,
        rcodes,
        elapsed: number(text, /Run time \(s\):\s+([\d.]+)/),
      });
    });
  });
}
