import type { CacheStatsStatus } from './cache-stats-monitor.js';
import { PROBE_HISTORY_SIZE, type ProbeResult, type ProbeStatus } from './dns-probe.js';
import { CACHE_STATS, type CacheStatName } from './metrics.js';

/**
 * The page at `/` for an operator who port-forwards to the Pod: each probe's state and recent latency,
 * and the cache's counters. One self-contained HTML document (inline CSS and SVG, no script, no external
 * asset, a CSP that forbids loading anything), read-only, and every value it prints is escaped.
 */

export interface StatusPageData {
  version: string;
  nowMs: number;
  startedAtMs: number;
  probes: readonly ProbeStatus[];
  cache: CacheStatsStatus;
  /** Current values of the exported counters (`<ns>_dnsmasq_*`). */
  exported: Readonly<Record<CacheStatName | 'errors', number>>;
  metricsPath: string;
  refreshSeconds: number;
}

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2329;background:#fafbfc}
h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
.meta{color:#5b6670;margin:0}
table{border-collapse:collapse;background:#fff;box-shadow:0 0 0 1px #d8dee4}
th,td{padding:.35em .7em;text-align:left;border-bottom:1px solid #e6eaee;vertical-align:middle}
th{background:#f1f4f7;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.05em .55em;border-radius:.8em;font-weight:600;font-size:.9em}
.ok{background:#dcf5e3;color:#106b2d}.fail{background:#fde2e1;color:#a4161a}.wait{background:#eef0f3;color:#5b6670}
.err{color:#a4161a;max-width:28em;word-break:break-word}
code{font:12px ui-monospace,monospace}
svg{display:block}
`;

export function renderStatusPage(data: StatusPageData): string {
  const uptime = formatDuration(data.nowMs - data.startedAtMs);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta http-equiv="refresh" content="${escapeHtml(data.refreshSeconds)}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>kube-dns sidecar</title>
<style>${STYLE}</style>
</head>
<body>
<h1>kube-dns sidecar</h1>
<p class="meta">version ${escapeHtml(data.version)} · up ${escapeHtml(uptime)} · ${escapeHtml(
    new Date(data.nowMs).toISOString(),
  )} · refreshes every ${escapeHtml(data.refreshSeconds)} s</p>
<h2>Probes</h2>
${renderProbes(data.probes, data.nowMs)}
<h2>Cache statistics</h2>
${renderCache(data)}
<p class="meta">Machine-readable: <a href="${escapeHtml(data.metricsPath)}">${escapeHtml(
    data.metricsPath,
  )}</a> · <a href="/healthz">/healthz</a>${data.probes
    .map(
      (p) => ` · <a href="/healthcheck/${escapeHtml(p.option.label)}">/healthcheck/${escapeHtml(p.option.label)}</a>`,
    )
    .join('')}</p>
</body>
</html>
`;
}

function renderProbes(probes: readonly ProbeStatus[], nowMs: number): string {
  if (probes.length === 0) return '<p class="meta">No probes configured (<code>--probe</code>).</p>';
  const rows = probes.map((probe) => {
    const { option } = probe;
    const last = probe.history[probe.history.length - 1];
    const state =
      probe.probes === 0
        ? '<span class="badge wait">waiting</span>'
        : probe.ok
          ? '<span class="badge ok">OK</span>'
          : '<span class="badge fail">FAILING</span>';
    return `<tr>
<td><strong>${escapeHtml(option.label)}</strong></td>
<td><code>${escapeHtml(option.name)} ${escapeHtml(option.type)}</code><br><span class="meta">@ <code>${escapeHtml(
      option.server,
    )}</code> every ${escapeHtml(option.intervalMs / 1000)} s</span></td>
<td>${state}${last ? `<br><span class="meta">${escapeHtml(formatDuration(nowMs - last.at))} ago</span>` : ''}</td>
<td class="num">${probe.ok ? escapeHtml(formatMs(probe.latencySeconds * 1000)) : '–'}</td>
<td class="num">${escapeHtml(probe.failures)} / ${escapeHtml(probe.probes)}</td>
<td>${renderSparkline(probe.history)}</td>
<td class="err">${probe.ok ? '' : escapeHtml(probe.error ?? '')}</td>
</tr>`;
  });
  return `<table>
<thead><tr><th>label</th><th>query</th><th>state</th><th>latency</th><th>failed / probes</th><th>last ${PROBE_HISTORY_SIZE} probes</th><th>error</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>`;
}

const SPARK_WIDTH = 240;
const SPARK_HEIGHT = 36;

/** Latency of the recent probes as a line (scaled to the slowest), failures as red bars. */
export function renderSparkline(history: readonly ProbeResult[]): string {
  const step = SPARK_WIDTH / PROBE_HISTORY_SIZE;
  const offset = PROBE_HISTORY_SIZE - history.length;
  const latencies = history.filter((r) => r.ok).map((r) => r.latencyMs);
  const slowest = Math.max(0, ...latencies);
  // Scaled to the slowest probe, but never finer than 1 ms for the full height, so noise stays flat.
  const max = Math.max(1, slowest);
  const failures: string[] = [];
  const segments: string[][] = [];
  let segment: string[] = [];
  history.forEach((result, i) => {
    const x = (offset + i) * step;
    if (!result.ok) {
      failures.push(
        `<rect x="${x.toFixed(1)}" y="0" width="${Math.max(step - 1, 1).toFixed(1)}" height="${SPARK_HEIGHT}"/>`,
      );
      if (segment.length > 0) segments.push(segment);
      segment = [];
      return;
    }
    const y = SPARK_HEIGHT - 2 - (result.latencyMs / max) * (SPARK_HEIGHT - 4);
    segment.push(`${(x + step / 2).toFixed(1)},${y.toFixed(1)}`);
  });
  if (segment.length > 0) segments.push(segment);
  const ok = latencies.length;
  const title =
    `${history.length} probes: ${ok} ok, ${history.length - ok} failed` +
    (ok > 0 ? `; slowest ${formatMs(slowest)}` : '');
  const lines = segments
    .map((points) =>
      points.length === 1
        ? `<circle cx="${points[0]!.split(',')[0]}" cy="${points[0]!.split(',')[1]}" r="1.5"/>`
        : `<polyline fill="none" points="${points.join(' ')}"/>`,
    )
    .join('');
  return `<svg width="${SPARK_WIDTH}" height="${SPARK_HEIGHT}" viewBox="0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}" role="img" aria-label="${escapeHtml(
    title,
  )}"><title>${escapeHtml(title)}</title><rect width="${SPARK_WIDTH}" height="${SPARK_HEIGHT}" fill="#f6f8fa"/><g fill="#f4a3a0">${failures.join(
    '',
  )}</g><g fill="#1f6feb" stroke="#1f6feb" stroke-width="1.5" stroke-linejoin="round">${lines}</g></svg>`;
}

const STAT_LABELS: Record<CacheStatName, string> = {
  hits: 'hits',
  misses: 'misses',
  evictions: 'evictions',
  insertions: 'insertions',
  cachesize: 'cache size (max entries)',
};

function renderCache(data: StatusPageData): string {
  const { cache, exported, nowMs } = data;
  if (!cache.enabled) {
    return `<p class="meta">Polling disabled (<code>--dnsmasq-poll-interval-ms=0</code>).</p>`;
  }
  const state =
    cache.polls === 0
      ? '<span class="badge wait">waiting</span>'
      : cache.lastError === null
        ? '<span class="badge ok">OK</span>'
        : '<span class="badge fail">FAILING</span>';
  const last = cache.last;
  const rows = CACHE_STATS.map(
    (stat) =>
      `<tr><td>${escapeHtml(STAT_LABELS[stat])}</td><td class="num">${last ? escapeHtml(last[stat]) : '–'}</td><td class="num">${escapeHtml(
        exported[stat],
      )}</td></tr>`,
  );
  const lookups = last ? last.hits + last.misses : 0;
  const ratio = last && lookups > 0 ? `${((100 * last.hits) / lookups).toFixed(1)} %` : '–';
  return `<p>${state} <code>${escapeHtml(cache.server)}</code> (CHAOS TXT <code>*.bind</code>)${
    cache.lastSuccessAt !== null ? ` · last read ${escapeHtml(formatDuration(nowMs - cache.lastSuccessAt))} ago` : ''
  } · failed polls ${escapeHtml(cache.failures)} / ${escapeHtml(cache.polls)}</p>
${cache.lastError !== null ? `<p class="err">${escapeHtml(cache.lastError)}</p>` : ''}
<table>
<thead><tr><th>counter</th><th>cache reports</th><th>exported (across restarts)</th></tr></thead>
<tbody>
${rows.join('\n')}
<tr><td>hit ratio</td><td class="num">${escapeHtml(ratio)}</td><td></td></tr>
<tr><td>poll errors</td><td></td><td class="num">${escapeHtml(exported.errors)}</td></tr>
</tbody>
</table>`;
}

function formatMs(ms: number): string {
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(3)} ms`;
}

function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}
