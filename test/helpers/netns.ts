import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createLineWaiter } from './line-waiter.js';
import { isAlive } from './processes.js';
import { missingNetns } from './tools.js';

/**
 * Network namespaces for end-to-end tests (root and `ip netns` needed: skip with `missingNetns()` first).
 * Everything a lab makes carries its unique prefix (`kdnstest-<pid>-<random>-`), and `cleanup()` removes it
 * all: processes, namespaces, their /etc/netns folders. Labs left behind by a killed test run (their pid
 * is gone) are removed when the next lab is made.
 */
export const LAB_PREFIX = 'kdnstest-';

/**
 * For `test(name, { skip: missingNetnsLab() }, …)`: `missingNetns()`, and then whether this machine really lets
 * us make a namespace with a veth pair (a container without CAP_SYS_ADMIN lists namespaces but cannot add one).
 * False when it works, else the one line saying why not.
 */
export function missingNetnsLab(): string | false {
  const missing = missingNetns();
  if (missing) return missing;
  const name = `${LAB_PREFIX}${process.pid}-probe`;
  const run = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });
  try {
    const added = run('netns', 'add', name);
    if (added.status !== 0) return `needs ip netns add: ${added.stderr.trim() || 'failed'}`;
    const veth = run(
      'link',
      'add',
      'name',
      'kdnsprobe0',
      'netns',
      name,
      'type',
      'veth',
      'peer',
      'name',
      'kdnsprobe1',
      'netns',
      name,
    );
    if (veth.status !== 0) return `needs veth pairs in network namespaces: ${veth.stderr.trim() || 'failed'}`;
    return false;
  } finally {
    run('netns', 'delete', name);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A process started inside a namespace, its output kept by line. */
export interface LabProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<number | null>;
  /** The first output line (past or future) matching `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
}

export interface Netns {
  /** The namespace's name (`ip netns exec <name>`). */
  readonly name: string;
  /** Runs a command inside; resolves whatever its exit code. */
  run(command: string, args: readonly string[], options?: { timeoutMs?: number }): Promise<RunResult>;
  /** `ip -n <name> …`, which must succeed. */
  ip(...args: string[]): Promise<void>;
  /** Starts a long-running command inside (stopped by cleanup). */
  spawn(name: string, command: string, args: readonly string[], options?: { env?: NodeJS.ProcessEnv }): LabProcess;
}

export interface NetnsLab {
  readonly id: string;
  /** A new namespace with `lo` up; `resolvConf` becomes its /etc/resolv.conf under `ip netns exec`. */
  namespace(role: string, options?: { resolvConf?: string }): Promise<Netns>;
  /** A veth pair between two namespaces, both ends up with these addresses (CIDR); returns the device names. */
  link(a: Netns, aAddresses: readonly string[], b: Netns, bAddresses: readonly string[]): Promise<[string, string]>;
  /** Kills every process of the lab's namespaces and deletes them. Safe to call more than once. */
  cleanup(): Promise<void>;
}

function exec(command: string, args: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (error && code !== 0 ? String(error.message) : '') });
    });
  });
}

async function mustExec(command: string, args: readonly string[]): Promise<void> {
  const result = await exec(command, args);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr.trim()}`);
}

async function deleteNamespace(name: string): Promise<void> {
  const pids = await exec('ip', ['netns', 'pids', name]);
  for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await exec('ip', ['netns', 'delete', name]);
  rmSync(join('/etc/netns', name), { recursive: true, force: true });
}

/** Removes namespaces of labs whose test process no longer runs. */
async function removeStaleLabs(): Promise<void> {
  const list = await exec('ip', ['netns', 'list']);
  for (const line of list.stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const owner = new RegExp(`^${LAB_PREFIX}(\\d+)-`).exec(name);
    if (owner && !isAlive(Number(owner[1]))) await deleteNamespace(name);
  }
}

function startLabProcess(
  name: string,
  netns: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): LabProcess {
  const child = spawn('ip', ['netns', 'exec', netns, command, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const log = createLineWaiter<string, number | null>(exited);
  const onLine = (line: string): void => log.push(line);
  createInterface({ input: child.stdout }).on('line', onLine);
  createInterface({ input: child.stderr }).on('line', onLine);
  return {
    name,
    // `ip netns exec` execs the command: this pid is the command's.
    pid: child.pid ?? -1,
    child,
    output: log.lines,
    exited,
    waitForOutput: (pattern, timeoutMs = 20_000) =>
      log.waitFor((line) => pattern.exec(line), timeoutMs, {
        timeout: () => `${name}: no output matching ${pattern} in ${timeoutMs} ms:\n${log.lines.join('\n')}`,
        exited: (code) => `${name} exited (${code}) before printing ${pattern}:\n${log.lines.join('\n')}`,
      }),
  };
}

/** Makes a lab: unique names for this run, everything removed by `cleanup()`. */
export async function createNetnsLab(): Promise<NetnsLab> {
  await removeStaleLabs();
  const id = `${LAB_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  const names: string[] = [];
  const processes: LabProcess[] = [];
  let links = 0;
  let cleaned: Promise<void> | null = null;

  const namespace = async (role: string, options: { resolvConf?: string } = {}): Promise<Netns> => {
    const name = `${id}-${role}`;
    if (options.resolvConf !== undefined) {
      // `ip netns exec` bind-mounts /etc/netns/<name>/* over /etc/*, as a kubelet gives a Pod its resolv.conf.
      mkdirSync(join('/etc/netns', name), { recursive: true });
      writeFileSync(join('/etc/netns', name, 'resolv.conf'), options.resolvConf);
    }
    names.push(name);
    await mustExec('ip', ['netns', 'add', name]);
    await mustExec('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return {
      name,
      run: (command, args, runOptions = {}) =>
        exec('ip', ['netns', 'exec', name, command, ...args], runOptions.timeoutMs),
      ip: (...args) => mustExec('ip', ['-n', name, ...args]),
      spawn(processName, command, args, spawnOptions = {}) {
        const started = startLabProcess(processName, name, command, args, spawnOptions.env ?? process.env);
        processes.push(started);
        return started;
      },
    };
  };

  return {
    id,
    namespace,
    async link(a, aAddresses, b, bAddresses) {
      // Made directly inside the namespaces: nothing appears in the host's network namespace.
      const suffix = id.slice(-6);
      const devices: [string, string] = [`v${suffix}${links}a`, `v${suffix}${links}b`];
      links++;
      await mustExec('ip', [
        'link',
        'add',
        'name',
        devices[0],
        'netns',
        a.name,
        'type',
        'veth',
        'peer',
        'name',
        devices[1],
        'netns',
        b.name,
      ]);
      for (const [ns, device, addresses] of [
        [a, devices[0], aAddresses],
        [b, devices[1], bAddresses],
      ] as const) {
        for (const address of addresses) await ns.ip('addr', 'add', address, 'dev', device);
        await ns.ip('link', 'set', device, 'up');
      }
      return devices;
    },
    cleanup() {
      cleaned ??= (async () => {
        for (const started of processes) started.child.kill('SIGKILL');
        await Promise.all(processes.map((started) => started.exited));
        for (const name of names) await deleteNamespace(name);
      })();
      return cleaned;
    },
  };
}
