import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from '@kube-dns/daemon-kit';
import { parseAllDocuments } from 'yaml';
import { COMPONENT } from './cli.js';

/** The programs of the Pod, by the name of their bin. */
export type Program = 'kube-dns' | 'dnsmasq-cache' | 'sidecar';

/** Where each program's bin lives in this repository (the image has them under /app/<package>/bin/). */
export const PROGRAM_PACKAGES: Record<Program, string> = {
  'kube-dns': 'kubedns',
  'dnsmasq-cache': 'dnsmasq-cache',
  sidecar: 'sidecar',
};

/** One container of the Deployment, as the local run needs it. */
export interface PodContainer {
  /** The container's name in the manifest (`kubedns`, `dnsmasq`, `sidecar`). */
  name: string;
  program: Program;
  /** The bin in this repository that the container's command runs. */
  bin: string;
  args: string[];
  env: Record<string, string>;
}

interface RawContainer {
  name?: unknown;
  command?: unknown;
  args?: unknown;
  env?: unknown;
}

function fail(message: string): never {
  throw new StartupError(COMPONENT, message);
}

function strings(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) fail(`${what} is not a list of strings`);
  return value as string[];
}

/** The program a command runs: the element `/app/<package>/bin/<program>` (after node or node-net-bind). */
function programOf(command: string[], where: string): Program {
  for (const element of command) {
    const match = /\/([^/]+)\/bin\/([^/]+)$/.exec(element);
    if (!match) continue;
    const program = match[2] as Program;
    if (PROGRAM_PACKAGES[program] === match[1]) return program;
  }
  return fail(`${where}: command ${JSON.stringify(command)} runs none of kube-dns, dnsmasq-cache, sidecar`);
}

/** The Deployment `kube-system/kube-dns`'s containers from a manifest file's text. */
export function parsePodContainers(text: string, file: string, repoRoot: string): PodContainer[] {
  const deployments: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) fail(`${file}: ${doc.errors[0]!.message.split('\n')[0]}`);
    const value = doc.toJS() as { kind?: unknown } | null;
    if (value !== null && typeof value === 'object' && value.kind === 'Deployment') deployments.push(value);
  }
  if (deployments.length !== 1) fail(`${file}: expected one Deployment, found ${deployments.length}`);
  const deployment = deployments[0] as { spec?: { template?: { spec?: { containers?: unknown } } } };
  const containers = deployment.spec?.template?.spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) fail(`${file}: the Deployment has no containers`);

  return (containers as RawContainer[]).map((raw, index) => {
    const name = typeof raw.name === 'string' ? raw.name : `#${index}`;
    const where = `${file}: container ${name}`;
    const program = programOf(strings(raw.command, `${where}: command`), where);
    const env: Record<string, string> = {};
    if (raw.env !== undefined) {
      if (!Array.isArray(raw.env)) fail(`${where}: env is not a list`);
      for (const entry of raw.env as Array<{ name?: unknown; value?: unknown }>) {
        if (typeof entry.name !== 'string') fail(`${where}: an env entry has no name`);
        // valueFrom (secrets, fields) has no meaning outside a cluster.
        if (typeof entry.value === 'string') env[entry.name] = entry.value;
      }
    }
    const bin = join(repoRoot, 'packages', PROGRAM_PACKAGES[program], 'bin', program);
    return { name, program, bin, args: [...strings(raw.args, `${where}: args`)], env };
  });
}

/** The containers of the Deployment in `file`, each running one of our programs, one of each. */
export function loadPodContainers(file: string, repoRoot: string): PodContainer[] {
  if (!existsSync(file)) fail(`--manifest: ${file} does not exist`);
  const containers = parsePodContainers(readFileSync(file, 'utf8'), file, repoRoot);
  for (const program of Object.keys(PROGRAM_PACKAGES) as Program[]) {
    const count = containers.filter((c) => c.program === program).length;
    if (count !== 1) fail(`${file}: the Pod must run ${program} exactly once (found ${count})`);
  }
  return containers;
}
