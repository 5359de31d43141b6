import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { silentLogger, type Logger } from '@kube-dns/daemon-kit';
import { serveAdmin, type AdminContext } from './admin-api.js';
import { ApiError, statusObject, unauthorized } from './api-error.js';
import { createAuthenticator, type Identity, type TokenUser } from './auth.js';
import { discoveryDocument, versionInfo } from './discovery.js';
import { RequestFaults, type DownOptions, type FaultSwitches } from './faults.js';
import { sendJson, sendStatus, sendText } from './http-util.js';
import type { KubeObject } from './kube-object.js';
import { kubeconfigYaml, type KubeconfigAuth, type KubeconfigOptions } from './kubeconfig.js';
import { createObjectOperations, typeOf, type ObjectOperations } from './object-operations.js';
import { ObjectStore } from './object-store.js';
import { parseRequestInfo } from './request-info.js';
import { RequestRecorder, type RequestLog } from './request-log.js';
import { notFoundPath, serveResource, type ResourceApiContext } from './resource-api.js';
import { RESOURCES } from './resources.js';
import type { WatchInfo } from './watch-connection.js';
import { WatchHub } from './watch-hub.js';

export interface TlsOptions {
  /** The server certificate and key (PEM). */
  cert: string | Buffer;
  key: string | Buffer;
  /** Verify client certificates against this CA (PEM); a verified certificate authenticates as its CN (groups: O). */
  clientCa?: string | Buffer;
  /** The CA that signed `cert` (PEM), written into kubeconfig() output as certificate-authority-data. */
  ca?: string | Buffer;
}

export interface ApiServerOptions {
  /** Listen address; 127.0.0.1 by default. */
  host?: string;
  /** 0 (the default) picks a free port; goDown/comeBack keep whatever was bound. */
  port?: number;
  /** Accepted bearer tokens. With none (and no client CA) every request is let in anonymously. */
  tokens?: readonly (string | TokenUser)[];
  tls?: TlsOptions;
  /** Events kept for watch resumption and consistent pagination (default 1000). */
  historySize?: number;
  /** BOOKMARK period for watches with allowWatchBookmarks=true (default 60 s; 0 = only before a timeout end). */
  bookmarkIntervalMs?: number;
  /** Server-side watch timeout when the request gives no timeoutSeconds: fixed, or random in [min, max] (default 5–10 min). */
  watchTimeoutMs?: number | { min: number; max: number };
  /** Request log entries kept (default 10000; counts stay exact beyond it). */
  requestLogSize?: number;
  /** Creating into a missing namespace creates it (default true) instead of 404 like the real server. */
  autoCreateNamespaces?: boolean;
  /** Namespaces that exist at start (default default, kube-system, kube-public, kube-node-lease). */
  initialNamespaces?: readonly string[];
  /** Service cluster IP ranges, one per family, primary first (default 10.96.0.0/12). */
  serviceCidrs?: readonly string[];
  /** gzip responses of 128 KiB and more when the client accepts it, as the real server does (default false). */
  compression?: boolean;
  /** `/version` gitVersion (default v1.33.0). */
  version?: string;
  /** Objects created at start (after the initial namespaces), in order. */
  seed?: readonly KubeObject[];
  /** One line per state change: writes, faults, down/up. Silent by default. */
  logger?: Logger;
  now?: () => Date;
}

export interface WatchMatch {
  resource?: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface ApiServerHandle {
  /** `http://127.0.0.1:PORT` (https with tls). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly objects: ObjectOperations;
  readonly faults: FaultSwitches;
  readonly requests: RequestLog;
  /** The current global resourceVersion. */
  resourceVersion(): string;
  /** Forgets the event history; every earlier version becomes too old (410 on watch resume). Returns the new version. */
  compact(): string;
  openWatches(): WatchInfo[];
  /** Resolves when a watch matching `match` is open (now or later); rejects after `timeoutMs` (default 10 s). */
  waitForWatch(match?: WatchMatch, timeoutMs?: number): Promise<WatchInfo>;
  /** Kubeconfig YAML pointing at this server (see KubeconfigAuth). */
  kubeconfig(auth?: KubeconfigAuth, options?: KubeconfigOptions): string;
  writeKubeconfig(path: string, auth?: KubeconfigAuth, options?: KubeconfigOptions): Promise<void>;
  /** Closes everything (watches are cut). */
  close(): Promise<void>;
}

const PUBLIC_PATHS = /^\/(healthz|livez|readyz|version)(\/.*)?$/;

/** Starts the simulator on `host:port` and resolves once it listens. */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServerHandle> {
  const host = options.host ?? '127.0.0.1';
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? (() => new Date());
  const store = new ObjectStore({
    historySize: options.historySize ?? 1000,
    autoCreateNamespaces: options.autoCreateNamespaces ?? true,
    serviceCidrs: options.serviceCidrs ?? ['10.96.0.0/12'],
    now,
  });
  const hub = new WatchHub();
  store.onEvent((event) => hub.dispatch(event));
  const requestFaults = new RequestFaults();
  const recorder = new RequestRecorder(options.requestLogSize ?? 10_000);
  const authenticate = createAuthenticator({
    tokens: options.tokens ?? [],
    clientCertificates: options.tls?.clientCa !== undefined,
  });
  const gitVersion = options.version ?? 'v1.33.0';
  // One line per state change, whoever made it (REST API, objects API, seeds, --watch-dir).
  store.onEvent((event) =>
    logger.info(`${event.type} ${event.resource.resource} ${event.object.key}`, {
      resourceVersion: String(event.rv),
    }),
  );
  const objects = createObjectOperations(store);
  for (const name of options.initialNamespaces ?? ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    store.create(typeOf('Namespace'), { metadata: { name } });
  }
  for (const object of options.seed ?? []) objects.apply(object);

  const apiContext: ResourceApiContext = {
    store,
    hub,
    watch: {
      bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
      timeoutMs: options.watchTimeoutMs ?? { min: 5 * 60_000, max: 10 * 60_000 },
      now,
    },
    faults: requestFaults,
    gzipMinBytes: options.compression === true ? 128 * 1024 : undefined,
    logger,
  };

  let port = options.port ?? 0;
  let server: http.Server | undefined;
  const sockets = new Set<net.Socket>();
  let down = false;
  let closed = false;
  const downTimers = new Set<NodeJS.Timeout>();
  const protocol = options.tls ? 'https' : 'http';
  const hostInUrl = host.includes(':') ? `[${host}]` : host;

  const adminContext: AdminContext = {
    get faults() {
      return faults;
    },
    requests: recorder,
    compact: () => compact(),
    state: () => ({
      resourceVersion: String(store.resourceVersion),
      compactedResourceVersion: String(store.compactedResourceVersion),
      objects: Object.fromEntries(RESOURCES.map((r) => [r.resource, store.count(r)])),
      openWatches: hub.list().length,
      faults: faults.state(),
    }),
    openWatches: () => hub.list(),
    downFor: (ms, expireHistory) => {
      void faults.goDown().then(() => {
        const timer = setTimeout(() => {
          downTimers.delete(timer);
          if (!closed)
            void faults
              .comeBack({ expireHistory })
              .catch((error: unknown) => logger.error('could not come back up', { error: String(error) }));
        }, ms);
        downTimers.add(timer);
      });
    },
  };

  const handleRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    serve(req, res)
      .catch(async (error: unknown) => {
        if (error instanceof ApiError) {
          await sendStatus(req, res, error.toStatus());
          return;
        }
        logger.warn('request failed', { method: req.method, url: req.url, error: String(error) });
        await sendStatus(req, res, statusObject(500, 'InternalError', `Internal error occurred: ${String(error)}`));
      })
      .catch(() => res.destroy());
  };

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const info = parseRequestInfo(method, req.url ?? '/');
    const path = info.path;
    const identity: Identity | undefined = authenticate(req);
    if (path === '/_sim' || path.startsWith('/_sim/')) {
      if (identity === undefined) throw unauthorized();
      await serveAdmin(adminContext, path, info.query, req, res);
      return;
    }
    const record = recorder.record(info, method, identity?.user ?? '', now());
    // The status is read live while the response runs (a watch has one once its headers are out), then
    // frozen, so the log does not keep responses alive.
    let live: http.ServerResponse | undefined = res;
    let final: number | undefined;
    res.once('close', () => {
      final = res.headersSent ? res.statusCode : undefined;
      live = undefined;
    });
    Object.defineProperty(record, 'status', {
      get: () => (live === undefined ? final : live.headersSent ? live.statusCode : undefined),
      enumerable: true,
    });
    const isPublic = PUBLIC_PATHS.test(path);
    if (!isPublic && (identity === undefined || requestFaults.rejectAuth)) throw unauthorized();
    const failure = requestFaults.failureFor(info);
    if (failure !== undefined) {
      const reason = failure === 503 ? 'ServiceUnavailable' : failure === 500 ? 'InternalError' : 'InternalError';
      const message =
        failure === 503
          ? 'the server is currently unable to handle the request (simulated fault)'
          : 'Internal error occurred: simulated fault';
      await sendStatus(req, res, statusObject(failure, reason, message));
      return;
    }
    if (info.isResourceRequest) {
      await serveResource(apiContext, info, req, res, identity?.user ?? '');
      return;
    }
    if (method !== 'GET' && method !== 'HEAD')
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    if (/^\/(healthz|livez|readyz)(\/.*)?$/.test(path)) {
      sendText(res, 200, 'ok');
      return;
    }
    if (path === '/version' || path === '/version/') {
      await sendJson(req, res, 200, JSON.stringify(versionInfo(gitVersion), null, 2));
      return;
    }
    const document = discoveryDocument(path, `${host}:${port}`);
    if (document === undefined) throw notFoundPath();
    await sendJson(req, res, 200, JSON.stringify(document));
  }

  async function listen(): Promise<void> {
    const tls = options.tls;
    const created: http.Server = tls
      ? https.createServer(
          {
            cert: tls.cert,
            key: tls.key,
            ...(tls.clientCa !== undefined ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
          },
          handleRequest,
        )
      : http.createServer(handleRequest);
    created.keepAliveTimeout = 30_000;
    created.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      created.once('error', reject);
      created.listen({ host, port }, () => {
        created.off('error', reject);
        resolve();
      });
    });
    created.on('error', (error) => logger.warn('apiserver-sim server error', { error: error.message }));
    port = (created.address() as net.AddressInfo).port;
    server = created;
  }

  async function stopListening(): Promise<void> {
    const current = server;
    server = undefined;
    hub.destroyAll();
    if (current === undefined) return;
    const done = new Promise<void>((resolve) => current.close(() => resolve()));
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    await done;
  }

  function compact(): string {
    const rv = String(store.compact());
    logger.info('history compacted', { resourceVersion: rv });
    return rv;
  }

  const faults: FaultSwitches = {
    dropWatches() {
      const n = hub.destroyAll();
      logger.info('fault: dropped all watches', { watches: n });
      return n;
    },
    endWatches() {
      const n = hub.endAll();
      logger.info('fault: ended all watches', { watches: n });
      return n;
    },
    async goDown() {
      if (down || closed) return;
      down = true;
      await stopListening();
      logger.info('fault: down', { port });
    },
    async comeBack(downOptions: DownOptions = {}) {
      if (!down || closed) return;
      if (downOptions.expireHistory === true) store.compact();
      await listen();
      down = false;
      logger.info('fault: back up', { port, expiredHistory: downOptions.expireHistory === true });
    },
    async restart(downMs = 0, downOptions: DownOptions = {}) {
      await faults.goDown();
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      await faults.comeBack(downOptions);
    },
    failRequests(failOptions = {}) {
      requestFaults.setFail(failOptions);
      logger.info('fault: failing requests', { ...requestFaults.state(down).failRequests });
    },
    slowLists(ms) {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError('ms must be >= 0');
      requestFaults.slowListsMs = ms;
      logger.info('fault: slow lists', { ms });
    },
    expireHistory() {
      const rv = String(store.compact());
      logger.info('fault: history expired', { resourceVersion: rv });
      return rv;
    },
    rejectAuth(on = true) {
      requestFaults.rejectAuth = on;
      logger.info(on ? 'fault: rejecting all credentials' : 'fault: accepting credentials again');
    },
    clear() {
      requestFaults.clearFail();
      requestFaults.slowListsMs = 0;
      requestFaults.rejectAuth = false;
      logger.info('fault: cleared');
    },
    state: () => requestFaults.state(down),
  };

  await listen();
  const caPem = options.tls?.ca === undefined ? undefined : options.tls.ca.toString();

  const handle: ApiServerHandle = {
    get url() {
      return `${protocol}://${hostInUrl}:${port}`;
    },
    host,
    get port() {
      return port;
    },
    objects,
    faults,
    requests: recorder,
    resourceVersion: () => String(store.resourceVersion),
    compact,
    openWatches: () => hub.list(),
    waitForWatch: (match = {}, timeoutMs = 10_000) =>
      hub.waitFor(
        (w) =>
          (match.resource === undefined || w.resource === match.resource) &&
          (match.namespace === undefined || w.namespace === match.namespace) &&
          (match.labelSelector === undefined || w.labelSelector === match.labelSelector) &&
          (match.fieldSelector === undefined || w.fieldSelector === match.fieldSelector),
        timeoutMs,
      ),
    kubeconfig: (auth = {}, kubeconfigOptions = {}) =>
      kubeconfigYaml(handle.url, auth, { ...(caPem !== undefined ? { caCert: caPem } : {}), ...kubeconfigOptions }),
    writeKubeconfig: (path, auth = {}, kubeconfigOptions = {}) =>
      writeFile(path, handle.kubeconfig(auth, kubeconfigOptions), { mode: 0o600 }),
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of downTimers) clearTimeout(timer);
      downTimers.clear();
      await stopListening();
    },
  };
  logger.info('apiserver-sim listening', { url: handle.url });
  return handle;
}
