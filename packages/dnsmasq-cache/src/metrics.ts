import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  rcodeToString,
  startHttpServer,
  type DnsListenerObserver,
  type HttpServerHandle,
  type Logger,
} from '@kube-dns/daemon-kit';
import type { CacheServer, CacheServerObserver } from './cache-server.js';
import { serverLabel } from './upstream/routing.js';

export interface CacheMetrics {
  registry: Registry;
  /** For the CacheServer: how each query was answered, upstream failures, forged answers. */
  serverObserver: CacheServerObserver;
  /** For the listeners: latency and rcode of every answer. */
  listenerObserver: DnsListenerObserver;
  /** Binds the gauges that read the server's counters (the server is built after the observers). */
  attach(server: CacheServer): void;
}

/**
 * Optional Prometheus metrics (`--metrics-port`, off by default; the sidecar exports the CHAOS counters as
 * kubedns_dnsmasq_*). Everything here costs nothing per query unless the flag is given.
 */
export function createCacheMetrics(registry: Registry = new Registry()): CacheMetrics {
  let server: CacheServer | null = null;
  const answers = new Counter({
    name: 'dnsmasq_cache_answers_total',
    help: 'Answers by how they were produced: cache, hosts, chaos, local, forwarded, joined (single-flight), refused.',
    labelNames: ['source'],
    registers: [registry],
  });
  const responses = new Counter({
    name: 'dnsmasq_cache_responses_total',
    help: 'Responses sent, by transport and rcode.',
    labelNames: ['transport', 'rcode'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'dnsmasq_cache_request_duration_seconds',
    help: 'Time from query received to answer sent.',
    labelNames: ['transport'],
    buckets: [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const upstreamFailures = new Counter({
    name: 'dnsmasq_cache_upstream_failures_total',
    help: 'Upstream attempts that failed: timeout, network error, SERVFAIL or REFUSED.',
    labelNames: ['server', 'reason'],
    registers: [registry],
  });
  const forged = new Counter({
    name: 'dnsmasq_cache_ignored_upstream_answers_total',
    help: 'Datagrams ignored because source, ID or question did not match the query sent (spoofing attempts).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const mirrored = (name: string, help: string, read: (s: CacheServer) => number): void => {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        if (server === null) return;
        const value = read(server);
        if (value > last) this.inc(value - last);
        last = value;
      },
    });
  };
  mirrored('dnsmasq_cache_hits_total', 'hits.bind: UDP queries answered without forwarding.', (s) => s.counters.hits);
  mirrored('dnsmasq_cache_misses_total', 'misses.bind: UDP queries forwarded upstream.', (s) => s.counters.misses);
  mirrored(
    'dnsmasq_cache_insertions_total',
    'insertions.bind: cache records inserted.',
    (s) => s.cache.lifetime.insertions + s.cache.counters.insertions,
  );
  mirrored(
    'dnsmasq_cache_evictions_total',
    'evictions.bind: live cache records evicted to make room.',
    (s) => s.cache.lifetime.evictions + s.cache.counters.evictions,
  );
  new Gauge({
    name: 'dnsmasq_cache_records',
    help: 'Cache records in use (of --cache-size).',
    registers: [registry],
    collect() {
      if (server !== null) this.set(server.cache.weight);
    },
  });
  new Gauge({
    name: 'dnsmasq_cache_size_records',
    help: '--cache-size (cachesize.bind).',
    registers: [registry],
    collect() {
      if (server !== null) this.set(server.cache.capacity);
    },
  });
  return {
    registry,
    serverObserver: {
      onAnswer: (_request, source) => answers.inc({ source }),
      onUpstreamFailure: (upstream, reason) => upstreamFailures.inc({ server: serverLabel(upstream), reason }),
      onRejectedResponse: (reason) => forged.inc({ reason }),
    },
    listenerObserver: {
      onResponse: (request, response, seconds) => {
        responses.inc({ transport: request.transport, rcode: rcodeToString(response[3]! & 0xf) });
        duration.observe({ transport: request.transport }, seconds);
      },
    },
    attach(target) {
      server = target;
    },
  };
}

/** Serves `/metrics` (Prometheus text format) on the given address and port. */
export async function startMetricsServer(
  metrics: CacheMetrics,
  host: string,
  port: number,
  logger: Logger,
): Promise<HttpServerHandle> {
  return startHttpServer({
    host,
    port,
    logger,
    routes: [
      {
        path: '/metrics',
        handle: async () => ({
          status: 200,
          body: await metrics.registry.metrics(),
          contentType: metrics.registry.contentType,
        }),
      },
    ],
  });
}
