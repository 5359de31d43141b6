import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** packages/kubedns/bin/kube-dns, from test/build/kubedns. */
export const KUBE_DNS_BIN = fileURLToPath(new URL('../../../packages/kubedns/bin/kube-dns', import.meta.url));

export interface KubeDnsProcess {
  child: ChildProcess;
  /** JSON log lines from stderr (and any other line as `{ raw }`). */
  lines: Array<Record<string, unknown>>;
  stderr(): string;
  stdout(): string;
  /** Resolves with the bound ports once the `listening` line is logged; rejects if the process exits first. */
  listening: Promise<{ dns: number; healthz: number; metrics: number | null }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL if still running (test cleanup). */
  kill(): void;
}

function portOf(address: unknown): number {
  const text = String(address);
  return Number(text.slice(text.lastIndexOf(':') + 1).split('/')[0]);
}

/** Spawns the real bin with JSON logs; the caller passes loopback addresses and port 0. */
export function spawnKubeDns(args: string[], env: NodeJS.ProcessEnv = {}): KubeDnsProcess {
  const child = spawn(process.execPath, [KUBE_DNS_BIN, '--log-format=json', ...args], {
    env: { PATH: process.env['PATH'], ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let err = '';
  let out = '';
  let pending = '';
  let onListening: (ports: { dns: number; healthz: number; metrics: number | null }) => void = () => undefined;
  let onFail: (error: Error) => void = () => undefined;
  const listening = new Promise<{ dns: number; healthz: number; metrics: number | null }>((resolve, reject) => {
    onListening = resolve;
    onFail = reject;
  });
  listening.catch(() => undefined);
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    err += text;
    pending += text;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(part) as Record<string, unknown>;
      } catch {
        line = { raw: part };
      }
      lines.push(line);
      if (line['message'] === 'listening') {
        onListening({
          dns: portOf(line['dns']),
          healthz: portOf(line['healthz']),
          metrics: line['metrics'] === 'disabled' ? null : portOf(line['metrics']),
        });
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      onFail(new Error(`kube-dns exited (${code ?? signal}) before listening: ${err.trim().split('\n').pop() ?? ''}`));
      resolve({ code, signal });
    });
  });
  return {
    child,
    lines,
    stderr: () => err,
    stdout: () => out,
    listening,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
