import { isIPv4 } from 'node:net';
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { parseNameserver, StartupError, type UpstreamServer } from '@kube-dns/daemon-kit';
import { parseDuration } from './durations.js';
import type { PortMode } from './port-plan.js';

export const COMPONENT = 'local-pod';

/** Everything the command line decides, with paths absolute and durations in ms. */
export interface LocalPodConfig {
  /** The repository the bins, the manifest and the examples are taken from. */
  repoRoot: string;
  /** The Pod to run: the Deployment in this file. */
  manifest: string;
  /** Local files: the kubeconfig the simulator writes, the config dir, the default cluster dir. */
  stateDir: string;
  /** Serve this cluster instead of the simulator. */
  kubeconfig: string | null;
  /** Manifests the simulator serves and watches; null with `--kubeconfig`. */
  clusterDir: string | null;
  /** Copied into `clusterDir` when it does not exist yet. */
  examplesDir: string;
  /** The folder the Pod mounts the kube-dns ConfigMap at, here a plain local folder. */
  configDir: string;
  portMode: PortMode;
  /** Why `portMode` was chosen, for the port table. */
  portModeReason: string;
  portOffset: number;
  bindAddress: string;
  apiserverPort: number;
  /** Empty: the programs read /etc/resolv.conf, as in the Pod (dnsPolicy: Default). */
  upstreams: UpstreamServer[];
  shutdownGraceMs: number;
  statusIntervalMs: number;
  /** How long stopping may take before the rest is killed. */
  stopTimeoutMs: number;
  color: boolean;
  /** `--help`: print this and exit 0. */
  print: string | null;
}

export interface CommandLineContext {
  repoRoot: string;
  /** process.getuid(), or null where there is none. */
  uid: number | null;
  /** Relative paths on the command line are relative to this. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Whether stdout is a terminal (colours). */
  isTty: boolean;
}

const DESCRIPTION =
  "Starts the kube-dns Pod on this machine: kube-dns, dnsmasq-cache and sidecar with the Deployment's own " +
  'arguments from manifests/kube-dns.yaml, fed by the apiserver simulator serving the example objects in ' +
  '.local/cluster/ (edit them while it runs: changes apply within a second), or by a real cluster with ' +
  '--kubeconfig. Ports below 1024 move up by 1000 when not running as root (53 becomes 1053). Prints the ' +
  "dig and nslookup commands to try, each process's readiness, and every process's log lines. Ctrl-C stops " +
  'everything.';

function fail(message: string): never {
  throw new StartupError(COMPONENT, message);
}

function buildCommand(output: { out: string }): Command {
  return new Command('local-pod')
    .usage('[options]   (npm start -- [options])')
    .description(DESCRIPTION)
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({ writeOut: (text) => (output.out += text), writeErr: () => undefined })
    .configureHelp({ helpWidth: 110 })
    .option('--kubeconfig <file>', 'serve the cluster of this kubeconfig instead of the simulator')
    .option('--cluster-dir <dir>', 'objects the simulator serves and watches (default: <state-dir>/cluster)')
    .option('--state-dir <dir>', 'local files: cluster/, kube-dns-config/, kubeconfig (default: .local)')
    .option('--manifest <file>', 'the Deployment to run (default: manifests/kube-dns.yaml)')
    .option('--high-ports', 'move ports below 1024 up by 1000 (53 → 1053); the default when not root')
    .option('--any-ports', 'put every server on a free port picked at start')
    .option('--port-offset <n>', 'add n to every port (to run beside another copy)')
    .option('--bind-address <ipv4>', 'address every server listens on', '127.0.0.1')
    .option(
      '--upstream <ip[:port]>',
      'nameserver for names outside the cluster, repeatable (default: /etc/resolv.conf)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--apiserver-port <port>', 'port of the apiserver simulator (default: a free one)')
    .option(
      '--shutdown-grace <duration>',
      "kube-dns's and dnsmasq-cache's lame duck after Ctrl-C (the Pod's: 5s)",
      '1s',
    )
    .addOption(new Option('--status-interval <duration>', 'how often readiness is polled').default('1s'))
    .addOption(new Option('--stop-timeout <duration>', 'kill what has not stopped by then').default('20s').hideHelp())
    .addOption(new Option('--no-color', 'no colours'));
}

interface RawOptions {
  kubeconfig?: string;
  clusterDir?: string;
  stateDir?: string;
  manifest?: string;
  highPorts?: boolean;
  anyPorts?: boolean;
  portOffset?: string;
  bindAddress: string;
  upstream?: string[];
  apiserverPort?: string;
  shutdownGrace: string;
  statusInterval: string;
  stopTimeout: string;
  color: boolean;
}

function duration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === null) fail(`--${flag}: invalid duration "${text}" (e.g. 500ms, 1s, 2m)`);
  return ms;
}

function integer(flag: string, text: string, max: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) > max) fail(`--${flag}: "${text}" is not a whole number 0-${max}`);
  return Number(text);
}

/** The launcher's command line → its configuration. Pure: throws one StartupError naming the flag. */
export function parseCommandLine(argv: readonly string[], context: CommandLineContext): LocalPodConfig {
  const output = { out: '' };
  const command = buildCommand(output);
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.helpDisplayed') {
      return { ...defaults(context), print: output.out };
    }
    if (error instanceof CommanderError) fail(error.message.replace(/^error: /, '').split('\n')[0]!);
    throw error;
  }
  if (command.args[0] !== undefined) fail(`unexpected argument "${command.args[0]}" (flags only)`);
  const o = command.opts<RawOptions>();
  const base = defaults(context);
  const path = (text: string): string => resolve(context.cwd, text);

  const stateDir = o.stateDir !== undefined ? path(o.stateDir) : base.stateDir;
  const kubeconfig = o.kubeconfig !== undefined ? path(o.kubeconfig) : null;
  if (kubeconfig !== null && o.clusterDir !== undefined) fail('--cluster-dir and --kubeconfig cannot be used together');

  const portOffset = integer('port-offset', o.portOffset ?? '0', 60000);
  if (o.anyPorts && portOffset !== 0) fail('--port-offset and --any-ports cannot be used together');
  let portMode: PortMode = 'real';
  let portModeReason = 'running as root: the Pod’s own ports';
  if (o.anyPorts) {
    portMode = 'any';
    portModeReason = '--any-ports: free ports picked at start';
  } else if (o.highPorts) {
    portMode = 'high';
    portModeReason = '--high-ports: ports below 1024 moved up by 1000';
  } else if (context.uid !== 0) {
    portMode = 'high';
    portModeReason = 'not root: ports below 1024 moved up by 1000';
  }

  if (!isIPv4(o.bindAddress)) fail(`--bind-address: "${o.bindAddress}" is not an IPv4 address`);
  const upstreams = (o.upstream ?? []).map((text) => {
    const server = parseNameserver(text);
    if (!server) fail(`--upstream: invalid nameserver "${text}" (ip or ip:port)`);
    return server;
  });

  return {
    ...base,
    manifest: o.manifest !== undefined ? path(o.manifest) : base.manifest,
    stateDir,
    kubeconfig,
    clusterDir:
      kubeconfig !== null ? null : o.clusterDir !== undefined ? path(o.clusterDir) : join(stateDir, 'cluster'),
    configDir: join(stateDir, 'kube-dns-config'),
    portMode,
    portModeReason,
    portOffset,
    bindAddress: o.bindAddress,
    apiserverPort: integer('apiserver-port', o.apiserverPort ?? '0', 65535),
    upstreams,
    shutdownGraceMs: duration('shutdown-grace', o.shutdownGrace),
    statusIntervalMs: Math.max(50, duration('status-interval', o.statusInterval)),
    stopTimeoutMs: duration('stop-timeout', o.stopTimeout),
    color: o.color && context.isTty && (context.env['NO_COLOR'] ?? '') === '',
  };
}

function defaults(context: CommandLineContext): LocalPodConfig {
  const stateDir = join(context.repoRoot, '.local');
  return {
    repoRoot: context.repoRoot,
    manifest: join(context.repoRoot, 'manifests', 'kube-dns.yaml'),
    stateDir,
    kubeconfig: null,
    clusterDir: join(stateDir, 'cluster'),
    examplesDir: join(context.repoRoot, 'examples', 'cluster'),
    configDir: join(stateDir, 'kube-dns-config'),
    portMode: context.uid === 0 ? 'real' : 'high',
    portModeReason: '',
    portOffset: 0,
    bindAddress: '127.0.0.1',
    apiserverPort: 0,
    upstreams: [],
    shutdownGraceMs: 1000,
    statusIntervalMs: 1000,
    stopTimeoutMs: 20_000,
    color: false,
    print: null,
  };
}
