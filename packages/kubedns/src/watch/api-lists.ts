import {
  CoreV1Api,
  DiscoveryV1Api,
  Observable,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
} from '@kubernetes/client-node';
import type { ListResult } from './informer.js';

/**
 * The list calls of the kinds we watch, through client-node's generated API clients (auth, TLS and
 * client certificates come from the KubeConfig). Each call can be abandoned through its signal.
 */
export interface ApiLists {
  services: (signal: AbortSignal) => Promise<ListResult>;
  endpointSlices: (signal: AbortSignal) => Promise<ListResult>;
  endpoints: (signal: AbortSignal) => Promise<ListResult>;
  namespaces: (signal: AbortSignal) => Promise<ListResult>;
  pods: (signal: AbortSignal) => Promise<ListResult>;
  configMap: (namespace: string, name: string, signal: AbortSignal) => Promise<ListResult>;
}

function withSignal(signal: AbortSignal): ConfigurationOptions {
  // The object API passes per-call options straight to the observable API: observable middleware.
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

function result(list: { items: object[]; metadata?: { resourceVersion?: string } }): ListResult {
  return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
}

export function createApiLists(kc: KubeConfig): ApiLists {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  return {
    services: async (signal) => result(await core.listServiceForAllNamespaces({}, withSignal(signal))),
    endpointSlices: async (signal) => result(await discovery.listEndpointSliceForAllNamespaces({}, withSignal(signal))),
    endpoints: async (signal) => result(await core.listEndpointsForAllNamespaces({}, withSignal(signal))),
    namespaces: async (signal) => result(await core.listNamespace({}, withSignal(signal))),
    pods: async (signal) => result(await core.listPodForAllNamespaces({}, withSignal(signal))),
    configMap: async (namespace, name, signal) =>
      result(
        await core.listNamespacedConfigMap({ namespace, fieldSelector: `metadata.name=${name}` }, withSignal(signal)),
      ),
  };
}
