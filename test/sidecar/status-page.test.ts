import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  escapeHtml,
  parseProbeOption,
  PROBE_HISTORY_SIZE,
  renderSparkline,
  renderStatusPage,
  type ProbeResult,
  type StatusPageData,
} from '@kube-dns/sidecar';

const ok = (latencyMs: number): ProbeResult => ({ at: 0, ok: true, latencyMs, error: null });
const failed: ProbeResult = { at: 0, ok: false, latencyMs: 0, error: 'no RRs' };

function page(overrides: Partial<StatusPageData> = {}): string {
  return renderStatusPage({
    version: '0.1.0',
    nowMs: 1_700_000_090_000,
    startedAtMs: 1_700_000_000_000,
    probes: [],
    cache: {
      server: '127.0.0.1:53',
      enabled: true,
      last: null,
      lastSuccessAt: null,
      lastError: null,
      polls: 0,
      failures: 0,
    },
    exported: { hits: 0, misses: 0, evictions: 0, insertions: 0, cachesize: 0, errors: 0 },
    metricsPath: '/metrics',
    refreshSeconds: 5,
    ...overrides,
  });
}

describe('status page rendering', () => {
  test('escapeHtml covers the five HTML metacharacters', () => {
    assert.equal(
      escapeHtml(`<a href="x" title='y'>&</a>`),
      '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;',
    );
  });

  test('sparkline: empty, all failed, mixed; no NaN, one bar per failure, bounded width', () => {
    for (const history of [[], [failed, failed], [ok(1), failed, ok(3), ok(2), failed, ok(0)]]) {
      const svg = renderSparkline(history);
      assert.match(svg, /^<svg [^>]*>.*<\/svg>$/s);
      assert.doesNotMatch(svg, /NaN|Infinity/);
      assert.equal((svg.match(/<rect x=/g) ?? []).length, history.filter((r) => !r.ok).length);
      for (const match of svg.matchAll(/(?:points="([^"]*)"|cx="([^"]*)")/g)) {
        const xs = (match[1] ?? match[2]!).split(' ').map((point) => Number(point.split(',')[0]));
        for (const x of xs) assert.ok(x >= 0 && x <= 240, `x ${x}`);
      }
    }
    const full = renderSparkline(Array.from({ length: PROBE_HISTORY_SIZE }, (_, i) => ok(i)));
    assert.match(full, /60 probes: 60 ok, 0 failed; slowest 59\.0 ms/);
  });

  test('a probe that has not run yet, polling off', () => {
    const html = page({
      probes: [
        {
          option: parseProbeOption('kubedns,127.0.0.1:10053,kubernetes.default.svc.cluster.local,5,SRV'),
          ok: false,
          latencySeconds: 0,
          error: 'waiting for first probe',
          probes: 0,
          failures: 0,
          history: [],
        },
      ],
      cache: {
        server: '127.0.0.1:53',
        enabled: false,
        last: null,
        lastSuccessAt: null,
        lastError: null,
        polls: 0,
        failures: 0,
      },
    });
    assert.ok(html.includes('<span class="badge wait">waiting</span>'));
    assert.ok(html.includes('waiting for first probe'));
    assert.ok(html.includes('Polling disabled'));
    assert.ok(html.includes('up 1m30s'));
    assert.ok(html.includes('<a href="/healthcheck/kubedns">'));
  });

  test('cache errors and every printed value are escaped', () => {
    const html = page({
      cache: {
        server: '127.0.0.1:53',
        enabled: true,
        last: { hits: 1, misses: 0, evictions: 0, insertions: 0, cachesize: 150 },
        lastSuccessAt: 1_700_000_080_000,
        lastError: `strconv.ParseInt: parsing "<b>&": invalid syntax`,
        polls: 3,
        failures: 1,
      },
      metricsPath: '/m"><x>',
    });
    assert.ok(html.includes('<span class="badge fail">FAILING</span>'));
    assert.ok(html.includes('parsing &#34;&#60;b&#62;&#38;&#34;: invalid syntax'));
    assert.ok(!html.includes('<b>') && !html.includes('<x>'));
    assert.ok(html.includes('last read 10s ago'));
    assert.match(html, /<td>hit ratio<\/td><td class="num">100\.0 %<\/td>/);
  });
});
