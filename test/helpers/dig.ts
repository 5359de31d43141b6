import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface DigResult {
  status: string;
  flags: string[];
  edns: boolean;
  /** Each record as `name ttl class type data…`, whitespace collapsed. */
  answer: string[];
  authority: string[];
  additional: string[];
  text: string;
}

/** Runs the real dig against host#port (UDP unless `+tcp` is among the args) and reads its output. */
export async function dig(host: string, port: number, ...args: string[]): Promise<DigResult> {
  const { stdout } = await run('dig', [`@${host}`, '-p', String(port), '+time=2', '+tries=1', ...args]);
  const lines = stdout.split('\n');
  const section = (title: string): string[] => {
    const start = lines.findIndex((l) => l.startsWith(`;; ${title} SECTION:`));
    if (start < 0) return [];
    const out: string[] = [];
    for (const line of lines.slice(start + 1)) {
      if (line.trim() === '') break;
      out.push(line.trim().split(/\s+/).join(' '));
    }
    return out;
  };
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? '',
    flags: (/;; flags: ([a-z ]+);/.exec(stdout)?.[1] ?? '').trim().split(' '),
    edns: stdout.includes('OPT PSEUDOSECTION'),
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    text: stdout,
  };
}
