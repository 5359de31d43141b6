import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (almost always 100). */
const TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * User + system CPU seconds a process has used so far, all its threads together (utime and stime of
 * /proc/<pid>/stat, fields 14 and 15). The command name in field 2 may contain spaces: fields are counted
 * from the last ')'.
 */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Peak RSS of a process as seen by sampling every `intervalMs` (the issue asks for 50 ms). */
export class RssSampler {
  private timer: NodeJS.Timeout | null = null;
  private samples: number[] = [];

  private readonly pid: number;
  private readonly intervalMs: number;

  constructor(pid: number, intervalMs = 50) {
    this.pid = pid;
    this.intervalMs = intervalMs;
  }

  start(): void {
    this.samples = [rssBytes(this.pid)];
    this.timer = setInterval(() => {
      try {
        this.samples.push(rssBytes(this.pid));
      } catch {
        // The process ended; stop() reports what was seen.
      }
    }, this.intervalMs);
  }

  stop(): { peak: number; samples: number } {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return { peak: Math.max(...this.samples), samples: this.samples.length };
  }
}

export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

export const MiB = 1024 * 1024;

/** CPU seconds the whole machine spent busy so far (all CPUs; /proc/stat minus idle and iowait). */
export function machineBusySeconds(): number {
  const first = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = first.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - first[3]! - first[4]!) / TICKS;
}

/** CPU seconds of this process plus its waited-for children (dnsperf runs are children). */
export function selfAndChildrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / TICKS;
}
