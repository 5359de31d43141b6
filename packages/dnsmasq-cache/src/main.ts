import { createWriteStream } from 'node:fs';
import {
  createLogger,
  parseKubeDnsConfig,
  readConfigDir,
  startDnsListener,
  watchConfigDir,
  type ConfigDirSnapshot,
  type ConfigDirWatcher,
  type DnsListener,
  type HttpServerHandle,
  type Logger,
} from '@kube-dns/daemon-kit';
import { CacheServer, type CacheServerObserver } from './cache-server.js';
import { COMPONENT, packageVersion } from './cli.js';
import type { DnsmasqCacheConfig } from './config.js';
import { loadHosts, type HostsTable } from './hosts.js';
import { createCacheMetrics, startMetricsServer } from './metrics.js';
import type { Exchange } from './upstream/forwarder.js';
import { configDirectives, routingResolver } from './upstream/kube-dns-config.js';
import { ResolvWatcher, type ResolvReading } from './upstream/resolv-watch.js';
import { buildRoutingTable } from './upstream/routing.js';
import { composeDirectives, describeDirectives, type ServerSources } from './upstream/server-sources.js';

export interface MainDeps {
  logger?: Logger;
  /** Milliseconds for TTLs and expiry; Date.now by default. */
  clock?: () => number;
  /** How often the resolv file is checked for changes (dnsmasq: once a second). */
  resolvPollMs?: number;
  tcpIdleTimeoutMs?: number;
  observer?: CacheServerObserver;
  exchangeUdp?: Exchange;
  exchangeTcp?: Exchange;
}

export interface DnsmasqCacheHandle {
  /** The DNS port actually bound (the same on every listen address), and the metrics port or null. */
  readonly ports: { dns: number; metrics: number | null };
  readonly listeners: readonly DnsListener[];
  readonly server: CacheServer;
  /** Re-reads `--config-dir` now and resolves when the result is applied (tests; SIGHUP). */
  checkConfigDir(): Promise<void>;
  /** Re-reads the resolv file now if it changed. */
  checkResolv(): Promise<void>;
  /** dnsmasq's SIGHUP: clear the cache and re-read the hosts files. */
  reload(): void;
  /** dnsmasq's SIGUSR1: log the statistics. */
  logStatistics(): void;
  close(): Promise<void>;
}

function makeLogger(config: DnsmasqCacheConfig): Logger {
  const level = config.logDebug ? 'debug' : 'info';
  const format = config.logFormat ?? undefined;
  if (config.logTarget.kind === 'file') {
    const stream = createWriteStream(config.logTarget.path, { flags: 'a' });
    return createLogger({ component: COMPONENT, level, format: format ?? 'json', stream });
  }
  return createLogger({ component: COMPONENT, level, format });
}

/** Starts dnsmasq-cache: hosts, upstream sources (command line, resolv file, ConfigMap folder), listeners. */
export async function main(config: DnsmasqCacheConfig, deps: MainDeps = {}): Promise<DnsmasqCacheHandle> {
  const logger = deps.logger ?? makeLogger(config);
  const version = packageVersion();
  const readHosts = (): HostsTable => {
    const table = loadHosts(config.noHosts ? null : config.hostsFile, config.addnHosts, (path, error) =>
      logger.warn(`failed to load names from ${path}: ${(error as NodeJS.ErrnoException).code ?? error.message}`),
    );
    for (const file of table.loaded) logger.info(`read ${file.path} - ${file.names} names`);
    return table;
  };
  const metrics = config.metricsPort === null ? null : createCacheMetrics();
  const server = new CacheServer({
    config,
    logger,
    clock: deps.clock ?? Date.now,
    hosts: readHosts(),
    version,
    observer: deps.observer ?? metrics?.serverObserver,
    exchangeUdp: deps.exchangeUdp,
    exchangeTcp: deps.exchangeTcp,
  });
  metrics?.attach(server);

  const sources: ServerSources = {
    commandLine: config.servers,
    configStubs: [],
    configUpstreams: [],
    resolv: [],
    noResolv: config.noResolv,
  };
  let described = '';
  const apply = (reason: string | null): void => {
    const directives = composeDirectives(sources);
    const lines = describeDirectives(directives);
    const text = lines.join('\n');
    server.setServers(directives);
    if (text !== described) {
      described = text;
      if (reason !== null) logger.info(reason);
      for (const line of lines) logger.info(line);
      if (config.clearOnReload && reason !== null) server.cache.clear();
    }
  };

  // The resolv file, unless --no-resolv.
  let resolvWatcher: ResolvWatcher | null = null;
  let warnedEmpty = false;
  if (!config.noResolv) {
    resolvWatcher = new ResolvWatcher(config.resolvFiles, (reading: ResolvReading) => {
      if (reading.servers.length === 0) {
        if (!warnedEmpty) logger.warn(`no servers found in ${reading.path}, will retry`);
        warnedEmpty = true;
      } else {
        warnedEmpty = false;
      }
      sources.resolv = reading.servers;
      apply(`reading ${reading.path}`);
    });
    await resolvWatcher.check(true);
    if (!config.noPoll) resolvWatcher.start(deps.resolvPollMs ?? 1000);
  }
  apply(null);

  // The kube-dns ConfigMap folder: stub domains and upstream nameservers, applied live, the cache kept.
  let configWatcher: ConfigDirWatcher | null = null;
  let applying: Promise<void> = Promise.resolve();
  let retryTimer: NodeJS.Timeout | null = null;
  const applySnapshot = async (snapshot: ConfigDirSnapshot): Promise<void> => {
    const parsed = parseKubeDnsConfig(snapshot.data);
    if (!parsed.ok) {
      logger.error(
        `invalid kube-dns ConfigMap in ${config.configDir}, keeping the previous configuration: ${parsed.error}`,
      );
      return;
    }
    const upstreams = parsed.config.upstreamNameservers.map((s) => ({
      kind: 'forward' as const,
      domains: [],
      server: s,
    }));
    const candidate = buildRoutingTable(
      composeDirectives({ ...sources, configStubs: [], configUpstreams: upstreams }),
      new Map(),
    );
    const result = await configDirectives(
      parsed.config,
      routingResolver(() => candidate, config.upstreamTimeoutMs),
    );
    for (const hostname of result.unresolved)
      logger.warn(`could not resolve stub domain server ${hostname}, will retry`);
    sources.configStubs = result.stubs;
    sources.configUpstreams = result.upstreams;
    apply(
      `kube-dns ConfigMap ${snapshot.version === '' ? '(empty)' : snapshot.version.slice(0, 12)}: ` +
        `${parsed.config.stubDomains.length} stub domains, ${parsed.config.upstreamNameservers.length} upstream nameservers`,
    );
    if (retryTimer !== null) clearTimeout(retryTimer);
    retryTimer = null;
    if (result.unresolved.length > 0) {
      retryTimer = setTimeout(() => {
        applying = applying.then(() => applySnapshot(snapshot));
      }, config.configPeriodMs);
      retryTimer.unref();
    }
  };
  if (config.configDir !== null) {
    const dir = config.configDir;
    let initial: ConfigDirSnapshot = { data: {}, version: '' };
    try {
      initial = await readConfigDir(dir);
    } catch (error) {
      logger.error(`cannot read ${dir}: ${(error as Error).message}`);
    }
    await applySnapshot(initial);
    configWatcher = watchConfigDir(
      dir,
      config.configPeriodMs,
      initial.version,
      (snapshot) => {
        applying = applying.then(() => applySnapshot(snapshot));
      },
      (error) => logger.error(`cannot read ${dir}: ${error.message}`),
    );
  }

  const hosts = config.listenAddresses.length > 0 ? config.listenAddresses : ['0.0.0.0'];
  const listeners: DnsListener[] = [];
  let metricsServer: HttpServerHandle | null = null;
  try {
    let port = config.port;
    for (const host of hosts) {
      const listener = await startDnsListener({
        host,
        port,
        handler: server.handle,
        ...(server.udpFastPath !== null ? { udpFastPath: server.udpFastPath } : {}),
        logger: logger.child({ component: `${COMPONENT}/listener` }),
        ednsUdpSize: config.ednsPacketMax,
        recursionAvailable: true,
        maxTcpConnections: config.maxTcpConnections,
        tcpIdleTimeoutMs: deps.tcpIdleTimeoutMs,
        observer: metrics?.listenerObserver,
      });
      listeners.push(listener);
      port = listener.port;
    }
    if (metrics !== null && config.metricsPort !== null) {
      metricsServer = await startMetricsServer(metrics, config.metricsAddress, config.metricsPort, logger);
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    resolvWatcher?.stop();
    configWatcher?.stop();
    throw error;
  }
  const dnsPort = listeners[0]!.port;
  server.startLoopDetection();
  logger.info(`started, version ${version} cachesize ${config.cacheSize}`, {
    listen: hosts.map((host) => `${host}#${dnsPort}`),
    metricsPort: metricsServer?.port ?? null,
  });

  let closed = false;
  return {
    ports: { dns: dnsPort, metrics: metricsServer?.port ?? null },
    listeners,
    server,
    async checkConfigDir() {
      await configWatcher?.check();
      await applying;
    },
    async checkResolv() {
      await resolvWatcher?.check();
    },
    reload() {
      server.cache.clear();
      server.setHosts(readHosts());
    },
    logStatistics() {
      logger.info('statistics', server.statisticsSummary());
    },
    async close() {
      if (closed) return;
      closed = true;
      resolvWatcher?.stop();
      configWatcher?.stop();
      if (retryTimer !== null) clearTimeout(retryTimer);
      await Promise.all([...listeners.map((l) => l.close()), metricsServer?.close()]);
      server.close();
      await applying.catch(() => undefined);
    },
  };
}
