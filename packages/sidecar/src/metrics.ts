import { Counter, exponentialBuckets, Histogram, Registry } from 'prom-client';

/**
 * Every metric of the sidecar, with the original's names, types, help texts and buckets
 * (`pkg/sidecar/metrics.go`, `pkg/sidecar/dnsprobe.go`). The original's counters carry no `_total`
 * suffix, and prom-client appends none: dashboards and alerts written for kube-dns keep working.
 */

/** The counters dnsmasq answers over CHAOS TXT, in the order the original asks for them. */
export const CACHE_STATS = ['hits', 'misses', 'evictions', 'insertions', 'cachesize'] as const;
export type CacheStatName = (typeof CACHE_STATS)[number];

/** Probe latency buckets in milliseconds: 0.25 · 2^k for k = 0..15 (0.25 ms … 8192 ms). */
export const PROBE_LATENCY_BUCKETS_MS: readonly number[] = exponentialBuckets(0.25, 2, 16);

/** A fresh registry: never prom-client's global one, so two sidecars in one process (tests) do not collide. */
export function createMetricsRegistry(): Registry {
  return new Registry();
}

/** client_golang's BuildFQName: the non-empty parts joined by `_`. */
export function fqName(namespace: string, subsystem: string, name: string): string {
  return [namespace, subsystem, name].filter((part) => part !== '').join('_');
}

export interface DnsmasqMetrics {
  /** Fed by `exportCacheStats`; `cachesize` is exported as `<ns>_dnsmasq_max_size`. */
  counters: Record<CacheStatName, Counter>;
  /** Failed statistics polls. */
  errors: Counter;
}

const dnsmasqCounterHelp: Record<CacheStatName, [name: string, help: string]> = {
  hits: ['hits', 'Number of DNS cache hits (from start of process)'],
  misses: ['misses', 'Number of DNS cache misses (from start of process)'],
  evictions: ['evictions', 'Counter of DNS cache evictions (from start of process)'],
  insertions: ['insertions', 'Counter of DNS cache insertions (from start of process)'],
  cachesize: ['max_size', 'Maximum size of the DNS cache'],
};

export function createDnsmasqMetrics(registry: Registry, namespace: string): DnsmasqMetrics {
  const counter = (name: string, help: string): Counter =>
    new Counter({ name: fqName(namespace, 'dnsmasq', name), help, registers: [registry] });
  const counters = Object.fromEntries(
    CACHE_STATS.map((stat) => [stat, counter(...dnsmasqCounterHelp[stat])]),
  ) as Record<CacheStatName, Counter>;
  return { counters, errors: counter('errors', 'Number of errors that have occurred getting metrics') };
}

export interface ProbeMetrics {
  /** Latency of successful probes, in milliseconds. */
  latency: Histogram;
  /** Failed probes. */
  errors: Counter;
}

export function createProbeMetrics(registry: Registry, namespace: string, label: string): ProbeMetrics {
  return {
    latency: new Histogram({
      name: fqName(namespace, 'probe', `${label}_latency_ms`),
      help: `Latency of the DNS probe request ${label}`,
      buckets: [...PROBE_LATENCY_BUCKETS_MS],
      registers: [registry],
    }),
    errors: new Counter({
      name: fqName(namespace, 'probe', `${label}_errors`),
      help: `Count of errors in name resolution of ${label}`,
      registers: [registry],
    }),
  };
}
