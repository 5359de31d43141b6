import http from 'node:http';
import type net from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

export interface HttpReply {
  status: number;
  body: string;
  contentType?: string;
}

/** A read-only route: GET and HEAD only. `prefix` routes match `path` and everything below `path/`. */
export interface HttpRoute {
  path: string;
  prefix?: boolean;
  handle(path: string): HttpReply | Promise<HttpReply>;
}

export interface HttpServerOptions {
  host: string;
  port: number;
  routes: HttpRoute[];
  logger: Logger;
}

export interface HttpServerHandle {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The health and metrics endpoints. Nothing here changes state: other methods get 405, unknown paths 404.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const { routes, logger } = options;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, req.method, { status: 405, body: 'method not allowed\n' }, { Allow: 'GET, HEAD' });
      return;
    }
    const route = routes.find((r) => r.path === path || (r.prefix === true && path.startsWith(r.path + '/')));
    if (!route) {
      send(res, req.method, { status: 404, body: '404 page not found\n' });
      return;
    }
    Promise.resolve()
      .then(() => route.handle(path))
      .then(
        (reply) => send(res, req.method, reply),
        (error: unknown) => {
          logger.warn('HTTP handler failed', { path, error: String(error) });
          send(res, req.method, { status: 500, body: 'internal error\n' });
        },
      );
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.warn('HTTP server error', { error: error.message }));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(
  res: http.ServerResponse,
  method: string | undefined,
  reply: HttpReply,
  headers: Record<string, string> = {},
): void {
  const body = Buffer.from(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': reply.contentType ?? 'text/plain; charset=utf-8',
    'Content-Length': body.length,
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(method === 'HEAD' ? undefined : body);
}

/** `/metrics` in the Prometheus text format from an injected registry. */
export function metricsRoute(registry: Registry, path = '/metrics'): HttpRoute {
  return {
    path,
    handle: async () => ({ status: 200, body: await registry.metrics(), contentType: registry.contentType }),
  };
}
