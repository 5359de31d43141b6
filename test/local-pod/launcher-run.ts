import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createLineWaiter } from '../helpers/index.js';
import { launcherScript, repoRoot } from './paths.js';

export interface LauncherExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The launcher (scripts/local-pod.mjs, what `npm start` runs) as a child process, its output kept by line. */
export interface LauncherRun {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<LauncherExit>;
  /** Resolves with the first line (past or future) matching `pattern`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Process name → pid, from the launcher's `started <name> (pid N)` and simulator lines. */
  pids(): Map<string, number>;
  /** The local port of a row of the port table (`kube-dns`, `DNS (UDP+TCP)`). */
  localPort(program: string, what: string): number;
  /** The command lines of the "Try:" block. */
  suggestions(): Array<{ command: string; expect: string }>;
  /** SIGKILL to the launcher and to every process it reported, for cleanup after a failure. */
  killAll(): void;
}

export function startLauncher(args: readonly string[]): LauncherRun {
  const child = spawn(process.execPath, [launcherScript, ...args], {
    cwd: repoRoot,
    env: { ...process.env, NO_COLOR: '1', INIT_CWD: repoRoot },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<LauncherExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const log = createLineWaiter<string, LauncherExit>(exited);
  const lines = log.lines;
  const onLine = (line: string): void => {
    if (process.env['LOCAL_POD_TEST_ECHO']) process.stderr.write(`${line}\n`);
    log.push(line);
  };
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', (line) => onLine(`stderr: ${line}`));

  const pids = (): Map<string, number> => {
    const found = new Map<string, number>();
    for (const line of lines) {
      const started = /\| started (\S+) \(pid (\d+)\)/.exec(line);
      if (started) found.set(started[1]!, Number(started[2]));
      const simulator = /\| apiserver simulator at \S+ \(pid (\d+)\)/.exec(line);
      if (simulator) found.set('apiserver-sim', Number(simulator[1]));
    }
    return found;
  };

  return {
    child,
    lines,
    exited,
    waitForLine: (pattern, timeoutMs = 30_000) =>
      log.waitFor((line) => pattern.exec(line), timeoutMs, {
        timeout: () => `no line matching ${pattern} within ${timeoutMs} ms; output:\n${lines.join('\n')}`,
        exited: () => `the launcher exited before a line matched ${pattern}; output:\n${lines.join('\n')}`,
      }),
    pids,
    localPort(program, what) {
      const escaped = what.replace(/[()+*/]/g, (c) => `\\${c}`);
      const pattern = new RegExp(`^local-pod\\s+\\|\\s+${program}\\s+${escaped}\\s+(\\d+)(?: → (\\d+))?$`);
      for (const line of lines) {
        const match = pattern.exec(line);
        if (match) return Number(match[2] ?? match[1]);
      }
      throw new Error(`no port row for ${program} ${what}`);
    },
    suggestions() {
      return lines
        .filter((line) => /^ {2}(dig|nslookup) /.test(line))
        .map((line) => {
          const [command, expect] = line.trim().split(/\s+# /);
          return { command: command!.trim(), expect: expect ?? '' };
        });
    },
    killAll() {
      child.kill('SIGKILL');
      for (const pid of pids().values()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    },
  };
}
