import { collectDefaultMetrics, type Registry } from 'prom-client';
import {
  createLogger,
  levelFromVerbosity,
  metricsRoute,
  startHttpServer,
  StartupError,
  type HttpRoute,
  type HttpServerHandle,
  type Logger,
} from '@kube-dns/daemon-kit';
import { fetchCacheStats } from './cache-stats.js';
import { createCacheStatsMonitor, type CacheStatsMonitor, type CacheStatsStatus } from './cache-stats-monitor.js';
import { COMPONENT, describeConfig, packageVersion, type SidecarConfig } from './cli.js';
import { systemClock, type Clock } from './clock.js';
import { createDnsProbe, type DnsProbe, type ProbeStatus } from './dns-probe.js';
import { healthcheckReply, healthzReply } from './health.js';
import {
  CACHE_STATS,
  createDnsmasqMetrics,
  createMetricsRegistry,
  createProbeMetrics,
  type DnsmasqMetrics,
} from './metrics.js';
import { systemResolver, type HostResolver } from './resolve-host.js';
import { renderStatusPage } from './status-page.js';

export interface SidecarDeps {
  /** Where the metrics go; a fresh one by default. Never the global registry. */
  registry?: Registry;
  /** Add prom-client's process_* and nodejs_* metrics to the registry (default true). */
  defaultMetrics?: boolean;
  logger?: Logger;
  clock?: Clock;
  /** [0, 1): the random share of each probe's interval before its first run. */
  random?: () => number;
  resolveHost?: HostResolver;
  /** Seconds between reloads of the status page. */
  statusPageRefreshSeconds?: number;
}

export interface SidecarHandle {
  /** The HTTP port actually bound (useful with `--prometheus-port=0`). */
  readonly port: number;
  readonly host: string;
  readonly registry: Registry;
  probeStatus(label: string): ProbeStatus | undefined;
  cacheStatus(): CacheStatsStatus;
  /** Stops the probes and the poll, closes the HTTP server. */
  close(): Promise<void>;
}

/**
 * Starts the sidecar: the HTTP server first (a port that cannot be bound is a startup error), then the
 * probes and the statistics poll.
 */
export async function main(config: SidecarConfig, deps: SidecarDeps = {}): Promise<SidecarHandle> {
  const logger =
    deps.logger ??
    createLogger({
      component: COMPONENT,
      ...(config.verbositySet ? { level: levelFromVerbosity(config.verbosity) } : {}),
      ...(config.logFormat !== null ? { format: config.logFormat } : {}),
    });
  const clock = deps.clock ?? systemClock;
  const registry = deps.registry ?? createMetricsRegistry();
  const resolveHost = deps.resolveHost ?? systemResolver;
  const namespace = config.prometheusNamespace;
  const version = packageVersion();
  const startedAt = clock.wallNow();

  let dnsmasqMetrics: DnsmasqMetrics;
  const probes: DnsProbe[] = [];
  try {
    if (deps.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
    dnsmasqMetrics = createDnsmasqMetrics(registry, namespace);
    for (const option of config.probes) {
      probes.push(
        createDnsProbe(option, {
          clock,
          random: deps.random ?? Math.random,
          resolveHost,
          timeoutMs: config.dnsTimeoutMs,
          metrics: createProbeMetrics(registry, namespace, option.label),
          logger,
        }),
      );
    }
  } catch (error) {
    throw new StartupError(COMPONENT, `cannot register metrics: ${(error as Error).message}`, { cause: error });
  }

  const cache: CacheStatsMonitor = createCacheStatsMonitor({
    host: config.dnsmasqAddr,
    port: config.dnsmasqPort,
    intervalMs: config.dnsmasqPollIntervalMs,
    timeoutMs: config.dnsTimeoutMs,
    clock,
    resolveHost,
    fetch: fetchCacheStats,
    metrics: dnsmasqMetrics,
    logger: logger.child({ poll: 'dnsmasq' }),
  });

  const routes: HttpRoute[] = [
    metricsRoute(registry, config.prometheusPath),
    { path: '/healthz', handle: () => healthzReply(clock.wallNow()) },
    ...probes.map((probe) => ({ path: `/healthcheck/${probe.label}`, handle: () => healthcheckReply(probe.status()) })),
    {
      path: '/',
      handle: async () => {
        const exported = { errors: await counterValue(dnsmasqMetrics.errors) } as Record<string, number>;
        for (const stat of CACHE_STATS) exported[stat] = await counterValue(dnsmasqMetrics.counters[stat]);
        const body = renderStatusPage({
          version,
          nowMs: clock.wallNow(),
          startedAtMs: startedAt,
          probes: probes.map((probe) => probe.status()),
          cache: cache.status(),
          exported: exported as Record<(typeof CACHE_STATS)[number] | 'errors', number>,
          metricsPath: config.prometheusPath,
          refreshSeconds: deps.statusPageRefreshSeconds ?? 5,
        });
        return { status: 200, body, contentType: 'text/html; charset=utf-8' };
      },
    },
  ];

  const http = await listen(config, routes, logger);
  logger.info('sidecar started', { version, ...describeConfig(config), port: http.port });
  for (const probe of probes) probe.start();
  cache.start();

  let closed: Promise<void> | null = null;
  return {
    port: http.port,
    host: config.prometheusAddr,
    registry,
    probeStatus: (label) => probes.find((probe) => probe.label === label)?.status(),
    cacheStatus: () => cache.status(),
    close() {
      closed ??= (async () => {
        for (const probe of probes) probe.stop();
        cache.stop();
        await http.close();
      })();
      return closed;
    },
  };
}

/**
 * Binds the HTTP server. The default `0.0.0.0` means every address, IPv6 included, as Go's listener
 * gives the original: kubelet probes the Pod IP, which is IPv6 in single-stack IPv6 clusters. Without
 * IPv6 on the host it falls back to IPv4 only.
 */
async function listen(config: SidecarConfig, routes: HttpRoute[], logger: Logger): Promise<HttpServerHandle> {
  const wildcard = config.prometheusAddr === '0.0.0.0' || config.prometheusAddr === '';
  const attempt = (host: string): Promise<HttpServerHandle> =>
    startHttpServer({ host, port: config.prometheusPort, routes, logger });
  try {
    if (!wildcard) return await attempt(config.prometheusAddr);
    try {
      return await attempt('::');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
      return await attempt('0.0.0.0');
    }
  } catch (error) {
    throw new StartupError(
      COMPONENT,
      `cannot serve HTTP on ${config.prometheusAddr}:${config.prometheusPort}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

async function counterValue(counter: { get(): Promise<{ values: { value: number }[] }> }): Promise<number> {
  return (await counter.get()).values[0]?.value ?? 0;
}
