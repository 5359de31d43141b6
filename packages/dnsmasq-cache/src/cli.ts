import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ipFamily, readPackageVersion, StartupError } from '@kube-dns/daemon-kit';
import { dnsmasqLongOptions, dnsmasqShortOption } from './cli/dnsmasq-options.js';
import { parseServerSpec } from './cli/server-spec.js';
import { defaultConfig, MIN_CACHE_TTL_LIMIT, type DnsmasqCacheConfig } from './config.js';

export const COMPONENT = 'dnsmasq-cache';
/** The dnsmasq release whose flags, statistics and caching rules we follow. */
export const DNSMASQ_VERSION = '2.90';

/** The package version, from package.json next to dist/ (so it cannot drift from the release). */
export const packageVersion = (): string => readPackageVersion(new URL('../package.json', import.meta.url));

const fail = (message: string): never => {
  throw new StartupError(COMPONENT, message);
};

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * The flags we take. dnsmasq's own keep dnsmasq's names and letters; the `--no-*` ones are commander negations,
 * so `opts.negcache === false` means `--no-negcache` was given.
 */
function buildProgram(): Command {
  const program = new Command('dnsmasq-cache')
    .description('Caching DNS forwarder for the kube-dns Pod, flag-compatible with dnsmasq ' + DNSMASQ_VERSION)
    .helpOption('-w, --help', 'show this help')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .option('-v, --version', 'print the version and exit')
    .option('-k, --keep-in-foreground', 'accepted: dnsmasq-cache never forks into the background')
    .option('-d, --no-daemon', 'accepted: dnsmasq-cache never forks into the background')
    .option('-p, --port <port>', 'UDP and TCP port to serve DNS on (0: any free port)')
    .option('-a, --listen-address <addresses>', 'address to listen on (repeatable, comma lists allowed)', collect)
    .option('-z, --bind-interfaces', 'accepted: we always bind exactly the listen addresses')
    .option('-c, --cache-size <records>', 'cache size in resource records (0 disables caching)')
    .option('-N, --no-negcache', 'do not cache NXDOMAIN/NODATA answers')
    .option('--neg-ttl <seconds>', 'TTL for caching negative answers that carry no SOA')
    .option('--max-ttl <seconds>', 'largest TTL handed to clients')
    .option('--max-cache-ttl <seconds>', 'largest TTL kept in the cache')
    .option('--min-cache-ttl <seconds>', 'extend shorter TTLs to this in the cache (at most 3600)')
    .option('-T, --local-ttl <seconds>', 'TTL of answers from hosts files')
    .option('-S, --server <spec>', 'upstream server: ip[#port], /domain/ip[#port], /domain/, /domain/#', collect)
    .option('--local <spec>', 'the same as --server', collect)
    .option('-R, --no-resolv', 'do not read upstream servers from the resolv file')
    .option('-r, --resolv-file <file>', 'read upstream servers from this file (repeatable)', collect)
    .option('-n, --no-poll', 'do not re-read the resolv file when it changes')
    .option('-h, --no-hosts', 'do not read /etc/hosts')
    .option('-H, --addn-hosts <file>', 'additional hosts file or folder (repeatable)', collect)
    .option('-0, --dns-forward-max <queries>', 'concurrent forwarded queries per server group')
    .option('--dns-loop-detect', 'detect and disable upstream servers that forward our queries back to us')
    .option('-o, --strict-order', 'try servers strictly in the order given')
    .option('-P, --edns-packet-max <bytes>', 'largest UDP answer size we advertise and send')
    .option('--no-ident', 'do not answer CHAOS *.bind queries')
    .option('--clear-on-reload', 'clear the cache when the upstream servers change')
    .option('--max-tcp-connections <number>', 'concurrent TCP client connections')
    .option('-8, --log-facility <facility>', "'-' for stderr, a path for a file; syslog facilities log to stderr")
    .option('-q, --log-queries [extra]', 'log one line per query')
    .option('--log-debug', 'debug logging')
    .option('--log-async [lines]', 'accepted: logging is always asynchronous')
    .option('-x, --pid-file [path]', 'write the process id to this file')
    .option('-u, --user [user]', 'accepted: run the container as the user you want instead')
    .option('-g, --group [group]', 'accepted: run the container as the group you want instead')
    .option('-C, --conf-file <file>', 'read more options from a dnsmasq configuration file (repeatable)', collect)
    .option('--no-round-robin', 'accepted: cached records are always returned in upstream order')
    .option('--test', 'check the command line and exit')
    .addOption(new Option('--config-dir <dir>', 'kube-dns ConfigMap folder (stubDomains, upstreamNameservers)'))
    .addOption(new Option('--config-period <duration>', 'how often --config-dir is polled').default('5s'))
    .addOption(new Option('--upstream-timeout <duration>', 'wait this long for one server').default('2s'))
    .addOption(
      new Option('--forward-deadline <duration>', 'SERVFAIL when no server answered by then').default('4500ms'),
    )
    .addOption(new Option('--shutdown-grace <duration>', 'keep answering this long after SIGTERM').default('5s'))
    .addOption(new Option('--metrics-port <port>', 'serve Prometheus metrics on this port (off by default)'))
    .addOption(new Option('--metrics-address <address>', 'address of the metrics port').default('0.0.0.0'));
  return program;
}

/** Long names we take, with whether they take an argument (1 required, 2 optional), for the pre-pass. */
function longOptionTable(program: Command): Map<string, 0 | 1 | 2> {
  const table = new Map<string, 0 | 1 | 2>();
  for (const option of program.options) {
    const name = option.long?.replace(/^--/, '');
    if (name) table.set(name, option.required ? 1 : option.optional ? 2 : 0);
  }
  table.set('help', 0);
  return table;
}

function shortOptionTable(program: Command): Map<string, 0 | 1 | 2> {
  const table = new Map<string, 0 | 1 | 2>();
  for (const option of program.options) {
    const letter = option.short?.replace(/^-/, '');
    if (letter) table.set(letter, option.required ? 1 : option.optional ? 2 : 0);
  }
  table.set('w', 0);
  return table;
}

/**
 * GNU getopt as dnsmasq uses it, before commander sees the arguments: unambiguous abbreviations of long options
 * are expanded, and any flag we do not take fails with one line that names it, saying whether it is a dnsmasq flag
 * dnsmasq-cache does not implement or not a dnsmasq flag at all.
 */
function normaliseArguments(argv: readonly string[], program: Command): string[] {
  const longs = longOptionTable(program);
  const shorts = shortOptionTable(program);
  const out: string[] = [];
  rejectRepeats(argv, program, longs);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') fail(`unexpected argument "--"`);
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const written = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const name = resolveLongName(written, longs);
      out.push(eq >= 0 ? `--${name}${arg.slice(eq)}` : `--${name}`);
      const hasArg = longs.get(name)!;
      if (eq < 0 && hasArg === 1 && i + 1 < argv.length) out.push(argv[++i]!);
      else if (eq < 0 && hasArg === 2 && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) out.push(argv[++i]!);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      out.push(arg);
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const hasArg = shorts.get(letter);
        if (hasArg === undefined) {
          const known = dnsmasqShortOption(letter);
          fail(
            known
              ? `unsupported dnsmasq flag -${letter} (--${known.name}): dnsmasq-cache does not implement it`
              : `unknown flag -${letter}`,
          );
        }
        if (hasArg !== 0) {
          if (j === arg.length - 1) {
            if (hasArg === 1 && i + 1 < argv.length) out.push(argv[++i]!);
            else if (hasArg === 2 && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) out.push(argv[++i]!);
          }
          break;
        }
      }
      continue;
    }
    fail(`unexpected argument "${arg}"`);
  }
  return out;
}

/** Options that may be given more than once (they add up); dnsmasq rejects repeats of the other value options. */
const REPEATABLE = new Set(['listen-address', 'server', 'local', 'resolv-file', 'addn-hosts', 'conf-file']);

/** dnsmasq's "illegal repeated flag": a single-valued option given twice in one place. */
function rejectRepeats(argv: readonly string[], program: Command, longs: Map<string, 0 | 1 | 2>): void {
  const byShort = new Map<string, string>();
  for (const option of program.options) {
    if (option.short && option.long) byShort.set(option.short.slice(1), option.long.slice(2));
  }
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let name: string | undefined;
    if (arg.startsWith('--')) {
      const written = arg.slice(2).split('=')[0]!;
      name = longs.has(written) ? written : undefined;
      if (name !== undefined && longs.get(name) === 1 && !arg.includes('=')) i++;
    } else if (arg.startsWith('-') && arg.length > 1) {
      name = byShort.get(arg[1]!);
      if (name !== undefined && longs.get(name) === 1 && arg.length === 2) i++;
    }
    if (name === undefined || longs.get(name) !== 1 || REPEATABLE.has(name)) continue;
    if (seen.has(name)) fail(`illegal repeated flag --${name}`);
    seen.add(name);
  }
}

function resolveLongName(written: string, longs: Map<string, 0 | 1 | 2>): string {
  if (longs.has(written)) return written;
  const ours = [...longs.keys()].filter((name) => name.startsWith(written));
  const dnsmasq = dnsmasqLongOptions(written).map((option) => option.name);
  const candidates = [...new Set([...ours, ...dnsmasq])];
  if (written !== '' && candidates.length === 1) {
    const only = candidates[0]!;
    if (longs.has(only)) return only;
    return fail(`unsupported dnsmasq flag --${only}: dnsmasq-cache does not implement it`);
  }
  if (written !== '' && dnsmasq.includes(written)) {
    return fail(`unsupported dnsmasq flag --${written}: dnsmasq-cache does not implement it`);
  }
  if (written !== '' && candidates.length > 1) {
    return fail(`ambiguous flag --${written} (could be ${candidates.map((c) => '--' + c).join(', ')})`);
  }
  return fail(`unknown flag --${written}`);
}

/** dnsmasq's atoi_check: decimal digits only. */
function integer(flag: string, text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text)) fail(`${flag}: "${text}" is not a non-negative integer`);
  const value = Number(text);
  if (value < min || value > max) fail(`${flag}: ${value} is out of range (${min}–${max})`);
  return value;
}

/** `10s`, `500ms`, `1m`, `1.5s`, or plain seconds → milliseconds. */
function duration(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) return fail(`${flag}: "${text}" is not a duration (e.g. 500ms, 2s, 1m)`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'ms' ? value : unit === 's' ? value * 1000 : value * 60_000;
  if (ms <= 0) fail(`${flag}: must be more than zero`);
  return Math.round(ms);
}

function address(flag: string, text: string): string {
  if (ipFamily(text) === 0) fail(`${flag}: "${text}" is not an IP address`);
  return text;
}

/** Lines of a dnsmasq configuration file as `--option[=value]` arguments (`#` comments, blank lines skipped). */
function confFileArguments(path: string, depth: number): string[] {
  if (path === '-') fail('--conf-file=-: reading options from stdin is not supported');
  if (depth > 8) fail(`--conf-file=${path}: configuration files include each other too deeply`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return fail(`--conf-file=${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const args: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = (eq >= 0 ? line.slice(0, eq) : line).trim();
    const value = eq >= 0 ? unquote(line.slice(eq + 1).trim()) : null;
    args.push(value === null ? `--${name}` : `--${name}=${value}`);
  }
  return args;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

type Opts = Record<string, string | string[] | boolean | undefined>;

function parseOnce(argv: readonly string[]): { opts: Opts; sources: (name: string) => string | undefined } {
  const program = buildProgram();
  const args = normaliseArguments(argv, program);
  try {
    program.parse(args, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed') return { opts: { help: true }, sources: () => undefined };
      fail(error.message.replace(/^error:\s*/, '').split('\n')[0]!);
    }
    throw error;
  }
  return {
    opts: program.opts<Opts>(),
    sources: (name) => program.getOptionValueSource(name),
  };
}

/** The help text (commander's, with dnsmasq's flag letters). */
export function helpText(): string {
  return buildProgram().helpInformation();
}

/**
 * Turns dnsmasq-style arguments into a typed configuration. Reads only the files named by `--conf-file`.
 * Throws a `StartupError` naming the offending flag.
 */
export function parseCommandLine(argv: readonly string[], _env: NodeJS.ProcessEnv = process.env): DnsmasqCacheConfig {
  const first = parseOnce(argv);
  const layers: Opts[] = [first.opts];
  const explicit: ((name: string) => boolean)[] = [(name) => first.sources(name) === 'cli'];
  const pending = [...((first.opts['confFile'] as string[] | undefined) ?? [])].map((path) => ({ path, depth: 1 }));
  while (pending.length > 0) {
    const { path, depth } = pending.shift()!;
    const layer = parseOnce(confFileArguments(path, depth));
    layers.push(layer.opts);
    explicit.push((name) => layer.sources(name) === 'cli');
    for (const nested of (layer.opts['confFile'] as string[] | undefined) ?? [])
      pending.push({ path: nested, depth: depth + 1 });
  }
  // Repeatable options accumulate over the command line and the files; for single ones the file wins (dnsmasq).
  const list = (name: string): string[] => layers.flatMap((layer) => (layer[name] as string[] | undefined) ?? []);
  const single = <T extends string | boolean>(name: string): T | undefined => {
    let value: T | undefined;
    layers.forEach((layer, index) => {
      if (explicit[index]!(name)) value = layer[name] as T;
    });
    return value;
  };

  const config = defaultConfig();
  if (layers.some((layer) => layer['help'] === true)) {
    config.print = helpText();
    return config;
  }
  if (single<boolean>('version')) {
    config.print = `dnsmasq-cache version ${packageVersion()} (flags and statistics of dnsmasq ${DNSMASQ_VERSION})\n`;
    return config;
  }

  const text = (name: string): string | undefined => single<string>(name);
  const port = text('port');
  if (port !== undefined) config.port = integer('--port', port, 0, 65535);
  config.listenAddresses = list('listenAddress')
    .flatMap((value) => value.split(','))
    .map((value) => address('--listen-address', value.trim()));
  config.bindInterfaces = single<boolean>('bindInterfaces') ?? false;
  const cacheSize = text('cacheSize');
  // dnsmasq clamps very large caches rather than refusing them.
  if (cacheSize !== undefined) config.cacheSize = Math.min(integer('--cache-size', cacheSize), 5_000_000);
  if (single<boolean>('negcache') === false) config.negativeCache = false;
  const ttl = (flag: string, name: string): number | undefined => {
    const value = text(name);
    return value === undefined ? undefined : integer(flag, value, 0, 2_147_483_647);
  };
  config.negTtl = ttl('--neg-ttl', 'negTtl') ?? config.negTtl;
  config.maxTtl = ttl('--max-ttl', 'maxTtl') ?? config.maxTtl;
  config.maxCacheTtl = ttl('--max-cache-ttl', 'maxCacheTtl') ?? config.maxCacheTtl;
  config.minCacheTtl = Math.min(ttl('--min-cache-ttl', 'minCacheTtl') ?? config.minCacheTtl, MIN_CACHE_TTL_LIMIT);
  config.localTtl = ttl('--local-ttl', 'localTtl') ?? config.localTtl;
  for (const spec of [...list('server'), ...list('local')]) {
    const directive = parseServerSpec(spec);
    if (typeof directive === 'string') fail(directive);
    else config.servers.push(directive);
  }
  if (single<boolean>('resolv') === false) config.noResolv = true;
  const resolvFiles = list('resolvFile');
  if (resolvFiles.length > 0) config.resolvFiles = resolvFiles;
  if (single<boolean>('poll') === false) config.noPoll = true;
  if (single<boolean>('hosts') === false) config.noHosts = true;
  config.addnHosts = list('addnHosts');
  const forwardMax = text('dnsForwardMax');
  if (forwardMax !== undefined) config.dnsForwardMax = integer('--dns-forward-max', forwardMax, 1);
  config.dnsLoopDetect = single<boolean>('dnsLoopDetect') ?? false;
  config.strictOrder = single<boolean>('strictOrder') ?? false;
  const packetMax = text('ednsPacketMax');
  if (packetMax !== undefined) config.ednsPacketMax = integer('--edns-packet-max', packetMax, 512, 65535);
  if (single<boolean>('ident') === false) config.noIdent = true;
  config.clearOnReload = single<boolean>('clearOnReload') ?? false;
  const tcpMax = text('maxTcpConnections');
  if (tcpMax !== undefined) config.maxTcpConnections = integer('--max-tcp-connections', tcpMax, 1);
  const facility = text('logFacility');
  if (facility !== undefined) {
    config.logTarget = facility.includes('/') ? { kind: 'file', path: facility } : { kind: 'stderr' };
  }
  config.logQueries = single<string | boolean>('logQueries') !== undefined;
  config.logDebug = single<boolean>('logDebug') ?? false;
  const envFormat = _env['LOG_FORMAT'];
  config.logFormat = envFormat === 'json' || envFormat === 'text' ? envFormat : null;
  const pidFile = single<string | boolean>('pidFile');
  config.pidFile = typeof pidFile === 'string' && pidFile !== '' ? pidFile : null;
  config.testOnly = single<boolean>('test') ?? false;

  const configDir = text('configDir');
  config.configDir = configDir === undefined || configDir === '' ? null : configDir;
  config.configPeriodMs = duration('--config-period', text('configPeriod') ?? (first.opts['configPeriod'] as string));
  config.upstreamTimeoutMs = duration(
    '--upstream-timeout',
    text('upstreamTimeout') ?? (first.opts['upstreamTimeout'] as string),
  );
  config.forwardDeadlineMs = duration(
    '--forward-deadline',
    text('forwardDeadline') ?? (first.opts['forwardDeadline'] as string),
  );
  const grace = text('shutdownGrace') ?? (first.opts['shutdownGrace'] as string);
  config.shutdownGraceMs = /^0+(ms|s|m)?$/.test(grace) ? 0 : duration('--shutdown-grace', grace);
  const metricsPort = text('metricsPort');
  if (metricsPort !== undefined) config.metricsPort = integer('--metrics-port', metricsPort, 0, 65535);
  config.metricsAddress = address('--metrics-address', text('metricsAddress') ?? '0.0.0.0');
  return config;
}
