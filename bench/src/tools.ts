import { execFileSync, spawnSync } from 'node:child_process';

/** The programs the benchmarks run, and the Debian package of each. */
export const TOOLS = {
  dnsperf: 'dnsperf',
  dnsmasq: 'dnsmasq-base',
  knotd: 'knot',
} as const;

export type Tool = keyof typeof TOOLS;

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Makes sure the tools are on PATH: as root, installs the missing ones with apt-get (saying so);
 * otherwise throws one line naming them and the command that installs them.
 */
export function ensureTools(needed: readonly Tool[], log: (line: string) => void): void {
  const missing = needed.filter((tool) => !has(tool));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((tool) => TOOLS[tool]))];
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing ${missing.join(', ')}: run as root to let the benchmark install them, or: sudo apt-get install -y ${packages.join(' ')}`,
    );
  }
  log(`installing ${packages.join(' ')} with apt-get (missing: ${missing.join(', ')})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
  const still = needed.filter((tool) => !has(tool));
  if (still.length > 0) throw new Error(`apt-get did not provide ${still.join(', ')}`);
}

/** First line of `<tool> <versionFlag>` output (for the result file). */
export function toolVersion(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  const text = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  const line = text.split('\n').find((l) => /version/i.test(l)) ?? text.trim().split('\n')[0] ?? '';
  return line.trim();
}

export function knownVersions(): Record<string, string> {
  const dnsmasqVersion = (() => {
    try {
      return execFileSync('dnsmasq', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
    } catch {
      return 'unknown';
    }
  })();
  return {
    node: process.version,
    dnsmasq: dnsmasqVersion,
    knotd: toolVersion('knotd', ['--version']),
    dnsperf: toolVersion('dnsperf', ['-h']),
  };
}
