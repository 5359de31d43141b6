import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The watch's state as metrics. Names carry the same prefix as the DNS metrics (PROMETHEUS_NAMESPACE and
 * PROMETHEUS_SUBSYSTEM, `skydns_skydns_` by default), so one scrape config catches all of kube-dns.
 */
export interface WatchMetrics {
  /** The last time a kind was known to match the apiserver (a list applied, or a watch event or bookmark). */
  lastSync: Gauge<'kind'>;
  relists: Counter<'kind'>;
  events: Counter<'kind' | 'type'>;
  restarts: Counter<'kind'>;
  connected: Gauge<'kind'>;
  synced: Gauge<'kind'>;
  invalidObjects: Counter<'kind'>;
  programmingDuration: Histogram<'service_kind'>;
}

export function metricPrefix(namespace: string, subsystem: string): string {
  return [namespace, subsystem].filter((part) => part !== '').join('_') + (namespace || subsystem ? '_' : '');
}

export function createWatchMetrics(registry: Registry, prefix = 'skydns_skydns_'): WatchMetrics {
  const registers = [registry];
  return {
    lastSync: new Gauge({
      name: `${prefix}watch_last_sync_timestamp_seconds`,
      help: 'Unix time when this kind was last known to match the apiserver (list applied, or a watch event or bookmark).',
      labelNames: ['kind'],
      registers,
    }),
    relists: new Counter({
      name: `${prefix}watch_relists_total`,
      help: 'Full lists after the first one (after 410 Gone or an expired resourceVersion).',
      labelNames: ['kind'],
      registers,
    }),
    events: new Counter({
      name: `${prefix}watch_events_total`,
      help: 'Watch events received, by kind and event type (added, modified, deleted, bookmark, error).',
      labelNames: ['kind', 'type'],
      registers,
    }),
    restarts: new Counter({
      name: `${prefix}watch_restarts_total`,
      help: 'Informer restarts after a failed list or watch (connection lost, refused, HTTP errors).',
      labelNames: ['kind'],
      registers,
    }),
    connected: new Gauge({
      name: `${prefix}watch_connected`,
      help: '1 while the watch stream of this kind is open, else 0.',
      labelNames: ['kind'],
      registers,
    }),
    synced: new Gauge({
      name: `${prefix}watch_synced`,
      help: '1 once the first complete list of this kind has been applied.',
      labelNames: ['kind'],
      registers,
    }),
    invalidObjects: new Counter({
      name: `${prefix}watch_invalid_objects_total`,
      help: 'Objects (or parts of objects) skipped because they cannot be served (bad IPs, names, FQDN slices).',
      labelNames: ['kind'],
      registers,
    }),
    programmingDuration: new Histogram({
      name: `${prefix}dns_programming_duration_seconds`,
      help:
        'Time from endpoints.kubernetes.io/last-change-trigger-time to the change being served, for headless ' +
        'services with a selector (as CoreDNS measures it).',
      labelNames: ['service_kind'],
      // From 1 ms to ~17 minutes, as CoreDNS.
      buckets: Array.from({ length: 20 }, (_, i) => 0.001 * 2 ** i),
      registers,
    }),
  };
}
