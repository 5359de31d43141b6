import { Command, CommanderError } from 'commander';
import {
  ipFamily,
  isDns1123Label,
  isDns1123Subdomain,
  parseNameserver,
  StartupError,
  type LogFormat,
  type UpstreamServer,
  normalizePflagArgs,
  readPackageVersion,
} from '@kube-dns/daemon-kit';

export type EndpointsApi = 'endpointslices' | 'endpoints';
export type PodRecordsMode = 'disabled' | 'insecure' | 'verified';

export interface MetricsConfig {
  host: string;
  port: number;
  /** PROMETHEUS_PATH, `/metrics`. */
  path: string;
  /** PROMETHEUS_NAMESPACE and PROMETHEUS_SUBSYSTEM (`skydns`, `skydns`): the prefix of the DNS metrics. */
  namespace: string;
  subsystem: string;
}

/** Everything the command line and environment decide, with units applied (ms). */
export interface KubeDnsConfig {
  /** The zone: lower case, no trailing dot (`cluster.local`). */
  domain: string;
  dnsBindAddress: string;
  dnsPort: number;
  healthzBindAddress: string;
  healthzPort: number;
  /** `--kube-master-url` with environment variables expanded, or null. */
  kubeMasterUrl: string | null;
  kubecfgFile: string | null;
  configDir: string | null;
  configPeriodMs: number;
  configMap: string | null;
  configMapNamespace: string;
  initialSyncTimeoutMs: number;
  /** `--nameservers`: when non-empty, wins over the ConfigMap and resolv.conf. */
  nameservers: UpstreamServer[];
  /** The resolv.conf read when neither `--nameservers` nor the ConfigMap name upstreams. */
  resolvConf: string;
  verbosity: number;
  /** Deprecated; validated and otherwise ignored. */
  federations: Map<string, string>;
  /** Accepted for manifest compatibility; Node has no pprof, so it only logs a warning. */
  profiling: boolean;
  endpointsApi: EndpointsApi;
  podRecords: PodRecordsMode;
  ttl: number;
  negativeTtl: number;
  /** SIGTERM → readiness 503, keep answering this long, then close. */
  shutdownGraceMs: number;
  /** null: json unless stderr is a terminal (daemon-kit's default). */
  logFormat: LogFormat | null;
  /** null when PROMETHEUS_PORT is empty or unset (metrics disabled, as the original). */
  metrics: MetricsConfig | null;
  /** `--help` or `--version` was asked for: print this and exit 0 instead of running. */
  print: string | null;
}

const COMPONENT = 'kube-dns';

/** The package version, from package.json next to dist/ (so it cannot drift from the release). */
export const packageVersion = (): string => readPackageVersion(new URL('../package.json', import.meta.url));
const MAX_TTL = 2_147_483_647;

/** Go's time.ParseDuration for non-negative values (`60s`, `1m30s`, `1.5h`, `500ms`, `0`) → milliseconds. */
export function parseGoDuration(text: string): number | null {
  const value = text.trim();
  if (value === '0' || value === '+0') return 0;
  if (!/^\+?(\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))*$/.test(value)) {
    return null;
  }
  const units: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    μs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  let total = 0;
  for (const match of value.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(match[1]) * units[match[2]!]!;
  }
  return Number.isFinite(total) ? total : null;
}

/** os.ExpandEnv: `$NAME` and `${NAME}` are replaced by the variable's value, '' when unset. */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(/\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g, (_, braced?: string, bare?: string) => {
    return env[(braced ?? bare)!] ?? '';
  });
}

function buildCommand(output: { out: string; err: string }): Command {
  const command = new Command('kube-dns')
    .description('kube-dns: authoritative cluster DNS answered from memory, fed by a watch on the Kubernetes apiserver')
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => (output.out += text),
      writeErr: (text) => (output.err += text),
      outputError: () => undefined,
    })
    .option('--domain <domain>', 'domain under which to create names', 'cluster.local.')
    .option('--dns-bind-address <ip>', 'address on which to serve DNS requests', '0.0.0.0')
    .option('--dns-port <port>', 'port on which to serve DNS requests (UDP and TCP)', '53')
    .option('--healthz-bind-address <ip>', 'address of the /readiness and /healthz server (added)', '0.0.0.0')
    .option('--healthz-port <port>', 'port on which to serve the /readiness probe', '8081')
    .option('--kube-master-url <url>', 'URL to reach the apiserver; environment variables are expanded')
    .option('--kubecfg-file <path>', 'kubeconfig file; --kube-master-url overrides its server')
    .option('--config-dir <dir>', 'folder of a mounted kube-dns ConfigMap, polled every --config-period')
    .option('--config-period <duration>', 'poll period for --config-dir', '10s')
    .option('--config-map <name>', 'ConfigMap watched through the API (not with --config-dir)')
    .option('--config-map-namespace <ns>', 'namespace of --config-map', 'kube-system')
    .option('--initial-sync-timeout <duration>', 'exit if the first list of every kind takes longer', '60s')
    .option('--nameservers <list>', 'upstream nameservers ip[:port],…; win over the ConfigMap and resolv.conf')
    .option('--resolv-conf <path>', 'resolv.conf read when no other upstream is configured (added)', '/etc/resolv.conf')
    .option('-v, --v <level>', 'log verbosity (0-3 info, 4+ debug)', '0')
    .option('--federations <list>', 'deprecated: name=domain,… (validated, otherwise ignored)')
    .option('--profiling [bool]', 'accepted for compatibility; Node has no pprof endpoint', 'false')
    .option('--version [raw]', 'print the version and exit')
    .option('--endpoints-api <api>', 'endpointslices (discovery.k8s.io/v1) or endpoints (v1) (added)', 'endpointslices')
    .option('--pod-records <mode>', 'disabled, insecure or verified (added)', 'insecure')
    .option('--ttl <seconds>', 'TTL of every record made from cluster data (added)', '30')
    .option('--negative-ttl <seconds>', 'SOA minimum and TTL of negative answers (added)', '5')
    .option('--shutdown-grace <duration>', 'after SIGTERM, keep answering this long with readiness 503 (added)', '5s')
    .option('--log-format <format>', 'json or text; default json unless stderr is a terminal (added)');
  return command;
}

function fail(message: string): never {
  throw new StartupError(COMPONENT, message);
}

function port(flag: string, text: string): number {
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) > 65535) fail(`--${flag}: invalid port "${text}"`);
  return Number(text);
}

function duration(flag: string, text: string): number {
  const ms = parseGoDuration(text);
  if (ms === null) fail(`--${flag}: invalid duration "${text}" (Go syntax, e.g. 60s, 1m30s, 500ms)`);
  return ms;
}

function seconds(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > MAX_TTL) {
    fail(`--${flag}: invalid value "${text}" (whole seconds, ${min}-${MAX_TTL})`);
  }
  return Number(text);
}

function boolean(flag: string, text: string | boolean): boolean {
  if (typeof text === 'boolean') return text;
  // strconv.ParseBool
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  fail(`--${flag}: invalid boolean "${text}"`);
}

function ipAddress(flag: string, text: string): string {
  if (ipFamily(text) === 0) fail(`--${flag}: invalid IP address "${text}"`);
  return text;
}

/** `--domain`: each label a DNS-1123 label; stored without the trailing dot. */
function clusterDomain(text: string): string {
  const domain = text.trim().toLowerCase().replace(/\.$/, '');
  for (const label of domain.split('.')) {
    if (!isDns1123Label(label)) fail(`--domain: "${text}" is not a valid domain ("${label}" is not a DNS-1123 label)`);
  }
  return domain;
}

function masterUrl(text: string, env: NodeJS.ProcessEnv): string | null {
  if (text === '') return null;
  const expanded = expandEnv(text, env);
  let url: URL;
  try {
    url = new URL(expanded);
  } catch {
    fail(`--kube-master-url: invalid URL "${expanded}"`);
  }
  if (url.hostname === '' || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    fail(`--kube-master-url: "${expanded}" needs an http:// or https:// scheme and a host`);
  }
  return expanded;
}

function nameserverList(text: string): UpstreamServer[] {
  if (text.trim() === '') return [];
  return text.split(',').map((entry) => {
    const server = parseNameserver(entry);
    if (!server) fail(`--nameservers: invalid nameserver "${entry}" (ip or ip:port)`);
    return server;
  });
}

function federationList(text: string): Map<string, string> {
  const federations = new Map<string, string>();
  if (text.trim() === '') return federations;
  for (const pair of text.split(',')) {
    const [name, domain, extra] = pair.trim().split('=');
    if (extra !== undefined || !name || !domain || !isDns1123Label(name) || !isDns1123Subdomain(domain)) {
      fail(`--federations: invalid entry "${pair}" (name=domain)`);
    }
    federations.set(name, domain);
  }
  return federations;
}

function oneOf<T extends string>(flag: string, text: string, values: readonly T[]): T {
  if (!(values as readonly string[]).includes(text)) fail(`--${flag}: "${text}" is not one of ${values.join(', ')}`);
  return text as T;
}

function metricsConfig(env: NodeJS.ProcessEnv, host: string): MetricsConfig | null {
  const portText = env['PROMETHEUS_PORT'] ?? '';
  if (portText === '') return null;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    fail(`PROMETHEUS_PORT: invalid port "${portText}"`);
  }
  const path = env['PROMETHEUS_PATH'] || '/metrics';
  if (!path.startsWith('/')) fail(`PROMETHEUS_PATH: "${path}" must start with /`);
  const name = /^[a-zA-Z_][a-zA-Z0-9_]*$|^$/;
  const namespace = env['PROMETHEUS_NAMESPACE'] ?? 'skydns';
  const subsystem = env['PROMETHEUS_SUBSYSTEM'] ?? 'skydns';
  if (!name.test(namespace)) fail(`PROMETHEUS_NAMESPACE: "${namespace}" is not a metric name prefix`);
  if (!name.test(subsystem)) fail(`PROMETHEUS_SUBSYSTEM: "${subsystem}" is not a metric name prefix`);
  return { host, port: Number(portText), path, namespace, subsystem };
}

interface RawOptions {
  domain: string;
  dnsBindAddress: string;
  dnsPort: string;
  healthzBindAddress: string;
  healthzPort: string;
  kubeMasterUrl?: string;
  kubecfgFile?: string;
  configDir?: string;
  configPeriod: string;
  configMap?: string;
  configMapNamespace: string;
  initialSyncTimeout: string;
  nameservers?: string;
  resolvConf: string;
  v: string;
  federations?: string;
  profiling: string | boolean;
  version?: string | boolean;
  endpointsApi: string;
  podRecords: string;
  ttl: string;
  negativeTtl: string;
  shutdownGrace: string;
  logFormat?: string;
}

/**
 * argv (without node and the script) and the environment → the typed configuration. Pure: never exits and
 * never prints; invalid input throws one StartupError naming the flag.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): KubeDnsConfig {
  const output = { out: '', err: '' };
  const command = buildCommand(output);
  let print: string | null = null;
  try {
    command.parse(normalizePflagArgs(argv), { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.helpDisplayed') {
      print = output.out;
    } else if (error instanceof CommanderError) {
      fail(error.message.replace(/^error: /, '').split('\n')[0]!);
    } else {
      throw error;
    }
  }
  const stray = command.args[0];
  if (print === null && stray !== undefined) fail(`unexpected argument "${stray}" (flags only)`);
  const o = command.opts<RawOptions>();
  if (print === null && o.version !== undefined) {
    const version = packageVersion();
    print = o.version === 'raw' ? `${JSON.stringify({ gitVersion: version })}\n` : `kube-dns ${version}\n`;
  }

  const configDir = (o.configDir ?? '') === '' ? null : o.configDir!;
  const configMap = (o.configMap ?? '') === '' ? null : o.configMap!;
  if (configDir !== null && configMap !== null) fail('--config-dir and --config-map cannot be used together');
  if (configMap !== null && !isDns1123Subdomain(configMap)) fail(`--config-map: invalid name "${configMap}"`);
  if (!isDns1123Label(o.configMapNamespace)) {
    fail(`--config-map-namespace: invalid namespace "${o.configMapNamespace}"`);
  }
  if (!/^\d+$/.test(o.v.trim())) fail(`--v: invalid verbosity "${o.v}" (a number)`);
  const configPeriodMs = duration('config-period', o.configPeriod);
  if (configPeriodMs <= 0) fail('--config-period: must be positive');
  const logFormat = (o.logFormat ?? '') === '' ? null : oneOf('log-format', o.logFormat!, ['json', 'text'] as const);
  const healthzBindAddress = ipAddress('healthz-bind-address', o.healthzBindAddress);

  return {
    domain: clusterDomain(o.domain),
    dnsBindAddress: ipAddress('dns-bind-address', o.dnsBindAddress),
    dnsPort: port('dns-port', o.dnsPort),
    healthzBindAddress,
    healthzPort: port('healthz-port', o.healthzPort),
    kubeMasterUrl: masterUrl(o.kubeMasterUrl ?? '', env),
    kubecfgFile: (o.kubecfgFile ?? '') === '' ? null : o.kubecfgFile!,
    configDir,
    configPeriodMs,
    configMap,
    configMapNamespace: o.configMapNamespace,
    initialSyncTimeoutMs: duration('initial-sync-timeout', o.initialSyncTimeout),
    nameservers: nameserverList(o.nameservers ?? ''),
    resolvConf: o.resolvConf,
    verbosity: Number(o.v),
    federations: federationList(o.federations ?? ''),
    profiling: boolean('profiling', o.profiling),
    endpointsApi: oneOf('endpoints-api', o.endpointsApi, ['endpointslices', 'endpoints'] as const),
    podRecords: oneOf('pod-records', o.podRecords, ['disabled', 'insecure', 'verified'] as const),
    ttl: seconds('ttl', o.ttl, 0),
    negativeTtl: seconds('negative-ttl', o.negativeTtl, 0),
    shutdownGraceMs: duration('shutdown-grace', o.shutdownGrace),
    logFormat,
    metrics: metricsConfig(env, healthzBindAddress),
    print,
  };
}

/**
 * The effective configuration as one log object: everything an operator needs to see, and never secrets
 * (the kubeconfig is named by path, never read here; the master URL loses any user:password).
 */
export function describeConfig(config: KubeDnsConfig): Record<string, unknown> {
  let master: string | null = null;
  if (config.kubeMasterUrl !== null) {
    const url = new URL(config.kubeMasterUrl);
    url.username = '';
    url.password = '';
    url.search = '';
    master = url.toString();
  }
  return {
    domain: `${config.domain}.`,
    dnsAddress: `${config.dnsBindAddress}:${config.dnsPort}`,
    healthzAddress: `${config.healthzBindAddress}:${config.healthzPort}`,
    apiserver: master ?? (config.kubecfgFile === null ? 'in-cluster service account' : 'from kubeconfig'),
    kubecfgFile: config.kubecfgFile,
    configSource:
      config.configDir !== null
        ? `dir ${config.configDir} every ${config.configPeriodMs / 1000}s`
        : config.configMap !== null
          ? `configmap ${config.configMapNamespace}/${config.configMap}`
          : 'none',
    initialSyncTimeoutSeconds: config.initialSyncTimeoutMs / 1000,
    nameservers: config.nameservers.map((s) => `${s.host}:${s.port}`),
    resolvConf: config.resolvConf,
    verbosity: config.verbosity,
    endpointsApi: config.endpointsApi,
    podRecords: config.podRecords,
    ttl: config.ttl,
    negativeTtl: config.negativeTtl,
    shutdownGraceSeconds: config.shutdownGraceMs / 1000,
    metrics:
      config.metrics === null ? 'disabled' : `${config.metrics.host}:${config.metrics.port}${config.metrics.path}`,
  };
}
