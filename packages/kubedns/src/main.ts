import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  delay,
  metricsRoute,
  startDnsListener,
  startHttpServer,
  StartupError,
  type DnsHandler,
  type DnsListener,
  type DnsListenerObserver,
  type HttpServerHandle,
  type UdpFastPath,
  type Logger,
  type ResolvConf,
  silentLogger,
} from '@kube-dns/daemon-kit';
import { describeConfig, packageVersion, type KubeDnsConfig } from './cli.js';
import { startConfigSource, type ConfigSource, type ForwardingSettings } from './config.js';
import type { ClusterStateWriter } from './model.js';
import { createKubeDnsAnswerer } from './dns-handler.js';
import { createDnsMetrics } from './dns-metrics.js';
import { Forwarder } from './forward/forwarder.js';
import { createReadiness, type ReadinessState } from './readiness.js';
import { storeAddressLookup } from './resolver/local-addresses.js';
import { RecordStore } from './store/record-store.js';
import { createApiLists } from './watch/api-lists.js';
import { startClusterWatch, type ClusterWatch } from './watch/cluster-watch.js';
import { startConfigMapWatch } from './watch/config-map-watch.js';
import type { WatchTiming } from './watch/informer.js';
import { describeServer, loadKubeConfig } from './watch/kube-config.js';
import { createWatchMetrics, metricPrefix } from './watch-metrics.js';

/** The answering side: the store the watch fills, the DNS handler reading it, and forwarding. */
export interface Answers {
  writer: ClusterStateWriter;
  handler: DnsHandler;
  /** Tried first for every UDP query (daemon-kit UdpFastPath): pre-encoded answers from the raw question. */
  udpFastPath?: UdpFastPath;
  observer?: DnsListenerObserver;
  /** Upstreams and stub domains, pushed at startup and on every accepted ConfigMap change. */
  setForwarding(settings: ForwardingSettings): void;
  /** The first sync is complete (stub servers named inside the zone can be resolved now). */
  onSynced?(): void;
  close?(): Promise<void> | void;
}

export interface AnswersOptions {
  config: KubeDnsConfig;
  registry: Registry;
  /** Metric name prefix from PROMETHEUS_NAMESPACE/PROMETHEUS_SUBSYSTEM (`skydns_skydns_`). */
  metricPrefix: string;
  logger: Logger;
}

export type AnswersFactory = (options: AnswersOptions) => Answers;

/** The real answering side: RecordStore, the kube-dns handler, the Forwarder and the skydns metrics. */
export const defaultAnswers: AnswersFactory = ({ config, registry, metricPrefix: prefix, logger }) => {
  const store = new RecordStore({
    zone: config.domain,
    ttl: config.ttl,
    negativeTtl: config.negativeTtl,
    podRecords: config.podRecords,
  });
  const metrics = createDnsMetrics(registry, prefix);
  const forwarder = new Forwarder({
    logger: logger.child({ component: 'forward' }),
    resolveLocal: storeAddressLookup(store),
    observer: metrics.forwarderObserver,
  });
  const { handler, udpFastPath } = createKubeDnsAnswerer({
    store,
    forwarder,
    zone: config.domain,
    ttl: config.ttl,
    negativeTtl: config.negativeTtl,
    metrics,
    logger: logger.child({ component: 'dns' }),
  });
  return {
    writer: store,
    handler,
    udpFastPath,
    observer: metrics.observer,
    setForwarding(settings) {
      forwarder.setUpstreams(settings.upstreams);
      forwarder.setStubDomains(settings.stubDomains);
    },
    onSynced: () => {
      forwarder.refreshStubs().catch((error: unknown) => {
        logger.warn('resolving stub servers failed', { error: String(error) });
      });
    },
    close: () => forwarder.close(),
  };
};

export interface MainDeps {
  logger?: Logger;
  /** Metrics go here; default: a fresh registry with process metrics. Never the global one. */
  registry?: Registry;
  /** The answering side; default: the real one (tests may record what the watch writes). */
  answers?: AnswersFactory;
  env?: NodeJS.ProcessEnv;
  /** Prefix of the in-cluster service account path (tests). */
  serviceAccountPathPrefix?: string;
  watchTiming?: Partial<WatchTiming>;
  readResolvConf?: (path: string) => ResolvConf;
  now?: () => number;
  /** Called as soon as the ports are bound, before the initial sync (tests, and the bin's signal handling). */
  onListening?: (handle: KubeDnsHandle) => void;
}

export interface KubeDnsHandle {
  readonly dnsPort: number;
  readonly healthzPort: number;
  /** null when PROMETHEUS_PORT is unset. */
  readonly metricsPort: number | null;
  readonly ready: ReadinessState;
  readonly registry: Registry;
  readonly config: ConfigSource;
  /** Resolves when the first sync is complete. */
  readonly synced: Promise<void>;
  /** SIGTERM: readiness 503 at once, keep answering for `graceMs`, then close. */
  shutdown(graceMs: number): Promise<void>;
  close(): Promise<void>;
}

const COMPONENT = 'kube-dns';

function listenError(what: string, host: string, port: number, error: unknown): StartupError {
  const code = (error as NodeJS.ErrnoException).code;
  const detail = code === 'EADDRINUSE' ? 'address in use' : code === 'EACCES' ? 'permission denied' : String(error);
  return new StartupError(COMPONENT, `cannot listen for ${what} on ${host}:${port}: ${detail}`, { cause: error });
}

/**
 * Starts kube-dns: DNS on UDP+TCP, /readiness and /healthz, metrics, the ConfigMap source and the watch.
 * Resolves once the first sync is complete; rejects with a StartupError if it is not within
 * `--initial-sync-timeout` (everything started is closed first).
 */
export async function main(config: KubeDnsConfig, deps: MainDeps = {}): Promise<KubeDnsHandle> {
  const logger = deps.logger ?? silentLogger;
  const log = logger.child({ component: 'main' });
  const env = deps.env ?? process.env;
  log.info('starting', { version: packageVersion(), config: describeConfig(config) });
  if (config.profiling) log.warn('--profiling is accepted for compatibility and ignored: there is no pprof in Node.js');
  if (config.federations.size > 0) log.warn('--federations is deprecated and ignored');

  const registry = deps.registry ?? new Registry();
  if (!deps.registry && config.metrics) collectDefaultMetrics({ register: registry });
  const prefix = config.metrics ? metricPrefix(config.metrics.namespace, config.metrics.subsystem) : 'skydns_skydns_';
  const watchMetrics = createWatchMetrics(registry, prefix);

  const kubeConfig = loadKubeConfig({
    kubeMasterUrl: config.kubeMasterUrl,
    kubecfgFile: config.kubecfgFile,
    userAgent: `kube-dns/${packageVersion()} (${process.platform}/${process.arch})`,
    env,
    ...(deps.serviceAccountPathPrefix !== undefined ? { serviceAccountPathPrefix: deps.serviceAccountPathPrefix } : {}),
  });
  const lists = createApiLists(kubeConfig);

  const answers = (deps.answers ?? defaultAnswers)({ config, registry, metricPrefix: prefix, logger });
  const readiness = createReadiness();
  const closers: Array<() => Promise<void> | void> = [];
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      for (const closer of closers.reverse()) {
        try {
          await closer();
        } catch (error) {
          log.warn('error while closing', { error: String(error) });
        }
      }
      log.info('stopped');
    })();
    return closing;
  };

  try {
    if (answers.close) closers.push(() => answers.close?.());
    let listener: DnsListener;
    try {
      listener = await startDnsListener({
        host: config.dnsBindAddress,
        port: config.dnsPort,
        handler: answers.handler,
        ...(answers.udpFastPath ? { udpFastPath: answers.udpFastPath } : {}),
        logger: logger.child({ component: 'dns' }),
        recursionAvailable: true,
        ...(answers.observer ? { observer: answers.observer } : {}),
      });
    } catch (error) {
      throw listenError('DNS', config.dnsBindAddress, config.dnsPort, error);
    }
    closers.push(() => listener.close());

    let healthz: HttpServerHandle;
    try {
      healthz = await startHttpServer({
        host: config.healthzBindAddress,
        port: config.healthzPort,
        routes: readiness.routes(),
        logger: logger.child({ component: 'healthz' }),
      });
    } catch (error) {
      throw listenError('/readiness', config.healthzBindAddress, config.healthzPort, error);
    }
    closers.push(() => healthz.close());

    let metricsServer: HttpServerHandle | null = null;
    if (config.metrics) {
      const { host, port, path } = config.metrics;
      try {
        metricsServer = await startHttpServer({
          host,
          port,
          routes: [metricsRoute(registry, path)],
          logger: logger.child({ component: 'metrics' }),
        });
      } catch (error) {
        throw listenError('metrics', host, port, error);
      }
      const server = metricsServer;
      closers.push(() => server.close());
    }

    const configSource = startConfigSource({
      config,
      apply: (settings) => answers.setForwarding(settings),
      logger,
      ...(deps.readResolvConf ? { readResolvConf: deps.readResolvConf } : {}),
      watchConfigMap: (onChange) =>
        startConfigMapWatch({
          kubeConfig,
          lists,
          namespace: config.configMapNamespace,
          name: config.configMap ?? '',
          onChange,
          logger,
          metrics: watchMetrics,
          ...(deps.watchTiming ? { timing: deps.watchTiming } : {}),
        }),
    });
    closers.push(() => configSource.stop());

    const watch: ClusterWatch = startClusterWatch({
      kubeConfig,
      lists,
      writer: answers.writer,
      endpointsApi: config.endpointsApi,
      podRecords: config.podRecords,
      logger,
      metrics: watchMetrics,
      ...(deps.watchTiming ? { timing: deps.watchTiming } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    });
    closers.push(() => watch.stop());
    // Ready = the store is synced and the forwarding configuration is known (ConfigMap listed or read).
    const synced = Promise.all([watch.synced, configSource.ready]).then(() => {
      readiness.markReady();
      answers.onSynced?.();
    });

    const handle: KubeDnsHandle = {
      dnsPort: listener.port,
      healthzPort: healthz.port,
      metricsPort: metricsServer?.port ?? null,
      get ready() {
        return readiness.state;
      },
      registry,
      config: configSource,
      synced,
      async shutdown(graceMs: number) {
        readiness.markDraining();
        log.info('shutting down: readiness is 503, still answering', { graceSeconds: graceMs / 1000 });
        await delay(graceMs);
        await close();
      },
      close,
    };
    log.info('listening', {
      dns: `${config.dnsBindAddress}:${listener.port}`,
      healthz: `${config.healthzBindAddress}:${healthz.port}`,
      metrics:
        metricsServer && config.metrics
          ? `${config.metrics.host}:${metricsServer.port}${config.metrics.path}`
          : 'disabled',
      apiserver: describeServer(kubeConfig),
    });
    deps.onListening?.(handle);

    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), config.initialSyncTimeoutMs);
    });
    const closedEarly = new Promise<'closed'>((resolve) => {
      closers.push(() => resolve('closed'));
    });
    const outcome = await Promise.race([synced.then(() => 'synced' as const), timedOut, closedEarly]);
    clearTimeout(timer);
    if (outcome === 'closed') throw new StartupError(COMPONENT, 'stopped before the initial sync completed');
    if (outcome === 'timeout') {
      const pending = watch.pendingKinds().map((p) => (p.lastError ? `${p.kind}: ${p.lastError}` : p.kind));
      const configPending = configSource.pending();
      if (configPending !== null) pending.push(configPending);
      throw new StartupError(
        COMPONENT,
        `initial sync with the apiserver ${describeServer(kubeConfig)} did not complete within ` +
          `--initial-sync-timeout=${config.initialSyncTimeoutMs / 1000}s (waiting for ${pending.join('; ')})`,
      );
    }
    log.info('ready');
    return handle;
  } catch (error) {
    await close();
    throw error;
  }
}
