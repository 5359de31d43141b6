import net from 'node:net';
import { Command, CommanderError, Option } from 'commander';
import { normalizePflagArgs, readPackageVersion, StartupError, type LogFormat } from '@kube-dns/daemon-kit';
import { parseProbeOption, ProbeOptionError, type ProbeOption } from './probe-option.js';

/** Everything the command line decides, with units applied (ms). */
export interface SidecarConfig {
  probes: ProbeOption[];
  dnsmasqAddr: string;
  dnsmasqPort: number;
  /** 0: do not poll the cache's statistics (added; the original spun in a loop). */
  dnsmasqPollIntervalMs: number;
  /** Where `/metrics`, `/healthcheck/<label>`, `/healthz` and `/` are served. */
  prometheusAddr: string;
  prometheusPort: number;
  prometheusPath: string;
  /** Prefix of every sidecar metric; '' for none. */
  prometheusNamespace: string;
  /** Timeout of each probe and each statistics query (the original's miekg client: 2 s). */
  dnsTimeoutMs: number;
  verbosity: number;
  /** true when `--v` was given: it then sets the log level, else LOG_LEVEL or info. */
  verbositySet: boolean;
  /** null: json unless stderr is a terminal (daemon-kit's default). */
  logFormat: LogFormat | null;
  /** `--help` or `--version` was asked for: print this and exit 0 instead of running. */
  print: string | null;
}

export const COMPONENT = 'sidecar';

/** The package version, from package.json next to dist/ (so it cannot drift from the release). */
export const packageVersion = (): string => readPackageVersion(new URL('../package.json', import.meta.url));

function buildCommand(output: { out: string; err: string }): Command {
  return new Command('sidecar')
    .description('sidecar: DNS health checks (/healthcheck/<label>) and Prometheus metrics for the kube-dns Pod')
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => (output.out += text),
      writeErr: (text) => (output.err += text),
      outputError: () => undefined,
    })
    .option(
      '--probe <spec>',
      'probe the given DNS server with the DNS name and export probe metrics and healthcheck URI. Specified as ' +
        '<label>,<server>,<dns name>[,<interval_seconds>][,<type>]. Healthcheck url will be exported under ' +
        '/healthcheck/<label>. interval_seconds is optional. This option may be specified multiple times to ' +
        "check multiple servers. <type> is one of ANY, A, AAAA, SRV. Example: 'mydns,127.0.0.1:53,example.com,10,A'.",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--dnsmasq-addr <addr>', 'address that the dnsmasq server is listening on', '127.0.0.1')
    .option('--dnsmasq-port <port>', 'port that the dnsmasq server is listening on', '53')
    .option('--dnsmasq-poll-interval-ms <ms>', 'interval with which to poll dnsmasq for stats (0: never)', '5000')
    .option('--prometheus-addr <addr>', 'http address to bind metrics server to', '0.0.0.0')
    .option('--prometheus-port <port>', 'http port to use to export prometheus metrics', '10054')
    .option('--prometheus-path <path>', 'http path used to export metrics', '/metrics')
    .option('--prometheus-namespace <ns>', 'prometheus metric namespace', 'kubedns')
    .option('--dns-timeout-ms <ms>', 'timeout of each probe and statistics query (added)', '2000')
    .option('-v, --v <level>', 'log verbosity (0-3 info, 4+ debug)', '0')
    .option('--log-format <format>', 'json or text; default json unless stderr is a terminal (added)')
    .option('--version [raw]', 'print the version and exit')
    .addOption(new Option('--logtostderr [bool]', 'accepted for old manifests; logs always go to stderr').hideHelp())
    .addOption(new Option('--alsologtostderr [bool]', 'accepted for old manifests').hideHelp());
}

function fail(message: string): never {
  throw new StartupError(COMPONENT, message);
}

/** pflag's wording for a value a flag refuses. */
function invalid(flag: string, value: string, reason: string): never {
  fail(`invalid argument ${JSON.stringify(value)} for "--${flag}" flag: ${reason}`);
}

function integer(flag: string, text: string, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(text.trim())) invalid(flag, text, 'not an integer');
  const value = Number(text);
  if (value < min || value > max) invalid(flag, text, `must be between ${min} and ${max}`);
  return value;
}

function host(flag: string, text: string, allowEmpty: boolean): string {
  if (text === '' && allowEmpty) return text;
  if (net.isIP(text) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9.])?$/.test(text)) return text;
  invalid(flag, text, 'not an IP address or host name');
}

function boolean(flag: string, value: string | boolean | undefined): boolean {
  if (value === undefined || typeof value === 'boolean') return value ?? false;
  // strconv.ParseBool
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  invalid(flag, value, 'not a boolean');
}

const METRIC_PREFIX = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/;
const RESERVED_PATHS = ['/', '/healthz'];

interface RawOptions {
  probe: string[];
  dnsmasqAddr: string;
  dnsmasqPort: string;
  dnsmasqPollIntervalMs: string;
  prometheusAddr: string;
  prometheusPort: string;
  prometheusPath: string;
  prometheusNamespace: string;
  dnsTimeoutMs: string;
  v: string;
  logFormat?: string;
  version?: string | boolean;
  logtostderr?: string | boolean;
  alsologtostderr?: string | boolean;
}

/**
 * argv (without node and the script) and the environment → the typed configuration. Pure: never exits and
 * never prints; invalid input throws one StartupError naming the flag.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  const output = { out: '', err: '' };
  const command = buildCommand(output);
  let print: string | null = null;
  try {
    command.parse(normalizePflagArgs(argv), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.helpDisplayed') print = output.out;
    else if (error instanceof CommanderError) fail(error.message.replace(/^error: /, '').split('\n')[0]!);
    else throw error;
  }
  const stray = command.args[0];
  if (print === null && stray !== undefined) fail(`unexpected argument ${JSON.stringify(stray)} (flags only)`);
  const o = command.opts<RawOptions>();
  if (print === null && o.version !== undefined) {
    const version = packageVersion();
    print = o.version === 'raw' ? `${JSON.stringify({ gitVersion: version })}\n` : `sidecar ${version}\n`;
  }

  const probes = o.probe.map((spec) => {
    try {
      return parseProbeOption(spec);
    } catch (error) {
      if (error instanceof ProbeOptionError) invalid('probe', spec, error.message);
      throw error;
    }
  });
  const seen = new Set<string>();
  probes.forEach((probe, i) => {
    if (seen.has(probe.label)) invalid('probe', o.probe[i]!, `duplicate label ${JSON.stringify(probe.label)}`);
    seen.add(probe.label);
  });

  const prometheusPath = o.prometheusPath;
  if (!prometheusPath.startsWith('/')) invalid('prometheus-path', prometheusPath, 'must start with /');
  if (RESERVED_PATHS.includes(prometheusPath) || prometheusPath.startsWith('/healthcheck/')) {
    invalid('prometheus-path', prometheusPath, 'collides with the status page or a health endpoint');
  }
  if (!METRIC_PREFIX.test(o.prometheusNamespace)) {
    invalid('prometheus-namespace', o.prometheusNamespace, 'not a valid metric name prefix');
  }
  const logFormat = o.logFormat === undefined || o.logFormat === '' ? null : o.logFormat;
  if (logFormat !== null && logFormat !== 'json' && logFormat !== 'text') {
    invalid('log-format', logFormat, 'must be json or text');
  }
  boolean('logtostderr', o.logtostderr);
  boolean('alsologtostderr', o.alsologtostderr);
  const envFormat = env['LOG_FORMAT'];

  return {
    probes,
    dnsmasqAddr: host('dnsmasq-addr', o.dnsmasqAddr, false),
    dnsmasqPort: integer('dnsmasq-port', o.dnsmasqPort, 1, 65535),
    dnsmasqPollIntervalMs: integer('dnsmasq-poll-interval-ms', o.dnsmasqPollIntervalMs, 0, 2_147_483_647),
    prometheusAddr: host('prometheus-addr', o.prometheusAddr, true),
    prometheusPort: integer('prometheus-port', o.prometheusPort, 0, 65535),
    prometheusPath,
    prometheusNamespace: o.prometheusNamespace,
    dnsTimeoutMs: integer('dns-timeout-ms', o.dnsTimeoutMs, 1, 2_147_483_647),
    verbosity: integer('v', o.v, 0, 100),
    verbositySet: command.getOptionValueSource('v') === 'cli',
    logFormat: logFormat ?? (envFormat === 'json' || envFormat === 'text' ? envFormat : null),
    print,
  };
}

/** The effective configuration as one log object. */
export function describeConfig(config: SidecarConfig): Record<string, unknown> {
  return {
    probes: config.probes.map((p) => `${p.label}: ${p.name} ${p.type} @${p.server} every ${p.intervalMs / 1000}s`),
    dnsmasq: `${config.dnsmasqAddr}:${config.dnsmasqPort}`,
    dnsmasqPollIntervalMs: config.dnsmasqPollIntervalMs,
    http: `${config.prometheusAddr}:${config.prometheusPort}`,
    metricsPath: config.prometheusPath,
    namespace: config.prometheusNamespace,
    dnsTimeoutMs: config.dnsTimeoutMs,
    verbosity: config.verbosity,
  };
}
