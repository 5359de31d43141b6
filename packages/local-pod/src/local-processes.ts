import { isIPv4 } from 'node:net';
import { formatServer, StartupError, type UpstreamServer } from '@kube-dns/daemon-kit';
import { parseCommandLine as parseCacheArgs } from '@kube-dns/dnsmasq-cache/cli';
import type { DnsmasqCacheConfig, ServerDirective } from '@kube-dns/dnsmasq-cache/config';
import { parseServerSpec } from '@kube-dns/dnsmasq-cache/cli/server-spec';
import { parseCommandLine as parseKubeDnsArgs, type KubeDnsConfig } from '@kube-dns/kubedns/cli';
import { parseCommandLine as parseSidecarArgs, type SidecarConfig } from '@kube-dns/sidecar/cli';
import { COMPONENT } from './cli.js';
import { formatDuration } from './durations.js';
import { mapFlagValues, withFlag, withoutFlag } from './flag-args.js';
import type { PodContainer, Program } from './pod-manifest.js';
import type { PortPlan } from './port-plan.js';

/** What the local run changes in the Pod's arguments. */
export interface LocalSettings {
  ports: PortPlan;
  /** IPv4 address every server binds; 0.0.0.0 means all. */
  bindAddress: string;
  /** Given to kube-dns as --kubecfg-file (instead of the in-cluster service account). */
  kubeconfig: string;
  /** Stands in for the mounted ConfigMap folder (/kube-dns-config, /etc/k8s/dns/dnsmasq-nanny). */
  configDir: string;
  /** Instead of /etc/resolv.conf, when not empty. */
  upstreams: readonly UpstreamServer[];
  shutdownGraceMs: number;
  /** The environment the processes inherit, under each container's own `env`. */
  baseEnv: NodeJS.ProcessEnv;
}

/** One process to start: the container's program with local arguments. */
export interface LocalProcess {
  program: Program;
  container: string;
  bin: string;
  args: string[];
  /** The container's env with local values (the child inherits `baseEnv` under it). */
  env: Record<string, string>;
}

export interface HostPort {
  host: string;
  port: number;
}

/** Where the running Pod can be reached, read back from the local arguments with each program's own parser. */
export interface PodEndpoints {
  /** The cluster domain, no trailing dot. */
  domain: string;
  /** The Pod's DNS service: dnsmasq-cache. */
  dns: HostPort;
  kubeDns: HostPort;
  readinessUrl: string;
  kubeDnsMetricsUrl: string | null;
  sidecarMetricsUrl: string;
  healthchecks: Array<{ label: string; url: string }>;
}

/** One row of the port table: a port in the Pod and where it is here. */
export interface PortRow {
  program: Program;
  what: string;
  podPort: number;
  localPort: number;
}

export interface LocalPod {
  processes: LocalProcess[];
  endpoints: PodEndpoints;
  ports: PortRow[];
}

function fail(message: string): never {
  throw new StartupError(COMPONENT, message);
}

/** Parses with a program's own CLI, naming the container when the manifest's arguments do not parse. */
function parsed<T>(container: PodContainer, parse: () => T, what: string): T {
  try {
    return parse();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return fail(`${what} arguments of container ${container.name} do not parse: ${message}`);
  }
}

const kubeDnsConfig = (c: PodContainer, args: string[], env: NodeJS.ProcessEnv, what: string): KubeDnsConfig =>
  parsed(c, () => parseKubeDnsArgs(args, env), what);
const cacheConfig = (c: PodContainer, args: string[], env: NodeJS.ProcessEnv, what: string): DnsmasqCacheConfig =>
  parsed(c, () => parseCacheArgs(args, env), what);
const sidecarConfig = (c: PodContainer, args: string[], env: NodeJS.ProcessEnv, what: string): SidecarConfig =>
  parsed(c, () => parseSidecarArgs(args, env), what);

const isLoopback = (host: string): boolean => host === 'localhost' || (isIPv4(host) && host.startsWith('127.'));

function find(containers: readonly PodContainer[], program: Program): PodContainer {
  const container = containers.find((c) => c.program === program);
  if (!container) fail(`the Pod has no ${program} container`);
  return container;
}

/** Every port the Pod's processes listen on, as the manifest says (read with each program's own CLI). */
export function podPorts(containers: readonly PodContainer[], baseEnv: NodeJS.ProcessEnv = {}): number[] {
  const kd = find(containers, 'kube-dns');
  const kdConfig = kubeDnsConfig(kd, kd.args, { ...baseEnv, ...kd.env }, 'the manifest');
  const cache = find(containers, 'dnsmasq-cache');
  const cacheCfg = cacheConfig(cache, cache.args, { ...baseEnv, ...cache.env }, 'the manifest');
  const sc = find(containers, 'sidecar');
  const scConfig = sidecarConfig(sc, sc.args, { ...baseEnv, ...sc.env }, 'the manifest');
  const ports = [kdConfig.dnsPort, kdConfig.healthzPort, cacheCfg.port, scConfig.prometheusPort];
  if (kdConfig.metrics) ports.push(kdConfig.metrics.port);
  if (cacheCfg.metricsPort !== null) ports.push(cacheCfg.metricsPort);
  return ports;
}

/**
 * The Pod's containers as local processes: the same arguments, with the ports moved by the plan (also where one
 * container reaches another over 127.0.0.1: the cache's `--server=/…/127.0.0.1#10053`, the sidecar's probes and
 * `--dnsmasq-port`), the bind address, kube-dns's kubeconfig, the local config folder, optional upstreams,
 * the lame-duck grace, and JSON logs for the relay. The result is parsed again with each program's CLI and
 * checked, so an argument the editing missed is an error here rather than a process on the wrong port.
 */
export function localPod(containers: readonly PodContainer[], settings: LocalSettings): LocalPod {
  const local = (port: number): number => settings.ports.get(port) ?? port;
  const connectHost = settings.bindAddress === '0.0.0.0' ? '127.0.0.1' : settings.bindAddress;
  const grace = formatDuration(settings.shutdownGraceMs);
  const rows: PortRow[] = [];
  const row = (program: Program, what: string, podPort: number): void => {
    rows.push({ program, what, podPort, localPort: local(podPort) });
  };

  // kube-dns
  const kd = find(containers, 'kube-dns');
  const kdPod = kubeDnsConfig(kd, kd.args, { ...settings.baseEnv, ...kd.env }, 'the manifest');
  let kdArgs = [...kd.args];
  const kdEnv = { ...kd.env };
  kdArgs = withFlag(kdArgs, { long: 'dns-port' }, String(local(kdPod.dnsPort)));
  kdArgs = withFlag(kdArgs, { long: 'healthz-port' }, String(local(kdPod.healthzPort)));
  kdArgs = withFlag(kdArgs, { long: 'dns-bind-address' }, settings.bindAddress);
  kdArgs = withFlag(kdArgs, { long: 'healthz-bind-address' }, settings.bindAddress);
  kdArgs = withoutFlag(kdArgs, { long: 'kube-master-url' });
  kdArgs = withFlag(kdArgs, { long: 'kubecfg-file' }, settings.kubeconfig);
  if (kdPod.configDir !== null) kdArgs = withFlag(kdArgs, { long: 'config-dir' }, settings.configDir);
  if (settings.upstreams.length > 0) {
    kdArgs = withFlag(kdArgs, { long: 'nameservers' }, settings.upstreams.map((s) => formatServer(s)).join(','));
  }
  kdArgs = withFlag(kdArgs, { long: 'shutdown-grace' }, grace);
  kdArgs = withFlag(kdArgs, { long: 'log-format' }, 'json');
  if (kdPod.metrics) kdEnv['PROMETHEUS_PORT'] = String(local(kdPod.metrics.port));
  row('kube-dns', 'DNS (UDP+TCP)', kdPod.dnsPort);
  row('kube-dns', '/readiness', kdPod.healthzPort);
  if (kdPod.metrics) row('kube-dns', kdPod.metrics.path, kdPod.metrics.port);

  // dnsmasq-cache
  const cache = find(containers, 'dnsmasq-cache');
  const cachePod = cacheConfig(cache, cache.args, { ...settings.baseEnv, ...cache.env }, 'the manifest');
  const localServerSpec = (spec: string): string => {
    const directive = parseServerSpec(spec);
    if (typeof directive === 'string' || directive.kind !== 'forward') return spec;
    if (!isLoopback(directive.server.host)) return spec;
    const domains = spec.startsWith('/') ? spec.slice(0, spec.lastIndexOf('/') + 1) : '';
    return `${domains}${connectHost}#${local(directive.server.port)}`;
  };
  let cacheArgs = [...cache.args];
  const cacheEnv = { ...cache.env, LOG_FORMAT: 'json' };
  cacheArgs = withFlag(cacheArgs, { long: 'port', short: 'p' }, String(local(cachePod.port)));
  cacheArgs = withFlag(cacheArgs, { long: 'listen-address', short: 'a' }, settings.bindAddress);
  cacheArgs = mapFlagValues(cacheArgs, { long: 'server', short: 'S' }, localServerSpec);
  cacheArgs = mapFlagValues(cacheArgs, { long: 'local' }, localServerSpec);
  if (cachePod.configDir !== null) cacheArgs = withFlag(cacheArgs, { long: 'config-dir' }, settings.configDir);
  if (cachePod.metricsPort !== null) {
    cacheArgs = withFlag(cacheArgs, { long: 'metrics-port' }, String(local(cachePod.metricsPort)));
    cacheArgs = withFlag(cacheArgs, { long: 'metrics-address' }, settings.bindAddress);
  }
  if (settings.upstreams.length > 0) {
    cacheArgs.push('--no-resolv', ...settings.upstreams.map((s) => `--server=${formatServer(s, '#')}`));
  }
  cacheArgs = withFlag(cacheArgs, { long: 'shutdown-grace' }, grace);
  row('dnsmasq-cache', 'DNS (UDP+TCP)', cachePod.port);
  if (cachePod.metricsPort !== null) row('dnsmasq-cache', '/metrics', cachePod.metricsPort);

  // sidecar
  const sc = find(containers, 'sidecar');
  const scPod = sidecarConfig(sc, sc.args, { ...settings.baseEnv, ...sc.env }, 'the manifest');
  const localProbe = (spec: string): string => {
    const [label, server, ...rest] = spec.split(',');
    if (label === undefined || server === undefined) return spec;
    const colon = server.lastIndexOf(':');
    const host = colon < 0 ? server : server.slice(0, colon);
    const port = colon < 0 ? 53 : Number(server.slice(colon + 1));
    if (!isLoopback(host) || !Number.isInteger(port)) return spec;
    return [label, `${connectHost}:${local(port)}`, ...rest].join(',');
  };
  let scArgs = mapFlagValues(sc.args, { long: 'probe' }, localProbe);
  if (isLoopback(scPod.dnsmasqAddr)) {
    scArgs = withFlag(scArgs, { long: 'dnsmasq-addr' }, connectHost);
    scArgs = withFlag(scArgs, { long: 'dnsmasq-port' }, String(local(scPod.dnsmasqPort)));
  }
  scArgs = withFlag(scArgs, { long: 'prometheus-port' }, String(local(scPod.prometheusPort)));
  scArgs = withFlag(scArgs, { long: 'prometheus-addr' }, settings.bindAddress);
  scArgs = withFlag(scArgs, { long: 'log-format' }, 'json');
  const scEnv = { ...sc.env };
  row('sidecar', `${scPod.prometheusPath}, /healthcheck/*`, scPod.prometheusPort);

  // Read everything back with the programs' own parsers and check it.
  const kdLocal = kubeDnsConfig(kd, kdArgs, { ...settings.baseEnv, ...kdEnv }, 'the local');
  const cacheLocal = cacheConfig(cache, cacheArgs, { ...settings.baseEnv, ...cacheEnv }, 'the local');
  const scLocal = sidecarConfig(sc, scArgs, { ...settings.baseEnv, ...scEnv }, 'the local');
  const check = (ok: boolean, what: string): void => {
    if (!ok) fail(`cannot run the manifest's Pod locally: ${what} (unexpected flag spelling in the manifest?)`);
  };
  check(kdLocal.dnsPort === local(kdPod.dnsPort), `kube-dns --dns-port is ${kdLocal.dnsPort}`);
  check(kdLocal.healthzPort === local(kdPod.healthzPort), `kube-dns --healthz-port is ${kdLocal.healthzPort}`);
  check(kdLocal.kubecfgFile === settings.kubeconfig && kdLocal.kubeMasterUrl === null, 'kube-dns has no kubeconfig');
  check(cacheLocal.port === local(cachePod.port), `dnsmasq-cache --port is ${cacheLocal.port}`);
  // Where one container reaches another: exactly the manifest's targets, moved.
  const moved = (host: string, port: number): string =>
    isLoopback(host) ? `${connectHost}#${local(port)}` : `${host}#${port}`;
  const serverText = (d: ServerDirective): string =>
    d.kind === 'forward'
      ? `${d.domains.join('/')}@${moved(d.server.host, d.server.port)}`
      : `${d.domains.join('/')}@${d.kind}`;
  const expectedServers = [
    ...cachePod.servers.map(serverText),
    ...settings.upstreams.map((s) => `@${s.host}#${s.port}`),
  ].sort();
  const servers = cacheLocal.servers.map((d) =>
    d.kind === 'forward' ? `${d.domains.join('/')}@${d.server.host}#${d.server.port}` : serverText(d),
  );
  check(
    JSON.stringify(servers.sort()) === JSON.stringify(expectedServers),
    `dnsmasq-cache --server targets are ${servers.join(', ')}, not ${expectedServers.join(', ')}`,
  );
  const probes = scLocal.probes.map((p) => `${p.label}@${p.host}#${p.port}`);
  const expectedProbes = scPod.probes.map((p) => `${p.label}@${moved(p.host, p.port)}`);
  check(
    JSON.stringify(probes) === JSON.stringify(expectedProbes),
    `sidecar probes target ${probes.join(', ')}, not ${expectedProbes.join(', ')}`,
  );
  if (isLoopback(scPod.dnsmasqAddr)) check(scLocal.dnsmasqPort === cacheLocal.port, 'sidecar --dnsmasq-port');

  const url = (port: number, path: string): string => `http://${connectHost}:${port}${path}`;
  const endpoints: PodEndpoints = {
    domain: kdLocal.domain,
    dns: { host: connectHost, port: cacheLocal.port },
    kubeDns: { host: connectHost, port: kdLocal.dnsPort },
    readinessUrl: url(kdLocal.healthzPort, '/readiness'),
    kubeDnsMetricsUrl: kdLocal.metrics ? url(kdLocal.metrics.port, kdLocal.metrics.path) : null,
    sidecarMetricsUrl: url(scLocal.prometheusPort, scLocal.prometheusPath),
    healthchecks: scLocal.probes.map((p) => ({
      label: p.label,
      url: url(scLocal.prometheusPort, `/healthcheck/${p.label}`),
    })),
  };
  const processes: LocalProcess[] = [
    { program: 'kube-dns', container: kd.name, bin: kd.bin, args: kdArgs, env: kdEnv },
    { program: 'dnsmasq-cache', container: cache.name, bin: cache.bin, args: cacheArgs, env: cacheEnv },
    { program: 'sidecar', container: sc.name, bin: sc.bin, args: scArgs, env: scEnv },
  ];
  // Keep the manifest's container order (it is the order a kubelet starts them in).
  processes.sort(
    (a, b) => containers.indexOf(find(containers, a.program)) - containers.indexOf(find(containers, b.program)),
  );
  return { processes, endpoints, ports: rows };
}
