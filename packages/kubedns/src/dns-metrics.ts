import { Counter, Gauge, type Registry } from 'prom-client';
import {
  formatServer,
  Rcode,
  rcodeToString,
  RRType,
  typeToString,
  type DnsListenerObserver,
  type DnsRequest,
  type QueryProblem,
  type QueryView,
  type Transport,
  type UpstreamServer,
} from '@kube-dns/daemon-kit';
import type { ForwarderObserver, RouteKind, UpstreamErrorReason } from './forward/forwarder.js';
import type { RecordStoreCounts } from './store/record-store.js';
import { CountingCounter, CountingHistogram, type CounterChild, type HistogramChild } from './counting-metrics.js';

/** The original's `system` label: which path answered (kube-dns never used `cache`; we keep it declared). */
export type DnsSystem = 'auth' | 'cache' | 'recursive' | 'reverse' | 'stub';
export type ErrorCause = 'nxdomain' | 'nodata' | 'refused' | 'servfail' | 'truncated' | 'overflow';

export const SYSTEMS: readonly DnsSystem[] = ['auth', 'cache', 'recursive', 'reverse', 'stub'];
/** Query types with their own label value; the rest are `other` (bounded cardinality). */
const TYPES: readonly number[] = [
  RRType.A,
  RRType.AAAA,
  RRType.SRV,
  RRType.PTR,
  RRType.CNAME,
  RRType.TXT,
  RRType.SOA,
  RRType.NS,
  RRType.MX,
  RRType.ANY,
  RRType.AXFR,
  RRType.IXFR,
];

/** skydns buckets: .001, .003 in front of Prometheus's defaults. */
export const DURATION_BUCKETS = [0.001, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** skydns buckets: 0, 512, 1024, 1500, 2048, then 4096…65536 in steps of 4096. */
export const SIZE_BUCKETS = [0, 512, 1024, 1500, 2048, ...Array.from({ length: 16 }, (_, i) => 4096 * (i + 1))];

export interface DnsMetrics {
  /** For daemon-kit `startDnsListener({ observer })`: counts every reply and every rejected packet. */
  readonly observer: DnsListenerObserver;
  /** For `new Forwarder({ observer })`: upstream requests, errors, spoofed replies, overflow. */
  readonly forwarderObserver: ForwarderObserver;
  /** How the observer tells the `system` of a query; the handler installs it. */
  setSystemClassifier(classify: (view: QueryView) => DnsSystem): void;
  /** The pre-encoded answer cache missed (skydns `cachemiss_count_total{cache="response"}`). */
  answerCacheMiss(): void;
  /**
   * Counts a UDP reply the fast path sent (the listener's observer never sees those) exactly as the observer
   * counts the same reply from the normal path. `system` is the query's, as the classifier tells it.
   */
  countFastAnswer(system: DnsSystem, qtype: number, response: Buffer, seconds: number): void;
  /** Gauges read at scrape time: records in the store, entries in the answer cache. */
  trackStore(counts: () => RecordStoreCounts, cacheEntries?: () => number): void;
}

interface SystemChildren {
  requests: CounterChild;
  duration: HistogramChild;
  size: HistogramChild;
  errors: Record<ErrorCause, CounterChild>;
}

interface TypeChildren {
  udp: CounterChild;
  tcp: CounterChild;
  duration: HistogramChild;
}

/**
 * kube-dns's metrics: the original's `skydns_skydns_dns_*` (names, labels and buckets as the SkyDNS fork
 * had them) plus the SPEC's additions under the same prefix. Every label combination a query can hit is
 * bound once here, so counting a reply is a handful of array lookups and increments.
 */
export function createDnsMetrics(registry: Registry, prefix = 'skydns_skydns_'): DnsMetrics {
  const registers = [registry];
  // Per-query metrics count into plain numbers (see counting-metrics.ts): prom-client reads them at scrape time.
  const requestCount = new CountingCounter(
    registry,
    `${prefix}dns_request_count_total`,
    'Counter of DNS requests made, by the path that answered (auth, recursive, reverse, stub).',
    ['system'],
  );
  const requestDuration = new CountingHistogram(
    registry,
    `${prefix}dns_request_duration_seconds`,
    'Histogram of the time (in seconds) each request took.',
    ['system'],
    DURATION_BUCKETS,
  );
  const responseSize = new CountingHistogram(
    registry,
    `${prefix}dns_response_size_bytes`,
    'Size of the returns response in bytes.',
    ['system'],
    SIZE_BUCKETS,
  );
  const errorCount = new CountingCounter(
    registry,
    `${prefix}dns_error_count_total`,
    'Counter of DNS requests resulting in an error, by cause.',
    ['system', 'cause'],
  );
  const cacheMiss = new CountingCounter(
    registry,
    `${prefix}dns_cachemiss_count_total`,
    'Counter of DNS requests that resulted in a cache miss (cache="response": the pre-encoded answers).',
    ['cache'],
  );
  const requestsByType = new CountingCounter(
    registry,
    `${prefix}dns_requests_total`,
    'DNS queries answered, by transport and query type.',
    ['proto', 'type'],
  );
  const responsesByRcode = new CountingCounter(
    registry,
    `${prefix}dns_responses_total`,
    'DNS replies sent, by rcode.',
    ['rcode'],
  );
  const durationByType = new CountingHistogram(
    registry,
    `${prefix}dns_request_duration_by_type_seconds`,
    'Time from a query being read to its reply being ready, by query type.',
    ['type'],
    DURATION_BUCKETS,
  );
  const rejected = new Counter({
    name: `${prefix}dns_rejected_queries_total`,
    help: 'Packets not handed to the resolver: drop (not a query), formerr, notimp, badvers.',
    labelNames: ['reason', 'proto'],
    registers,
  });
  const forwardRequests = new Counter({
    name: `${prefix}forward_requests_total`,
    help: 'Queries sent to upstream or stub-domain servers, by server and route.',
    labelNames: ['to', 'route'],
    registers,
  });
  const forwardErrors = new Counter({
    name: `${prefix}forward_upstream_errors_total`,
    help: 'Upstream failures, by server and reason (timeout, network, servfail, refused).',
    labelNames: ['to', 'reason'],
    registers,
  });
  const forwardRejected = new Counter({
    name: `${prefix}forward_rejected_responses_total`,
    help: 'Datagrams ignored by the forwarder: wrong source, ID or question (spoofing or late replies), malformed.',
    labelNames: ['reason'],
    registers,
  });
  let storeCounts: (() => RecordStoreCounts) | null = null;
  let answerCacheEntries: (() => number) | null = null;
  new Gauge({
    name: `${prefix}store_objects`,
    help: 'What the record store holds: services, endpointGroups, readyAddresses, namespaces, pods, reverseEntries.',
    labelNames: ['kind'],
    registers,
    collect() {
      if (storeCounts === null) return;
      const counts = storeCounts();
      for (const kind of Object.keys(counts) as Array<keyof RecordStoreCounts>) this.set({ kind }, counts[kind]);
    },
  });
  new Gauge({
    name: `${prefix}answer_cache_entries`,
    help: 'Pre-encoded answers held.',
    registers,
    collect() {
      if (answerCacheEntries !== null) this.set(answerCacheEntries());
    },
  });

  const systems = SYSTEMS.map((system): SystemChildren => ({
    requests: requestCount.labels({ system }),
    duration: requestDuration.labels({ system }),
    size: responseSize.labels({ system }),
    errors: {
      nxdomain: errorCount.labels({ system, cause: 'nxdomain' }),
      nodata: errorCount.labels({ system, cause: 'nodata' }),
      refused: errorCount.labels({ system, cause: 'refused' }),
      servfail: errorCount.labels({ system, cause: 'servfail' }),
      truncated: errorCount.labels({ system, cause: 'truncated' }),
      overflow: errorCount.labels({ system, cause: 'overflow' }),
    },
  }));
  const typeChildren = (type: string): TypeChildren => ({
    udp: requestsByType.labels({ proto: 'udp', type }),
    tcp: requestsByType.labels({ proto: 'tcp', type }),
    duration: durationByType.labels({ type }),
  });
  const byType = new Map<number, TypeChildren>(TYPES.map((t) => [t, typeChildren(typeToString(t))]));
  const otherType = typeChildren('other');
  const byRcode = Array.from({ length: 16 }, (_, rcode) => responsesByRcode.labels({ rcode: rcodeToString(rcode) }));
  const missChild = cacheMiss.labels({ cache: 'response' });
  const systemIndex = new Map<DnsSystem, number>(SYSTEMS.map((s, i) => [s, i]));
  let classify: (view: QueryView) => DnsSystem = () => 'auth';

  /** One reply, counted everywhere it counts: the one implementation for both paths. */
  const countReply = (
    system: SystemChildren,
    qtype: number,
    transport: Transport,
    response: Buffer,
    seconds: number,
    truncated: boolean,
  ): void => {
    system.requests.inc();
    system.duration.observe(seconds);
    system.size.observe(response.length);
    const type = byType.get(qtype) ?? otherType;
    (transport === 'tcp' ? type.tcp : type.udp).inc();
    type.duration.observe(seconds);
    const rcode = response[3]! & 0xf;
    byRcode[rcode]!.inc();
    if (rcode === Rcode.NXDOMAIN) system.errors.nxdomain.inc();
    else if (rcode === Rcode.SERVFAIL) system.errors.servfail.inc();
    else if (rcode === Rcode.REFUSED) system.errors.refused.inc();
    else if (rcode === Rcode.NOERROR && !truncated && response.readUInt16BE(6) === 0) system.errors.nodata.inc();
    if (truncated) (transport === 'udp' ? system.errors.truncated : system.errors.overflow).inc();
  };

  const observer: DnsListenerObserver = {
    onResponse(request: DnsRequest, response: Buffer, seconds: number, truncated: boolean): void {
      const view = request.view;
      const system = systems[systemIndex.get(classify(view))!]!;
      countReply(system, view.qtype, request.transport, response, seconds, truncated);
    },
    onRejected(problem: QueryProblem, transport: Transport): void {
      rejected.labels({ reason: problem, proto: transport }).inc();
    },
  };

  const forwarderObserver: ForwarderObserver = {
    onUpstreamRequest(server: UpstreamServer, route: RouteKind): void {
      forwardRequests.labels({ to: formatServer(server), route }).inc();
    },
    onUpstreamError(server: UpstreamServer, reason: UpstreamErrorReason): void {
      forwardErrors.labels({ to: formatServer(server), reason }).inc();
    },
    onRejectedResponse(reason): void {
      forwardRejected.labels({ reason }).inc();
    },
    onOverflow(): void {
      systems[systemIndex.get('recursive')!]!.errors.overflow.inc();
    },
  };

  return {
    observer,
    forwarderObserver,
    setSystemClassifier(fn) {
      classify = fn;
    },
    answerCacheMiss() {
      missChild.inc();
    },
    countFastAnswer(system, qtype, response, seconds) {
      countReply(systems[systemIndex.get(system)!]!, qtype, 'udp', response, seconds, false);
    },
    trackStore(counts, entries) {
      storeCounts = counts;
      answerCacheEntries = entries ?? null;
    },
  };
}
