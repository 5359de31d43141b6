import { isIP } from 'node:net';
import { Command, CommanderError, Option } from 'commander';
import { readPackageVersion, StartupError, type LogFormat, type LogLevel } from '@kube-dns/daemon-kit';

/** Everything the command line decides, units applied (ms). */
export interface SimulatorConfig {
  address: string;
  port: number;
  tokens: string[];
  seeds: string[];
  watchDir: string | null;
  watchDirIntervalMs: number;
  writeKubeconfig: string | null;
  tlsCert: string | null;
  tlsKey: string | null;
  clientCa: string | null;
  /** The CA of the server certificate, written into the kubeconfig. */
  tlsCa: string | null;
  /** Generate a throwaway PKI into this folder and serve TLS with client-certificate auth from it. */
  generatePki: string | null;
  historySize: number;
  bookmarkIntervalMs: number;
  watchTimeoutMs: number | { min: number; max: number };
  serviceCidrs: string[];
  autoCreateNamespaces: boolean;
  compression: boolean;
  logLevel: LogLevel;
  logFormat: LogFormat | null;
  /** `--help` / `--version`: print this and exit 0. */
  print: string | null;
}

const COMPONENT = 'apiserver-sim';

function fail(message: string): never {
  throw new StartupError(COMPONENT, message);
}

/** The package version, from package.json next to dist/ (so it cannot drift from the release). */
export const packageVersion = (): string => readPackageVersion(new URL('../package.json', import.meta.url));

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `500ms`, `10s`, `5m`, `1h`, `1m30s`, or a bare number of seconds → milliseconds. */
export function parseDuration(text: string): number | null {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === value.length && value !== '' ? Math.round(total) : null;
}

function duration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === null) fail(`--${flag}: invalid duration "${text}" (e.g. 500ms, 30s, 5m)`);
  return ms;
}

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^\d+$/.test(text.trim())) fail(`--${flag}: "${text}" is not a whole number`);
  const n = Number(text);
  if (n < min || n > max) fail(`--${flag}: ${n} is out of range ${min}–${max}`);
  return n;
}

interface RawOptions {
  port: string;
  address: string;
  token: string[];
  seed: string[];
  watchDir?: string;
  watchDirInterval: string;
  writeKubeconfig?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  tlsCa?: string;
  generatePki?: string;
  historySize: string;
  bookmarkInterval: string;
  watchTimeout: string;
  serviceCidr: string[];
  strictNamespaces: boolean;
  compression: boolean;
  logLevel: string;
  logFormat?: string;
  version?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

function buildCommand(output: { out: string; err: string }): Command {
  return new Command(COMPONENT)
    .description(
      'A small kube-apiserver simulator speaking the real list/watch HTTP protocol (for tests and local runs).',
    )
    .option('--port <port>', 'TCP port to listen on; 0 picks a free one (the URL is printed on stdout)', '0')
    .option('--address <ip>', 'address to listen on', '127.0.0.1')
    .option(
      '--token <token>',
      'accepted bearer token (repeatable); none and no --client-ca: no authentication',
      collect,
      [],
    )
    .option('--seed <path>', 'YAML/JSON manifest file or folder applied at start (repeatable)', collect, [])
    .option('--watch-dir <dir>', 'keep objects in sync with the manifests in this folder while running')
    .option('--watch-dir-interval <duration>', 'how often --watch-dir is re-read (fs events also trigger a read)', '1s')
    .option('--write-kubeconfig <path>', 'write a kubeconfig pointing at the server (with the first --token)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'the key of --tls-cert (PEM)')
    .option('--client-ca <file>', 'accept client certificates signed by this CA (PEM) as identities')
    .option('--tls-ca <file>', 'CA of --tls-cert, embedded in --write-kubeconfig output')
    .option(
      '--generate-pki <dir>',
      'generate a throwaway CA, server and client certificate here (openssl) and serve HTTPS with them',
    )
    .option('--history-size <n>', 'watch events kept for resumption (older resumes get 410 Expired)', '1000')
    .option('--bookmark-interval <duration>', 'BOOKMARK period for watches that allow bookmarks', '60s')
    .option('--watch-timeout <duration|min-max>', 'server-side watch timeout when the client sets none', '5m-10m')
    .option(
      '--service-cidr <cidr>',
      'service cluster IP range, one per family (repeatable; default 10.96.0.0/12)',
      collect,
      [],
    )
    .option(
      '--strict-namespaces',
      'creating into a missing namespace fails with 404 (default: the namespace is created)',
      false,
    )
    .option(
      '--compression',
      'gzip responses of 128 KiB or more when the client accepts gzip, as the real server',
      false,
    )
    .addOption(
      new Option('--log-level <level>', 'log level').choices(['error', 'warn', 'info', 'debug']).default('info'),
    )
    .addOption(
      new Option('--log-format <format>', 'log format (default: json unless stderr is a terminal)').choices([
        'json',
        'text',
      ]),
    )
    .option('--version', 'print the version and exit')
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => (output.out += s),
      writeErr: (s) => (output.err += s),
    });
}

export function parseCommandLine(argv: readonly string[]): SimulatorConfig {
  const output = { out: '', err: '' };
  const command = buildCommand(output);
  let print: string | null = null;
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.helpDisplayed') print = output.out;
    else if (error instanceof CommanderError) fail(error.message.replace(/^error: /, '').split('\n')[0]!);
    else throw error;
  }
  const stray = command.args[0];
  if (print === null && stray !== undefined) fail(`unexpected argument "${stray}" (flags only)`);
  const o = command.opts<RawOptions>();
  if (print === null && o.version === true) print = `apiserver-sim ${packageVersion()}\n`;
  if (isIP(o.address) === 0) fail(`--address: "${o.address}" is not an IP address`);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) fail('--tls-cert and --tls-key go together');
  if (o.generatePki !== undefined && o.tlsCert !== undefined)
    fail('--generate-pki and --tls-cert cannot be used together');
  if (o.clientCa !== undefined && o.tlsCert === undefined) fail('--client-ca needs --tls-cert/--tls-key');
  for (const token of o.token)
    if (token.trim() === '' || /\s/.test(token)) fail('--token: a token must be non-empty without spaces');
  const bookmarkIntervalMs = duration('bookmark-interval', o.bookmarkInterval);
  const watchDirIntervalMs = duration('watch-dir-interval', o.watchDirInterval);
  if (watchDirIntervalMs <= 0) fail('--watch-dir-interval: must be positive');
  return {
    address: o.address,
    port: integer('port', o.port, 0, 65535),
    tokens: o.token,
    seeds: o.seed,
    watchDir: o.watchDir ?? null,
    watchDirIntervalMs,
    writeKubeconfig: o.writeKubeconfig ?? null,
    tlsCert: o.tlsCert ?? null,
    tlsKey: o.tlsKey ?? null,
    clientCa: o.clientCa ?? null,
    tlsCa: o.tlsCa ?? null,
    generatePki: o.generatePki ?? null,
    historySize: integer('history-size', o.historySize, 1, 10_000_000),
    bookmarkIntervalMs,
    watchTimeoutMs: watchTimeout(o.watchTimeout),
    serviceCidrs: o.serviceCidr.length > 0 ? o.serviceCidr : ['10.96.0.0/12'],
    autoCreateNamespaces: !o.strictNamespaces,
    compression: o.compression,
    logLevel: o.logLevel as LogLevel,
    logFormat: (o.logFormat as LogFormat | undefined) ?? null,
    print,
  };
}

function watchTimeout(text: string): number | { min: number; max: number } {
  const range = /^([^-]+)-([^-]+)$/.exec(text.trim());
  if (!range) {
    const ms = duration('watch-timeout', text);
    if (ms <= 0) fail('--watch-timeout: must be positive');
    return ms;
  }
  const min = duration('watch-timeout', range[1]!);
  const max = duration('watch-timeout', range[2]!);
  if (min <= 0 || max < min) fail(`--watch-timeout: "${text}" is not a range min-max with 0 < min <= max`);
  return { min, max };
}
