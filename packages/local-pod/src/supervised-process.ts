import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { renderLogLine } from './log-line.js';
import type { Output } from './output.js';

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process whose output is relayed line by line and whose end is awaited. */
export interface SupervisedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process has ended and its output has been relayed. */
  readonly exited: Promise<ProcessExit>;
  readonly running: boolean;
  /** The last lines it printed (startup errors, for hints). */
  recentLines(): readonly string[];
  signal(signal: NodeJS.Signals): void;
}

const RECENT_LINES = 20;

export interface ProcessSpec {
  name: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Called for each stdout line before it is relayed; returning true swallows it. */
  onStdoutLine?: (line: string) => boolean;
}

/**
 * util-linux `setpriv`, when installed: `setpriv --pdeathsig TERM` makes the kernel send the child SIGTERM when
 * the launcher dies without stopping it (SIGKILL, a crash), so no process outlives it.
 */
export function findSetpriv(env: NodeJS.ProcessEnv = process.env): string | null {
  if (process.platform !== 'linux') return null;
  for (const dir of (env['PATH'] ?? '/usr/bin:/bin').split(delimiter)) {
    const candidate = join(dir, 'setpriv');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function describeExit(exit: ProcessExit): string {
  return exit.signal !== null ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
}

/**
 * Starts a child in its own process group (`detached`), so a Ctrl-C in the terminal reaches only the launcher,
 * which then sends each child exactly one SIGTERM (a second signal would make our programs skip their lame
 * duck). Its stdout and stderr are relayed through `output`, JSON log lines rendered readable.
 */
export function startSupervisedProcess(
  spec: ProcessSpec,
  output: Output,
  options: { setpriv?: string | null } = {},
): SupervisedProcess {
  const [command, args] = options.setpriv
    ? [options.setpriv, ['--pdeathsig', 'TERM', '--', spec.command, ...spec.args]]
    : [spec.command, [...spec.args]];
  const child = spawn(command, args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let running = true;
  const recent: string[] = [];
  const relay = (line: string): void => {
    if (line.trim() === '') return;
    recent.push(line);
    if (recent.length > RECENT_LINES) recent.shift();
    const rendered = renderLogLine(line, spec.name);
    output.line(spec.name, rendered.text, rendered.level);
  };
  const streamsDone = [child.stdout, child.stderr].map((stream, index) => {
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    lines.on('line', (line) => {
      if (index === 0 && spec.onStdoutLine?.(line)) return;
      relay(line);
    });
    return new Promise<void>((resolve) => lines.once('close', resolve));
  });
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('error', (error) => {
      running = false;
      output.line(spec.name, `cannot start ${command}: ${error.message}`, 'error');
      resolve({ code: 127, signal: null });
    });
    child.once('exit', (code, signal) => {
      running = false;
      void Promise.all(streamsDone).then(() => resolve({ code, signal }));
    });
  });
  return {
    name: spec.name,
    pid: child.pid ?? -1,
    exited,
    get running() {
      return running;
    },
    recentLines: () => [...recent],
    signal(signal) {
      if (!running || child.pid === undefined) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // Already gone: its exit event is on its way.
      }
    },
  };
}
