import { formatServer, type Logger, type UpstreamServer } from '@kube-dns/daemon-kit';
import type { CacheStats } from './cache-stats.js';
import type { Clock } from './clock.js';
import { CACHE_STATS, type DnsmasqMetrics } from './metrics.js';
import type { HostResolver } from './resolve-host.js';

/**
 * Feeds the Prometheus counters from raw cache counters, which restart from 0 when the cache restarts.
 * As the original (`exportMetrics`), only increases are added, so the exported counters never go
 * backwards. Beyond it: a drop in hits/misses/evictions/insertions means the cache restarted, so the
 * new value itself is what happened since, and is added (the original lost those counts). `cachesize`
 * is a size, not a count: a drop only moves the baseline.
 */
export function createCacheStatsExporter(metrics: DnsmasqMetrics): (stats: CacheStats) => void {
  const previous = new Map<string, number>();
  return (stats) => {
    for (const stat of CACHE_STATS) {
      const value = Math.max(stats[stat], 0);
      const before = previous.get(stat) ?? 0;
      previous.set(stat, value);
      if (value > before) metrics.counters[stat].inc(value - before);
      else if (value < before && stat !== 'cachesize' && value > 0) metrics.counters[stat].inc(value);
    }
  };
}

/** What the status page shows about the cache. */
export interface CacheStatsStatus {
  server: string;
  enabled: boolean;
  /** The last values read, or null before the first successful poll. */
  last: CacheStats | null;
  /** Epoch milliseconds of the last successful poll. */
  lastSuccessAt: number | null;
  /** The error of the last poll, null when it succeeded (or none ran yet). */
  lastError: string | null;
  polls: number;
  failures: number;
}

export interface CacheStatsMonitorOptions {
  host: string;
  port: number;
  /** 0 disables polling. */
  intervalMs: number;
  timeoutMs: number;
  clock: Clock;
  resolveHost: HostResolver;
  fetch: (server: UpstreamServer, options: { timeoutMs: number; signal: AbortSignal }) => Promise<CacheStats>;
  metrics: DnsmasqMetrics;
  logger: Logger;
}

export interface CacheStatsMonitor {
  /** Polls now, then `intervalMs` after each poll finishes. */
  start(): void;
  pollOnce(): Promise<void>;
  status(): CacheStatsStatus;
  stop(): void;
}

/** The statistics loop (`server.runMetrics`): a failed poll counts in `<ns>_dnsmasq_errors`. */
export function createCacheStatsMonitor(options: CacheStatsMonitorOptions): CacheStatsMonitor {
  const { clock, metrics, logger } = options;
  const exportStats = createCacheStatsExporter(metrics);
  const abort = new AbortController();
  const display = formatServer({ host: options.host, port: options.port });
  let last: CacheStats | null = null;
  let lastSuccessAt: number | null = null;
  let lastError: string | null = null;
  let polls = 0;
  let failures = 0;
  let failing: boolean | null = null;
  let cancelTimer: (() => void) | null = null;
  let stopped = false;

  async function pollOnce(): Promise<void> {
    let stats: CacheStats;
    try {
      const host = await options.resolveHost(options.host);
      stats = await options.fetch({ host, port: options.port }, { timeoutMs: options.timeoutMs, signal: abort.signal });
    } catch (error) {
      if (stopped) return;
      polls++;
      failures++;
      lastError = error instanceof Error ? error.message : String(error);
      metrics.errors.inc();
      if (failing !== true) logger.warn('cannot read cache statistics', { server: display, error: lastError });
      failing = true;
      return;
    }
    if (stopped) return;
    polls++;
    last = stats;
    lastSuccessAt = clock.wallNow();
    lastError = null;
    exportStats(stats);
    if (failing !== false) logger.info('reading cache statistics', { server: display, cacheSize: stats.cachesize });
    failing = false;
  }

  function tick(): void {
    cancelTimer = null;
    void pollOnce().then(() => {
      if (!stopped) cancelTimer = clock.schedule(options.intervalMs, tick);
    });
  }

  return {
    start() {
      if (options.intervalMs > 0 && !stopped && cancelTimer === null) cancelTimer = clock.schedule(0, tick);
    },
    pollOnce,
    status: () => ({
      server: display,
      enabled: options.intervalMs > 0,
      last,
      lastSuccessAt,
      lastError,
      polls,
      failures,
    }),
    stop() {
      stopped = true;
      cancelTimer?.();
      cancelTimer = null;
      abort.abort();
    },
  };
}
