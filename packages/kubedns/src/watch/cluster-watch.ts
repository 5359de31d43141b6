import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@kube-dns/daemon-kit';
import type { EndpointsApi, PodRecordsMode } from '../cli.js';
import type { ClusterStateWriter, ServiceKind } from '../model.js';
import type { WatchMetrics } from '../watch-metrics.js';
import type { ApiLists } from './api-lists.js';
import {
  createInformer,
  defaultWatchTiming,
  type Informer,
  type ListFn,
  type ObjectIdentity,
  type WatchTiming,
} from './informer.js';
import {
  lastChangeTriggerTime,
  toEndpointGroupFromEndpoints,
  toEndpointGroupFromSlice,
  toNamespaceName,
  toPodRecord,
  toServiceRecord,
  type Slim,
} from './objects.js';

export interface ClusterWatchOptions {
  kubeConfig: KubeConfig;
  lists: ApiLists;
  writer: ClusterStateWriter;
  endpointsApi: EndpointsApi;
  podRecords: PodRecordsMode;
  logger: Logger;
  metrics: WatchMetrics;
  timing?: Partial<WatchTiming>;
  now?: () => number;
  random?: () => number;
}

export interface ClusterWatch {
  /** Resolves once every watched kind has been listed and the store marked synced. */
  readonly synced: Promise<void>;
  /** Kinds not listed yet, with the last error of each (for the initial-sync-timeout message). */
  pendingKinds(): Array<{ kind: string; lastError: string | null }>;
  stop(): Promise<void>;
}

/** A Slim plus the trigger-time annotation, read at ingest (the annotation itself is not kept). */
type Ingested<T> = Slim<T> & { triggerTime: number | null };

interface KindBinding<T> {
  kind: string;
  path: string;
  list: ListFn;
  convert: (object: Record<string, unknown>) => Slim<T>;
  upsert: (record: T) => void;
  remove: (namespace: string, name: string) => void;
  /** Called after a watch event (not a list) changed this object. */
  observed?: (record: T | null, triggerTime: number | null) => void;
}

const keyOf = (object: ObjectIdentity): string => `${object.metadata.namespace ?? ''}/${object.metadata.name}`;

/**
 * Watches Services, EndpointSlices (or Endpoints), Namespaces and, for verified pod records, Pods, and keeps
 * the store equal to what the apiserver has: every list is followed by removing whatever the store holds
 * that the list no longer has. markSynced() once every kind has been listed.
 */
export function startClusterWatch(options: ClusterWatchOptions): ClusterWatch {
  const { writer, logger, metrics, lists } = options;
  const timing: WatchTiming = { ...defaultWatchTiming, ...options.timing };
  const now = options.now ?? Date.now;
  const log = logger.child({ component: 'watch' });
  const serviceKinds = new Map<string, ServiceKind>();

  const bindings: KindBinding<unknown>[] = [];
  const bind = <T>(binding: KindBinding<T>): void => {
    bindings.push(binding as KindBinding<unknown>);
  };

  bind({
    kind: 'services',
    path: '/api/v1/services',
    list: lists.services,
    convert: toServiceRecord,
    upsert: (service) => {
      serviceKinds.set(`${service.namespace}/${service.name}`, service.kind);
      writer.upsertService(service);
    },
    remove: (namespace, name) => {
      serviceKinds.delete(`${namespace}/${name}`);
      writer.deleteService(namespace, name);
    },
  });
  const observeProgramming = (
    group: { namespace: string; serviceName: string } | null,
    triggerTime: number | null,
  ): void => {
    // As CoreDNS: only headless services with a selector (the controller set the annotation) are measured;
    // a ClusterIP service's answer does not change with its endpoints.
    if (group === null || triggerTime === null) return;
    if (serviceKinds.get(`${group.namespace}/${group.serviceName}`) !== 'Headless') return;
    metrics.programmingDuration.observe(
      { service_kind: 'headless_with_selector' },
      Math.max(0, (now() - triggerTime) / 1000),
    );
  };
  if (options.endpointsApi === 'endpointslices') {
    bind({
      kind: 'endpointslices',
      path: '/apis/discovery.k8s.io/v1/endpointslices',
      list: lists.endpointSlices,
      convert: toEndpointGroupFromSlice,
      upsert: (group) => writer.upsertEndpoints(group),
      remove: (namespace, name) => writer.deleteEndpoints(namespace, name),
      observed: observeProgramming,
    });
  } else {
    bind({
      kind: 'endpoints',
      path: '/api/v1/endpoints',
      list: lists.endpoints,
      convert: toEndpointGroupFromEndpoints,
      upsert: (group) => writer.upsertEndpoints(group),
      remove: (namespace, name) => writer.deleteEndpoints(namespace, name),
      observed: observeProgramming,
    });
  }
  bind({
    kind: 'namespaces',
    path: '/api/v1/namespaces',
    list: lists.namespaces,
    convert: toNamespaceName,
    upsert: (name) => writer.upsertNamespace(name),
    remove: (_namespace, name) => writer.deleteNamespace(name),
  });
  if (options.podRecords === 'verified') {
    bind({
      kind: 'pods',
      path: '/api/v1/pods',
      list: lists.pods,
      convert: toPodRecord,
      upsert: (pod) => writer.upsertPod(pod),
      remove: (namespace, name) => writer.deletePod(namespace, name),
    });
  }

  let resolveSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolve) => (resolveSynced = resolve));
  const informers: Informer[] = [];
  const checkSynced = (): void => {
    if (!writer.hasSynced() && informers.length === bindings.length && informers.every((i) => i.synced)) {
      writer.markSynced();
      log.info('initial sync complete', { kinds: bindings.map((b) => b.kind) });
      resolveSynced();
    }
  };

  for (const binding of bindings) {
    informers.push(createKindInformer(binding));
  }
  for (const informer of informers) informer.start();

  function createKindInformer(binding: KindBinding<unknown>): Informer {
    const kindLog = log.child({ kind: binding.kind });
    /** What this kind has put in the store, by namespace/name. */
    const inStore = new Set<string>();
    /** Objects whose problems were logged, so each is logged once (until it changes to valid or goes). */
    const reported = new Map<string, string>();
    const report = (key: string, problems: string[]): void => {
      if (problems.length === 0) {
        reported.delete(key);
        return;
      }
      const text = problems.slice(0, 3).join('; ') + (problems.length > 3 ? `; … ${problems.length - 3} more` : '');
      if (reported.get(key) === text) return;
      reported.set(key, text);
      metrics.invalidObjects.inc({ kind: binding.kind });
      // Clipped: names come from the apiserver, and one with a megabyte of characters must not become a
      // megabyte log line.
      kindLog.warn('skipped what cannot be served', { object: clip(key), problems: clip(text) });
    };
    const removeKey = (key: string, object: ObjectIdentity): void => {
      reported.delete(key);
      if (!inStore.delete(key)) return;
      binding.remove(object.metadata.namespace ?? '', object.metadata.name);
    };
    return createInformer<Ingested<unknown>>({
      kind: binding.kind,
      kubeConfig: options.kubeConfig,
      path: binding.path,
      list: binding.list,
      convert: (object) => ({ ...binding.convert(object), triggerTime: lastChangeTriggerTime(object) }),
      logger: log,
      metrics,
      timing,
      now,
      ...(options.random ? { random: options.random } : {}),
      handlers: {
        upsert(object, fromList) {
          const key = keyOf(object);
          const { record, problems, triggerTime } = object.slim;
          report(key, problems);
          if (record === null) {
            // Still invalid: out of the store, but its report stands (a re-list or an update that leaves it
            // as broken as it was must not log it again).
            if (inStore.delete(key)) binding.remove(object.metadata.namespace ?? '', object.metadata.name);
          } else {
            binding.upsert(record);
            inStore.add(key);
          }
          if (!fromList) binding.observed?.(record, triggerTime);
        },
        remove(object) {
          removeKey(keyOf(object), object);
        },
        listed(objects, first) {
          // client-node already emitted deletes for what vanished; this makes sure nothing survives a list.
          const present = new Set(objects.map(keyOf));
          let ghosts = 0;
          for (const key of [...inStore]) {
            if (present.has(key)) continue;
            const slash = key.indexOf('/');
            inStore.delete(key);
            reported.delete(key);
            binding.remove(key.slice(0, slash), key.slice(slash + 1));
            ghosts++;
          }
          if (ghosts > 0) kindLog.info('removed objects the list no longer has', { removed: ghosts });
          if (first) checkSynced();
        },
      },
    });
  }

  return {
    synced,
    pendingKinds: () => informers.filter((i) => !i.synced).map((i) => ({ kind: i.kind, lastError: i.lastError })),
    async stop() {
      await Promise.all(informers.map((informer) => informer.stop()));
    },
  };
}

const LOGGED_TEXT_MAX = 300;

function clip(text: string): string {
  return text.length > LOGGED_TEXT_MAX ? `${text.slice(0, LOGGED_TEXT_MAX)}… (${text.length} characters)` : text;
}
