import {
  emptyKubeDnsConfig,
  parseKubeDnsConfig,
  readConfigDir,
  readResolvConf,
  watchConfigDir,
  type ConfigDirWatcher,
  type KubeDnsConfig as ConfigMapConfig,
  type Logger,
  type ResolvConf,
  type StubDomain,
  type UpstreamServer,
} from '@kube-dns/daemon-kit';
import type { KubeDnsConfig } from './cli.js';

/** What forwarding needs from the configuration, recomputed on every accepted ConfigMap change. */
export interface ForwardingSettings {
  upstreams: UpstreamServer[];
  /** Where `upstreams` came from, for logs and tests. */
  upstreamSource: 'flag' | 'configmap' | 'resolv.conf';
  stubDomains: StubDomain[];
  /** The ConfigMap version in force ('' = none / defaults). */
  version: string;
}

/** The ConfigMap through the API, as main wires it (the watch module owns the Kubernetes client). */
export type ConfigMapWatcherFactory = (onChange: (data: Record<string, string> | null, version: string) => void) => {
  ready: Promise<void>;
  lastError?(): string | null;
  stop(): Promise<void>;
};

export interface ConfigSourceOptions {
  config: Pick<
    KubeDnsConfig,
    'configDir' | 'configPeriodMs' | 'configMap' | 'configMapNamespace' | 'nameservers' | 'resolvConf'
  >;
  /** Receives every accepted configuration (and the initial one), to push into the forwarder. */
  apply(settings: ForwardingSettings): void;
  logger: Logger;
  watchConfigMap?: ConfigMapWatcherFactory;
  readResolvConf?: (path: string) => ResolvConf;
}

export interface ConfigSource {
  /** Resolves once the first configuration has been applied. */
  readonly ready: Promise<void>;
  /** Until ready: what is awaited, e.g. `the ConfigMap kube-system/kube-dns: HTTP 403 (Forbidden)`; then null. */
  pending(): string | null;
  current(): ForwardingSettings;
  /** Re-reads `--config-dir` now (tests; the poll does it every `--config-period`). */
  check(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Upstream order (SPEC): `--nameservers` if given, else the ConfigMap's `upstreamNameservers`, else the
 * resolv.conf nameservers (re-read on every change, as the original). Stub domains come from the ConfigMap.
 */
export function forwardingSettings(
  flagNameservers: readonly UpstreamServer[],
  configMap: ConfigMapConfig,
  resolvConf: () => ResolvConf,
  version: string,
): ForwardingSettings {
  const stubDomains = configMap.stubDomains;
  if (flagNameservers.length > 0) {
    return { upstreams: [...flagNameservers], upstreamSource: 'flag', stubDomains, version };
  }
  if (configMap.upstreamNameservers.length > 0) {
    return { upstreams: [...configMap.upstreamNameservers], upstreamSource: 'configmap', stubDomains, version };
  }
  return { upstreams: resolvConf().nameservers, upstreamSource: 'resolv.conf', stubDomains, version };
}

function describe(settings: ForwardingSettings): Record<string, unknown> {
  return {
    version: settings.version === '' ? 'default' : settings.version.slice(0, 16),
    upstreams: settings.upstreams.map((s) => `${s.host}:${s.port}`),
    upstreamSource: settings.upstreamSource,
    stubDomains: settings.stubDomains.map(
      (stub) =>
        `${stub.domain}=${stub.servers.map((s) => (s.kind === 'ip' ? `${s.host}:${s.port}` : s.hostname)).join('|')}`,
    ),
  };
}

/**
 * The kube-dns ConfigMap from `--config-dir` (polled) or `--config-map` (watched), or neither (flags and
 * resolv.conf only). An invalid update is rejected whole and logged once; the previous configuration stays.
 */
export function startConfigSource(options: ConfigSourceOptions): ConfigSource {
  const { config, logger } = options;
  const log = logger.child({ component: 'config' });
  const resolv = (): ResolvConf => (options.readResolvConf ?? readResolvConf)(config.resolvConf);
  let settings = forwardingSettings(config.nameservers, emptyKubeDnsConfig(), resolv, '');
  let rejectedVersion: string | null = null;

  const update = (data: Record<string, string> | null, version: string, initial: boolean): void => {
    const parsed = parseKubeDnsConfig(data ?? {});
    if (!parsed.ok) {
      if (rejectedVersion !== version) {
        rejectedVersion = version;
        log.warn(
          initial
            ? 'invalid kube-dns ConfigMap; using the default configuration until it is fixed'
            : 'rejected invalid kube-dns ConfigMap update; keeping the previous configuration',
          { error: parsed.error, version: version.slice(0, 16) },
        );
      }
      if (!initial) return;
      options.apply(settings);
      return;
    }
    rejectedVersion = null;
    settings = forwardingSettings(config.nameservers, parsed.config, resolv, version);
    log.info(initial ? 'configuration loaded' : 'configuration changed', describe(settings));
    options.apply(settings);
  };

  let dirWatcher: ConfigDirWatcher | null = null;
  let mapWatcher: ReturnType<ConfigMapWatcherFactory> | null = null;
  let ready: Promise<void>;
  let stopped = false;
  let isReady = false;

  if (config.configDir !== null) {
    const dir = config.configDir;
    ready = (async () => {
      let version = '';
      try {
        const snapshot = await readConfigDir(dir);
        version = snapshot.version;
        update(snapshot.data, snapshot.version, true);
      } catch (error) {
        log.warn('cannot read --config-dir; using the default configuration', {
          dir,
          error: (error as Error).message,
        });
        update(null, '', true);
      }
      if (stopped) return;
      dirWatcher = watchConfigDir(
        dir,
        config.configPeriodMs,
        version,
        (snapshot) => update(snapshot.data, snapshot.version, false),
        (error) =>
          log.warn('cannot read --config-dir; keeping the previous configuration', { dir, error: error.message }),
      );
    })();
  } else if (config.configMap !== null) {
    if (!options.watchConfigMap) throw new Error('--config-map needs a ConfigMap watcher');
    let first = true;
    const watcher = options.watchConfigMap((data, version) => {
      update(data, version, first);
      first = false;
    });
    mapWatcher = watcher;
    ready = watcher.ready;
  } else {
    log.info('no --config-dir or --config-map: configuration from flags', describe(settings));
    options.apply(settings);
    ready = Promise.resolve();
  }

  ready.then(
    () => (isReady = true),
    () => undefined,
  );
  const pending = (): string | null => {
    if (isReady) return null;
    if (config.configMap === null) return `--config-dir ${config.configDir ?? ''}`;
    const reason = mapWatcher?.lastError?.() ?? null;
    return `the ConfigMap ${config.configMapNamespace}/${config.configMap}${reason ? `: ${reason}` : ''}`;
  };

  return {
    ready,
    pending,
    current: () => settings,
    check: async () => {
      await ready;
      await dirWatcher?.check();
    },
    async stop() {
      stopped = true;
      dirWatcher?.stop();
      await mapWatcher?.stop();
    },
  };
}
