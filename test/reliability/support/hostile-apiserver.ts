import http from 'node:http';
import type net from 'node:net';

/**
 * An apiserver that validates nothing: it lists whatever items a test gives it, verbatim (names over 63
 * characters, invalid IPs, wrong JSON types, duplicates, thousands of endpoints), and lets the test write
 * anything into open watch streams (events of any shape, lines that are not JSON). It speaks just enough of
 * the list/watch protocol for client-node: `<Kind>List` bodies and chunked JSON-lines watches.
 */
export interface HostileApiServer {
  readonly url: string;
  /** The items a list of `resource` returns (`services`, `endpointslices`, `namespaces`, `endpoints`, `pods`). */
  setItems(resource: string, items: unknown[]): void;
  /** Writes one line (an event object, or raw text) to every open watch of `resource`. */
  send(resource: string, event: unknown): void;
  /** Open watch streams of `resource`. */
  watches(resource: string): number;
  /** Ends the watches of `resource` with an in-stream 410 Expired (client-node then re-lists). */
  expire(resource: string): void;
  /** Lists served so far per resource. */
  readonly lists: Record<string, number>;
  close(): Promise<void>;
}

const LIST_KINDS: Record<string, { kind: string; apiVersion: string }> = {
  services: { kind: 'ServiceList', apiVersion: 'v1' },
  endpoints: { kind: 'EndpointsList', apiVersion: 'v1' },
  namespaces: { kind: 'NamespaceList', apiVersion: 'v1' },
  pods: { kind: 'PodList', apiVersion: 'v1' },
  configmaps: { kind: 'ConfigMapList', apiVersion: 'v1' },
  endpointslices: { kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1' },
};

function resourceOf(path: string): string | null {
  const match = /^\/(?:api\/v1|apis\/discovery\.k8s\.io\/v1)(?:\/namespaces\/[^/]+)?\/([a-z]+)$/.exec(path);
  return match ? match[1]! : null;
}

export async function startHostileApiServer(): Promise<HostileApiServer> {
  const items = new Map<string, unknown[]>();
  const streams = new Map<string, Set<http.ServerResponse>>();
  const lists: Record<string, number> = {};
  let resourceVersion = 1000;
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const resource = resourceOf(url.pathname);
    if (url.pathname === '/version') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"gitVersion":"v1.33.0"}');
      return;
    }
    if (resource === null || LIST_KINDS[resource] === undefined) {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"kind":"Status","code":404}');
      return;
    }
    if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
      const set = streams.get(resource) ?? new Set();
      streams.set(resource, set);
      set.add(res);
      res.on('close', () => set.delete(res));
      return;
    }
    lists[resource] = (lists[resource] ?? 0) + 1;
    const body = JSON.stringify({
      ...LIST_KINDS[resource],
      metadata: { resourceVersion: String(++resourceVersion) },
      items: items.get(resource) ?? [],
    });
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, () => resolve()));
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    lists,
    setItems(resource, list) {
      items.set(resource, list);
    },
    send(resource, event) {
      const line = typeof event === 'string' ? event : JSON.stringify(event);
      for (const res of streams.get(resource) ?? []) res.write(`${line}\n`);
    },
    watches: (resource) => streams.get(resource)?.size ?? 0,
    expire(resource) {
      for (const res of streams.get(resource) ?? []) {
        res.end(
          JSON.stringify({
            type: 'ERROR',
            object: {
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              reason: 'Expired',
              code: 410,
              message: 'too old resource version',
            },
          }) + '\n',
        );
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
