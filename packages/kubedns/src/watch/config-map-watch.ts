import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@kube-dns/daemon-kit';
import type { WatchMetrics } from '../watch-metrics.js';
import type { ApiLists } from './api-lists.js';
import { createInformer, defaultWatchTiming, type Informer, type WatchTiming } from './informer.js';

export interface ConfigMapWatchOptions {
  kubeConfig: KubeConfig;
  lists: ApiLists;
  namespace: string;
  name: string;
  /** The ConfigMap's data (null: it does not exist, or was deleted → the default configuration). */
  onChange(data: Record<string, string> | null, version: string): void;
  logger: Logger;
  metrics: WatchMetrics;
  timing?: Partial<WatchTiming>;
}

export interface ConfigMapWatch {
  /** Resolves after the first list: the first onChange call has been made. */
  readonly ready: Promise<void>;
  /** Why the last list or watch failed (cleared when one succeeds): for the initial-sync timeout line. */
  lastError(): string | null;
  stop(): Promise<void>;
}

function stringData(value: unknown): Record<string, string> {
  const data: Record<string, string> = {};
  if (typeof value !== 'object' || value === null) return data;
  for (const [key, text] of Object.entries(value)) if (typeof text === 'string') data[key] = text;
  return data;
}

/**
 * `--config-map`: one ConfigMap, watched through the API with a field selector on its name (the original
 * watched every ConfigMap of the namespace). Its resourceVersion is the config version.
 */
export function startConfigMapWatch(options: ConfigMapWatchOptions): ConfigMapWatch {
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  let current: string | null = null;
  const emit = (data: Record<string, string> | null, version: string): void => {
    if (current === version) return;
    current = version;
    options.onChange(data, version);
  };
  const informer: Informer = createInformer<{ data: Record<string, string> }>({
    kind: 'configmap',
    kubeConfig: options.kubeConfig,
    path: `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/configmaps`,
    fieldSelector: `metadata.name=${options.name}`,
    list: (signal, map) => options.lists.configMap(options.namespace, options.name, signal, map),
    convert: (object) => ({ data: stringData(object['data']) }),
    logger: options.logger.child({ component: 'config' }),
    metrics: options.metrics,
    timing: { ...defaultWatchTiming, ...options.timing },
    handlers: {
      upsert(object) {
        if (object.metadata.name !== options.name) return;
        emit(object.slim.data, object.metadata.resourceVersion ?? '');
      },
      remove(object) {
        if (object.metadata.name === options.name) emit(null, '');
      },
      listed(objects, first) {
        if (!objects.some((object) => object.metadata.name === options.name)) emit(null, '');
        if (first) resolveReady();
      },
    },
  });
  informer.start();
  return { ready, lastError: () => informer.lastError, stop: () => informer.stop() };
}
