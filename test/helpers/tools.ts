import { spawnSync } from 'node:child_process';
import { loadUdpBatchAddon } from '@kube-dns/daemon-kit';

const packages: Record<string, string> = {
  dig: 'bind9-dnsutils',
  nslookup: 'bind9-dnsutils',
  dnsmasq: 'dnsmasq-base',
  dnsperf: 'dnsperf',
  ip: 'iproute2',
  promtool: 'prometheus',
  knotd: 'knot',
  openssl: 'openssl',
  getent: 'libc-bin',
};

/** true if `tool` runs here. */
export function hasTool(tool: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  return found.status === 0;
}

/**
 * For `test(name, { skip: missingTool('dig') }, …)`: false when present, else the one line that says what is missing.
 */
export function missingTool(...tools: string[]): string | false {
  const missing = tools.filter((tool) => !hasTool(tool));
  if (missing.length === 0) return false;
  return `needs ${missing.map((t) => `${t} (Debian ${packages[t] ?? t})`).join(', ')}: not installed`;
}

/** Network namespaces need root and `ip netns`. */
export function missingNetns(): string | false {
  const tool = missingTool('ip');
  if (tool) return tool;
  if (process.getuid?.() !== 0) return 'needs root for ip netns: not running as root';
  const probe = spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  return probe.status === 0 ? false : 'needs ip netns: `ip netns list` fails here';
}

/**
 * For tests of batched UDP I/O: false when daemon-kit's addon (native/udp_batch.c) is built and loads, else the one
 * line that says why not.
 */
export function missingUdpBatchAddon(): string | false {
  const loaded = loadUdpBatchAddon();
  return loaded.addon === null ? `needs daemon-kit's batched UDP I/O addon: ${loaded.reason}` : false;
}

/** The UDP I/O kinds to run listener tests under: both, batched skipped with one line when not built. */
export const UDP_IO_KINDS = ['dgram', 'batched'] as const;
