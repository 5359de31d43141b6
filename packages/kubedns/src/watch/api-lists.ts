import {
  CoreV1Api,
  DiscoveryV1Api,
  Observable,
  ResponseContext,
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

/** What the generated client is given to deserialize instead of the real body. */
const EMPTY_LIST = '{"metadata":{},"items":[]}';

/**
 * Per-call options for one list: the abort signal, and the body taken as raw JSON. The generated client
 * would deserialize it into its typed models, which throws on a single field of the wrong JSON type
 * ("data is not iterable"): one malformed object from the apiserver would fail the whole list, every
 * time, and the kind would never sync. kube-dns converts objects itself (objects.ts) and skips what it
 * cannot use, so the client is handed an empty list and the raw items are returned instead. Error
 * statuses pass through untouched, so failures surface as the client's usual exceptions.
 */
function rawListCall(signal: AbortSignal): { options: ConfigurationOptions; result(): ListResult } {
  let body: unknown = null;
  // The object API passes per-call options straight to the observable API: observable middleware.
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) =>
      new Observable(
        (async () => {
          if (context.httpStatusCode < 200 || context.httpStatusCode > 299) return context;
          body = JSON.parse(await context.body.text()) as unknown;
          return new ResponseContext(context.httpStatusCode, context.headers, {
            text: () => Promise.resolve(EMPTY_LIST),
            binary: () => Promise.resolve(Buffer.from(EMPTY_LIST)),
          });
        })(),
      ),
  };
  return {
    options: { middleware: [middleware], middlewareMergeStrategy: 'append' },
    result() {
      const list = (typeof body === 'object' && body !== null ? body : {}) as {
        items?: unknown;
        metadata?: { resourceVersion?: unknown };
      };
      const items = Array.isArray(list.items)
        ? list.items.filter((item): item is object => typeof item === 'object' && item !== null)
        : [];
      const resourceVersion = list.metadata?.resourceVersion;
      return { items, resourceVersion: typeof resourceVersion === 'string' ? resourceVersion : '' };
    },
  };
}

async function listRaw(
  signal: AbortSignal,
  call: (options: ConfigurationOptions) => Promise<unknown>,
): Promise<ListResult> {
  const raw = rawListCall(signal);
  await call(raw.options);
  return raw.result();
}

export function createApiLists(kc: KubeConfig): ApiLists {
  const core = kc.makeApiClient(CoreV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  return {
    services: (signal) => listRaw(signal, (o) => core.listServiceForAllNamespaces({}, o)),
    endpointSlices: (signal) => listRaw(signal, (o) => discovery.listEndpointSliceForAllNamespaces({}, o)),
    endpoints: (signal) => listRaw(signal, (o) => core.listEndpointsForAllNamespaces({}, o)),
    namespaces: (signal) => listRaw(signal, (o) => core.listNamespace({}, o)),
    pods: (signal) => listRaw(signal, (o) => core.listPodForAllNamespaces({}, o)),
    configMap: (namespace, name, signal) =>
      listRaw(signal, (o) => core.listNamespacedConfigMap({ namespace, fieldSelector: `metadata.name=${name}` }, o)),
  };
}
