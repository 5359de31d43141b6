import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ListFn, ListResult } from './informer.js';
import { ListStreamParser } from './list-stream.js';

/**
 * The list calls of the kinds we watch. Each streams the response and turns every item into what the informer
 * keeps (`map`) as soon as its bytes are in, so a re-list of 10k Services never holds the whole response, nor
 * client-node's model objects (ObjectSerializer), in memory at once. Auth, TLS, client certificates and proxies
 * come from the KubeConfig exactly as for the watches (applyToFetchOptions). Each call can be abandoned
 * through its signal.
 */
export interface ApiLists {
  services: ListFn;
  endpointSlices: ListFn;
  endpoints: ListFn;
  namespaces: ListFn;
  pods: ListFn;
  configMap: <T>(
    namespace: string,
    name: string,
    signal: AbortSignal,
    map: (item: Record<string, unknown>) => T,
  ) => Promise<ListResult<T>>;
}

/**
 * A list answered with another status than 200. `statusCode` as client-node's errors carry it: its ListWatch
 * (410 Gone: re-list) and describeError read it.
 */
export class ApiListError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = 'ApiListError';
    this.statusCode = statusCode;
  }
}

export function createApiLists(kc: KubeConfig): ApiLists {
  const list =
    (path: string): ListFn =>
    (signal, map) =>
      streamList(kc, path, {}, signal, map);
  return {
    services: list('/api/v1/services'),
    endpointSlices: list('/apis/discovery.k8s.io/v1/endpointslices'),
    endpoints: list('/api/v1/endpoints'),
    namespaces: list('/api/v1/namespaces'),
    pods: list('/api/v1/pods'),
    configMap: (namespace, name, signal, map) =>
      streamList(
        kc,
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`,
        { fieldSelector: `metadata.name=${name}` },
        signal,
        map,
      ),
  };
}

/** Most of a Status body's message, for an error that says why. */
async function errorText(body: Readable): Promise<string> {
  let text = '';
  for await (const chunk of body) {
    if (text.length < 4096) text += (chunk as Buffer).toString('utf8');
  }
  try {
    const status = JSON.parse(text) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // Not a Status object: the raw text.
  }
  return text.slice(0, 200).trim();
}

/** GET `path` on the current cluster as a list, mapping each item as it streams in. */
export async function streamList<T>(
  kc: KubeConfig,
  path: string,
  query: Record<string, string>,
  signal: AbortSignal,
  map: (item: Record<string, unknown>) => T,
): Promise<ListResult<T>> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(cluster.server + path);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  const init = await kc.applyToFetchOptions({});
  const headers: Record<string, string> = {};
  for (const [key, value] of init.headers as unknown as Iterable<[string, string]>) headers[key] = value;
  headers['accept'] = 'application/json';
  headers['accept-encoding'] = 'gzip';
  signal.throwIfAborted();
  const transport = url.protocol === 'https:' ? https : http;
  const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = transport.request(url, {
      method: 'GET',
      headers,
      agent: init.agent as http.Agent | undefined,
      signal,
    });
    request.once('response', resolve);
    request.once('error', reject);
    request.end();
  });
  let body: Readable = response;
  if (/\bgzip\b/i.test(response.headers['content-encoding'] ?? '')) {
    const gunzip = createGunzip();
    // pipe() does not pass errors on: a connection cut mid-body must fail the list, not end it.
    response.once('error', (error) => gunzip.destroy(error));
    response.once('aborted', () => gunzip.destroy(new Error('list response aborted')));
    body = response.pipe(gunzip);
  }
  if (response.statusCode !== 200) {
    const status = response.statusCode ?? 0;
    const message = await errorText(body).catch(() => '');
    throw new ApiListError(status, message || http.STATUS_CODES[status] || 'list failed');
  }
  const items: T[] = [];
  // Items are raw JSON (objects.ts converts them and skips what it cannot use): one malformed object from
  // the apiserver must not fail the whole list. Anything that is not even an object is not an item.
  const parser = new ListStreamParser((item) => {
    if (typeof item === 'object' && item !== null && !Array.isArray(item))
      items.push(map(item as Record<string, unknown>));
  });
  try {
    for await (const chunk of body) parser.push(chunk as Buffer);
  } finally {
    if (!response.complete) response.destroy();
  }
  const metadata = parser.end()['metadata'] as { resourceVersion?: unknown } | undefined;
  const resourceVersion = typeof metadata?.resourceVersion === 'string' ? metadata.resourceVersion : '';
  return { items, resourceVersion };
}
