import http from 'node:http';
import https from 'node:https';
import type { TestContext } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  startApiServer,
  type ApiServerHandle,
  type ApiServerOptions,
  type KubeconfigAuth,
  type KubeObject,
} from '@kube-dns/apiserver-sim';

/** Parsed JSON as JSON.parse types it: tests read members freely and check them with assert. */
export type Json = ReturnType<typeof JSON.parse>;

/** The shape of a list response the helpers below read. */
interface ListJson {
  items: { metadata: { name: string; namespace?: string } }[];
}

/** The item names of a list response, in order. */
export function names(list: Json): string[] {
  return (list as ListJson).items.map((item) => item.metadata.name);
}

/** The `namespace/name` keys of a list response, in order. */
export function keys(list: Json): string[] {
  return (list as ListJson).items.map((item) => `${item.metadata.namespace ?? ''}/${item.metadata.name}`);
}

/** `TYPE name` of watch events, in order. */
export function eventNames(events: WatchEvent[]): string[] {
  return events.map((e) => `${e.type} ${(e.object as { metadata: { name: string } }).metadata.name}`);
}

/** A simulator closed when the test ends. */
export async function startSim(t: TestContext, options: ApiServerOptions = {}): Promise<ApiServerHandle> {
  const sim = await startApiServer(options);
  t.after(() => sim.close());
  return sim;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is when a string, JSON otherwise. */
  contentType?: string;
  token?: string;
  headers?: Record<string, string>;
  /** TLS: trust this CA, present this client certificate. */
  ca?: string;
  cert?: string;
  key?: string;
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body bytes as received (compressed ones stay compressed). */
  raw: Buffer;
  json: Json;
}

function requestOptions(method: string, options: RequestOptions): https.RequestOptions {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers['Authorization'] = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
  return {
    method,
    headers,
    ...(options.ca !== undefined ? { ca: options.ca } : {}),
    ...(options.cert !== undefined ? { cert: options.cert, key: options.key } : {}),
    agent: false,
  };
}

/** One plain HTTP(S) request to the simulator, body read whole. */
export function request(base: string, method: string, path: string, options: RequestOptions = {}): Promise<HttpResult> {
  const url = new URL(path, base);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, requestOptions(method, options), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = raw.toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, raw, json });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) {
      const body = Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
      // Node frames DELETE bodies only with an explicit length.
      req.setHeader('Content-Length', body.length);
      req.end(body);
    } else req.end();
  });
}

export interface WatchEvent {
  type: string;
  object: Json;
}

/** A raw watch stream: events one per line, and how it ended. */
export class WatchReader {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** Every line received, unparsed (framing checks). */
  readonly lines: string[] = [];
  /** 'end' for a clean end of the chunked body, 'aborted' for a cut connection. */
  readonly ended: Promise<'end' | 'aborted'>;
  private readonly queue: WatchEvent[] = [];
  private wake: (() => void) | undefined;
  private finished = false;
  private readonly req: http.ClientRequest;

  private constructor(req: http.ClientRequest, res: http.IncomingMessage) {
    this.req = req;
    this.status = res.statusCode ?? 0;
    this.headers = res.headers;
    let buffered = '';
    this.ended = new Promise((resolve) => {
      res.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        let newline = buffered.indexOf('\n');
        while (newline >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          this.lines.push(line);
          this.queue.push(JSON.parse(line) as WatchEvent);
          newline = buffered.indexOf('\n');
        }
        this.wake?.();
      });
      res.on('end', () => {
        this.finished = true;
        this.wake?.();
        resolve('end');
      });
      res.on('aborted', () => undefined);
      res.on('error', () => undefined);
      res.on('close', () => {
        if (!this.finished) {
          this.finished = true;
          this.wake?.();
          resolve('aborted');
        }
      });
    });
  }

  static open(base: string, path: string, options: RequestOptions = {}): Promise<WatchReader> {
    const url = new URL(path, base);
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(url, requestOptions('GET', options), (res) => resolve(new WatchReader(req, res)));
      req.on('error', reject);
      req.end();
    });
  }

  /** The next event; rejects after `timeoutMs` or when the stream ends first. */
  async next(timeoutMs = 3000): Promise<WatchEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const event = this.queue.shift();
      if (event) return event;
      if (this.finished) throw new Error('watch stream ended');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no watch event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** The next `n` events. */
  async take(n: number, timeoutMs = 3000): Promise<WatchEvent[]> {
    const out: WatchEvent[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  /** Events already received and not yet taken. */
  pending(): WatchEvent[] {
    return this.queue.splice(0);
  }

  close(): void {
    this.req.destroy();
  }
}

/** A watch closed when the test ends. */
export async function openWatch(
  t: TestContext,
  base: string,
  path: string,
  options: RequestOptions = {},
): Promise<WatchReader> {
  const reader = await WatchReader.open(base, path, options);
  t.after(() => reader.close());
  return reader;
}

export interface KubeClients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  discovery: k8s.DiscoveryV1Api;
}

/** The real client library configured from the simulator's kubeconfig() output. */
export function kubeClients(sim: ApiServerHandle, auth: KubeconfigAuth = {}): KubeClients {
  const kc = new k8s.KubeConfig();
  kc.loadFromString(sim.kubeconfig(auth));
  return { kc, core: kc.makeApiClient(k8s.CoreV1Api), discovery: kc.makeApiClient(k8s.DiscoveryV1Api) };
}

export function service(
  name: string,
  namespace = 'default',
  extra: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, ...extra.metadata },
    spec: { ports: [{ name: 'http', port: 80 }], ...extra.spec },
  };
}

export function endpointSlice(name: string, serviceName: string, ips: string[], namespace = 'default'): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace, labels: { 'kubernetes.io/service-name': serviceName } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}
