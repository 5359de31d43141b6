import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StartupError } from '@kube-dns/daemon-kit';
import { COMPONENT } from './cli.js';
import type { Output } from './output.js';
import { describeExit, startSupervisedProcess, type SupervisedProcess } from './supervised-process.js';

/** The cluster IP ranges the simulator allocates from: one per family, so new Services can be dual-stack. */
export const SERVICE_CIDRS = ['10.96.0.0/12', 'fd00:10:96::/112'];
const STARTUP_TIMEOUT_MS = 30_000;

export interface Apiserver {
  process: SupervisedProcess;
  url: string;
  kubeconfig: string;
}

/**
 * Starts the apiserver simulator (packages/apiserver-sim) on 127.0.0.1 with a fresh token, serving the objects of
 * `clusterDir` and following its edits (`--watch-dir`), and waits for the URL it prints once the folder is applied.
 */
export async function startApiserver(options: {
  repoRoot: string;
  clusterDir: string;
  kubeconfig: string;
  port: number;
  env: NodeJS.ProcessEnv;
  output: Output;
  setpriv: string | null;
}): Promise<Apiserver> {
  let announce: (url: string) => void = () => undefined;
  const announced = new Promise<string>((resolve) => (announce = resolve));
  const args = [
    join(options.repoRoot, 'packages', 'apiserver-sim', 'bin', 'apiserver-sim'),
    '--address=127.0.0.1',
    `--port=${options.port}`,
    `--token=${randomBytes(16).toString('hex')}`,
    `--watch-dir=${options.clusterDir}`,
    `--write-kubeconfig=${options.kubeconfig}`,
    ...SERVICE_CIDRS.map((cidr) => `--service-cidr=${cidr}`),
    '--log-format=json',
  ];
  const child = startSupervisedProcess(
    {
      name: 'apiserver-sim',
      command: process.execPath,
      args,
      env: options.env,
      cwd: options.repoRoot,
      onStdoutLine: (line) => {
        if (!/^https?:\/\//.test(line.trim())) return false;
        announce(line.trim());
        return true;
      },
    },
    options.output,
    { setpriv: options.setpriv },
  );
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    announced.then((url) => ({ url })),
    child.exited.then((exit) => ({ exit })),
    new Promise<{ timeout: true }>(
      (resolve) => (timer = setTimeout(() => resolve({ timeout: true }), STARTUP_TIMEOUT_MS)),
    ),
  ]);
  clearTimeout(timer);
  if ('url' in outcome) return { process: child, url: outcome.url, kubeconfig: options.kubeconfig };
  if ('exit' in outcome) {
    throw new StartupError(COMPONENT, `the apiserver simulator did not start (${describeExit(outcome.exit)})`);
  }
  child.signal('SIGKILL');
  await child.exited;
  throw new StartupError(COMPONENT, `the apiserver simulator did not start within ${STARTUP_TIMEOUT_MS / 1000}s`);
}
