// Deep imports: the package's index loads every generated API client and model (tens of MB we never use); the
// generated code config.js and cache.js import themselves is kept out by client-node/slim-hooks.ts (bin.ts).
import { ListWatch } from '@kubernetes/client-node/dist/cache.js';
import { Watch } from '@kubernetes/client-node/dist/watch.js';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '@kube-dns/daemon-kit';
import type { WatchMetrics } from '../watch-metrics.js';

/**
 * One kind, listed and watched through client-node's ListWatch, kept running whatever the apiserver does.
 * What client-node 1.4 does and does not do (reference/client-node-informers.md):
 * - 410 Gone on a watch makes it re-list by itself; on a re-list it emits `delete` for every object that
 *   vanished meanwhile (cache.js deleteItems), so ghosts go away. We still reconcile after each list.
 * - Every other failure emits `error` once and stops for good: we call `start()` again after a capped,
 *   jittered exponential backoff. `start()` resumes from the last resourceVersion.
 * - `stop()` emits `error` (AbortError): ignored, because we track our own `stopped`.
 * - `connect` fires before every attempt, so "connected" is taken from a watch response that opened, and
 *   "synced" from a list that was applied.
 * - Its watch asks for no bookmarks and no timeout: ours asks for both, and aborts a watch that goes
 *   silent for longer than the timeout it asked for (a half-open connection would otherwise hang forever).
 */

/** What the ListWatch keeps per object: only the identity it needs (deletes and re-lists are matched by it). */
export interface ObjectIdentity extends KubernetesObject {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

/**
 * An object as it arrives: its identity plus our slim form. The slim form is handed to `upsert` and then
 * released, so the ListWatch's cache holds identities only (the store keeps its own compact copy).
 */
export interface SlimObject<S> extends ObjectIdentity {
  slim: S;
}

export interface ListResult<T = object> {
  items: T[];
  resourceVersion: string;
}

/** Lists a collection; `map` turns each item into what is kept, as it arrives. */
export type ListFn = <T>(signal: AbortSignal, map: (item: Record<string, unknown>) => T) => Promise<ListResult<T>>;

export interface InformerHandlers<S> {
  /** `fromList`: the object came with a (re-)list, not a watch event. */
  upsert(object: SlimObject<S>, fromList: boolean): void;
  /** The object as cached (slim form released) or as the DELETED event carried it: only its identity counts. */
  remove(object: ObjectIdentity, fromList: boolean): void;
  /** A complete list was applied; `objects` is everything the apiserver has now. */
  listed(objects: readonly ObjectIdentity[], first: boolean): void;
}

export interface WatchTiming {
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A list that takes longer is abandoned (and retried with backoff). */
  listTimeoutMs: number;
  /** Connect and response headers of a watch. */
  watchConnectTimeoutMs: number;
  /** `timeoutSeconds` asked of the server: a random value in [min, 2×min), as client-go does. */
  watchTimeoutMinSeconds: number;
  /** A watch with no data for its timeout plus this long is aborted as stalled. */
  watchIdleGraceMs: number;
}

export const defaultWatchTiming: WatchTiming = {
  backoffInitialMs: 800,
  // client-go caps at 30 s; DNS should come back sooner after an apiserver outage, and kube-dns has few replicas.
  backoffMaxMs: 10_000,
  listTimeoutMs: 60_000,
  watchConnectTimeoutMs: 30_000,
  watchTimeoutMinSeconds: 300,
  watchIdleGraceMs: 60_000,
};

export interface InformerOptions<S> {
  /** Metric label and log field: `services`, `endpointslices`, … */
  kind: string;
  kubeConfig: KubeConfig;
  /** The collection path to watch (`/api/v1/services`). */
  path: string;
  fieldSelector?: string;
  list: ListFn;
  convert(object: Record<string, unknown>): S;
  handlers: InformerHandlers<S>;
  logger: Logger;
  metrics: WatchMetrics;
  timing: WatchTiming;
  random?: () => number;
  now?: () => number;
}

export interface Informer {
  readonly kind: string;
  readonly synced: boolean;
  readonly connected: boolean;
  /** The reason of the last failed list or watch, or null once one succeeded again. */
  readonly lastError: string | null;
  start(): void;
  stop(): Promise<void>;
}

type WatchCallback = (phase: string, apiObj: unknown, watchObj?: unknown) => void;
type WatchDone = (err: unknown) => void;

/** Error text for logs: HTTP status, errno code, or the message's first line. */
export function describeError(error: unknown): string {
  const e = error as { statusCode?: number; code?: unknown; message?: string; type?: string; errno?: string };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.code === 'number' ? e.code : null;
  const message = (e?.message ?? String(error)).split('\n')[0]!.slice(0, 200);
  if (status !== null) return `HTTP ${status}${message && !/^HTTP-Code/.test(message) ? ` (${message})` : ''}`;
  const errno = typeof e?.code === 'string' ? e.code : e?.errno;
  return errno && !message.includes(errno) ? `${message} (${errno})` : message;
}

export function createInformer<S>(options: InformerOptions<S>): Informer {
  const { kind, logger, metrics, timing, handlers } = options;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const log = logger.child({ kind });

  let stopped = false;
  const stopController = new AbortController();
  let synced = false;
  let connected = false;
  /** 'starting' until the first watch opens; 'lost' between a failure and the next open. */
  let state: 'starting' | 'up' | 'lost' = 'starting';
  let lostAt = 0;
  let attempt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  /** Set between a list resolving and the ListWatch asking for the watch that follows it. */
  let pendingList: SlimObject<S>[] | null = null;
  let listedCount = 0;
  let removedDuringList = 0;
  let relistedSinceLoss = false;
  let abortReason: string | null = null;
  let quickCloses = 0;
  let lastError: string | null = null;

  const toSlim = (raw: unknown): SlimObject<S> => {
    const object = (raw ?? {}) as Record<string, unknown> & { metadata?: Record<string, unknown> };
    const meta = object.metadata ?? {};
    const slimMeta: SlimObject<S>['metadata'] = { name: typeof meta['name'] === 'string' ? meta['name'] : '' };
    if (typeof meta['namespace'] === 'string') slimMeta.namespace = meta['namespace'];
    if (typeof meta['resourceVersion'] === 'string') slimMeta.resourceVersion = meta['resourceVersion'];
    return { metadata: slimMeta, slim: options.convert(object) };
  };

  const guard = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (error) {
      log.error('applying a change failed', { what, error: describeError(error) });
    }
  };

  /** Hands an object to `upsert`, then releases its slim form: the ListWatch's cache keeps the identity only. */
  const apply = (what: string, object: SlimObject<S>, fromList: boolean): void => {
    guard(what, () => handlers.upsert(object, fromList));
    // Set, not deleted, so that every cached object keeps one shape.
    (object as { slim: S | null }).slim = null;
  };

  const listFn = async (): Promise<KubernetesListObject<SlimObject<S>>> => {
    const signal = AbortSignal.any([stopController.signal, AbortSignal.timeout(timing.listTimeoutMs)]);
    // Each listed object is applied as it streams in, so a (re-)list never holds every object's slim form at
    // once; the ListWatch then only works out what vanished (deletes) and skips what was applied.
    const result = await options.list(signal, (raw) => {
      const object = toSlim(raw);
      apply('list', object, true);
      return object;
    });
    const items = result.items;
    // From here until the ListWatch opens the watch (synchronously after applying the list), every
    // add/update/delete callback comes from this list.
    pendingList = items;
    removedDuringList = 0;
    return { metadata: { resourceVersion: result.resourceVersion }, items };
  };

  const onListApplied = (items: SlimObject<S>[]): void => {
    const first = !synced;
    // Synced before the handler runs: the handler may check whether every kind is synced now.
    synced = true;
    guard('listed', () => handlers.listed(items, first));
    metrics.lastSync.set({ kind }, now() / 1000);
    if (first) {
      metrics.synced.set({ kind }, 1);
    } else {
      metrics.relists.inc({ kind });
      relistedSinceLoss = true;
      log.info('re-listed', { objects: items.length, removed: removedDuringList });
    }
    listedCount = items.length;
  };

  const onWatchOpened = (): void => {
    connected = true;
    metrics.connected.set({ kind }, 1);
    attempt = 0;
    lastError = null;
    if (state === 'starting') {
      log.info('watch connected', { objects: listedCount });
    } else if (state === 'lost') {
      log.info('watch resynced', {
        downSeconds: Math.round((now() - lostAt) / 100) / 10,
        relisted: relistedSinceLoss,
      });
    }
    state = 'up';
  };

  const onFailure = (error: unknown): void => {
    if (stopped) return;
    connected = false;
    metrics.connected.set({ kind }, 0);
    metrics.restarts.inc({ kind });
    const reason = abortReason ?? describeError(error);
    abortReason = null;
    lastError = reason;
    const base = Math.min(timing.backoffMaxMs, timing.backoffInitialMs * 2 ** Math.min(attempt, 30));
    const delayMs = Math.round(base / 2 + (random() * base) / 2);
    attempt++;
    if (state !== 'lost') {
      lostAt = now();
      relistedSinceLoss = false;
      log.warn(synced ? 'watch lost; serving the last known state' : 'list failed', {
        reason,
        retryInSeconds: delayMs / 1000,
      });
      state = 'lost';
    } else {
      log.debug('retry failed', { reason, retryInSeconds: delayMs / 1000 });
    }
    clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      if (!stopped) void listWatch.start().catch((e: unknown) => onFailure(e));
    }, delayMs);
  };

  class KubeDnsWatch extends Watch {
    override async watch(
      path: string,
      queryParams: Record<string, string | number | boolean | undefined>,
      callback: WatchCallback,
      done: WatchDone,
    ): Promise<AbortController> {
      if (pendingList !== null) {
        const items = pendingList;
        pendingList = null;
        onListApplied(items);
      }
      if (stopped) return new AbortController();
      // A server that ends every watch at once would make the ListWatch reconnect in a tight loop.
      if (quickCloses > 0) {
        const wait = Math.min(timing.backoffMaxMs, timing.backoffInitialMs * 2 ** Math.min(quickCloses - 1, 30));
        await new Promise((resolve) => setTimeout(resolve, wait * (0.5 + random() / 2)));
        if (stopped) return new AbortController();
      }
      const timeoutSeconds = Math.floor(timing.watchTimeoutMinSeconds * (1 + random()));
      const idleMs = timeoutSeconds * 1000 + timing.watchIdleGraceMs;
      let finished = false;
      let controller: AbortController | null = null;
      let idleTimer: NodeJS.Timeout | undefined;
      let receivedData = false;
      const openedAt = now();
      const armIdle = (): void => {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          abortReason = `watch stalled: no data for ${Math.round(idleMs / 1000)}s`;
          controller?.abort();
        }, idleMs);
        idleTimer.unref();
      };
      const result = await super.watch(
        path,
        { ...queryParams, allowWatchBookmarks: true, timeoutSeconds },
        (phase, object, raw) => {
          receivedData = true;
          armIdle();
          metrics.events.inc({ kind, type: phase.toLowerCase() });
          if (phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' || phase === 'BOOKMARK') {
            metrics.lastSync.set({ kind }, now() / 1000);
          }
          if (phase === 'ERROR') {
            const status = object as { code?: number; message?: string };
            if (status?.code !== 410) log.debug('watch error event', { code: status?.code, message: status?.message });
            callback(phase, object, raw);
            return;
          }
          callback(phase, toSlim(object), raw);
        },
        (error) => {
          finished = true;
          clearTimeout(idleTimer);
          if (connected) {
            connected = false;
            metrics.connected.set({ kind }, 0);
          }
          if (error === null || error === undefined) {
            // A clean end (the server's timeout): the ListWatch reconnects from the last resourceVersion.
            quickCloses = !receivedData && now() - openedAt < 1000 ? quickCloses + 1 : 0;
            log.debug('watch ended by the server; resuming');
          }
          done(error);
        },
      );
      if (stopped) {
        // stop() came while this watch was being set up: the ListWatch had no request to abort yet.
        result.abort();
        return result;
      }
      if (!finished) {
        controller = result;
        armIdle();
        onWatchOpened();
      }
      return result;
    }
  }

  // Watch reads only getCurrentCluster() and applyToFetchOptions(): bound the connect + headers time there
  // (node-fetch's `timeout` stops counting once the response starts, so it never cuts a healthy stream).
  const watchConfig = Object.create(options.kubeConfig) as KubeConfig;
  watchConfig.applyToFetchOptions = async (opts) => ({
    ...(await options.kubeConfig.applyToFetchOptions(opts)),
    timeout: timing.watchConnectTimeoutMs,
  });
  const watch = new KubeDnsWatch(watchConfig);
  const listWatch = new ListWatch<SlimObject<S>>(options.path, watch, listFn, false, undefined, options.fieldSelector);
  // Listed objects were applied while streaming (slim already released); watch events are applied here.
  listWatch.on('add', (object) => {
    if (object.slim !== null) apply('add', object, pendingList !== null);
  });
  listWatch.on('update', (object) => {
    if (object.slim !== null) apply('update', object, pendingList !== null);
  });
  listWatch.on('delete', (object) => {
    if (pendingList !== null) removedDuringList++;
    guard('delete', () => handlers.remove(object, pendingList !== null));
  });
  listWatch.on('error', (error) => onFailure(error));

  return {
    kind,
    get synced() {
      return synced;
    },
    get connected() {
      return connected;
    },
    get lastError() {
      return lastError;
    },
    start() {
      metrics.connected.set({ kind }, 0);
      metrics.synced.set({ kind }, 0);
      void listWatch.start().catch((e: unknown) => onFailure(e));
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      stopController.abort();
      await listWatch.stop();
      connected = false;
      metrics.connected.set({ kind }, 0);
    },
  };
}
