import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { silentLogger } from '@kube-dns/daemon-kit';
import { createMetricsRegistry, main, PROBE_LATENCY_BUCKETS_MS } from '@kube-dns/sidecar';
import {
  answerEverything,
  chaosStatsScript,
  missingTool,
  RCODE,
  startScriptedDnsServer,
  waitUntil,
} from '../helpers/index.js';
import { configFrom, withProbeInterval } from './support.js';

/** A sidecar that has not probed yet (nothing is scheduled before close), for its metric families. */
async function exposition(
  args: string[],
): Promise<{ families: { name: string; type: string; help: string }[]; text: string }> {
  const registry = createMetricsRegistry();
  const sidecar = await main(configFrom(['--dnsmasq-poll-interval-ms=0', ...args]), {
    logger: silentLogger,
    registry,
    random: () => 0.999,
  });
  try {
    const families = (await registry.getMetricsAsJSON()).map((f) => ({
      name: f.name,
      type: String(f.type),
      help: f.help,
    }));
    return { families, text: await registry.metrics() };
  } finally {
    await sidecar.close();
  }
}

describe('metric names, types and buckets', () => {
  test("the original's names and types, no _total added", async () => {
    const { families } = await exposition([
      '--probe=kubedns,127.0.0.1:1,a.test,60,SRV',
      '--probe=dnsmasq,127.0.0.1:1,a.test,60',
    ]);
    const ours = Object.fromEntries(families.filter((f) => f.name.startsWith('kubedns_')).map((f) => [f.name, f.type]));
    assert.deepEqual(ours, {
      kubedns_dnsmasq_hits: 'counter',
      kubedns_dnsmasq_misses: 'counter',
      kubedns_dnsmasq_evictions: 'counter',
      kubedns_dnsmasq_insertions: 'counter',
      kubedns_dnsmasq_max_size: 'counter',
      kubedns_dnsmasq_errors: 'counter',
      kubedns_probe_kubedns_latency_ms: 'histogram',
      kubedns_probe_kubedns_errors: 'counter',
      kubedns_probe_dnsmasq_latency_ms: 'histogram',
      kubedns_probe_dnsmasq_errors: 'counter',
    });
    const help = Object.fromEntries(families.map((f) => [f.name, f.help]));
    assert.equal(help['kubedns_dnsmasq_hits'], 'Number of DNS cache hits (from start of process)');
    assert.equal(help['kubedns_dnsmasq_max_size'], 'Maximum size of the DNS cache');
    assert.equal(help['kubedns_probe_kubedns_latency_ms'], 'Latency of the DNS probe request kubedns');
    assert.equal(help['kubedns_probe_kubedns_errors'], 'Count of errors in name resolution of kubedns');
    // Default process metrics, as the original exports Go's.
    assert.ok(families.some((f) => f.name === 'process_cpu_user_seconds_total'));
  });

  test('latency buckets: 0.25 ms · 2^k, k = 0..15', async () => {
    const expected = Array.from({ length: 16 }, (_, k) => 0.25 * 2 ** k);
    assert.deepEqual(PROBE_LATENCY_BUCKETS_MS, expected);
    const { text } = await exposition(['--probe=p,127.0.0.1:1,a.test,60']);
    const les = [...text.matchAll(/^kubedns_probe_p_latency_ms_bucket\{le="([^"]+)"\}/gm)].map((m) => m[1]);
    assert.deepEqual(les, [...expected.map(String), '+Inf']);
  });

  test('--prometheus-namespace prefixes every sidecar metric; empty means none', async () => {
    const named = (
      await exposition(['--prometheus-namespace=pod_dns', '--probe=p,127.0.0.1:1,a.test,60'])
    ).families.map((f) => f.name);
    assert.ok(named.includes('pod_dns_dnsmasq_hits'));
    assert.ok(named.includes('pod_dns_probe_p_errors'));
    assert.ok(!named.some((n) => n.startsWith('kubedns_')));
    const bare = (await exposition(['--prometheus-namespace=', '--probe=p,127.0.0.1:1,a.test,60'])).families.map(
      (f) => f.name,
    );
    assert.ok(bare.includes('dnsmasq_hits'));
    assert.ok(bare.includes('probe_p_latency_ms'));
  });

  test(
    'promtool parses the exposition; its only complaints are the original names we keep',
    { skip: missingTool('promtool') },
    async () => {
      const dns = await startScriptedDnsServer((question, request) =>
        question.class === 'CH'
          ? chaosStatsScript({ hits: 5, misses: 2, evictions: 0, insertions: 2, cachesize: 1000 })(question, request)
          : question.name === 'ok.test'
            ? answerEverything(question, request)
            : { rcode: RCODE.NXDOMAIN },
      );
      const registry = createMetricsRegistry();
      const config = configFrom([
        `--dnsmasq-port=${dns.port}`,
        '--dnsmasq-poll-interval-ms=20',
        `--probe=kubedns,127.0.0.1:${dns.port},ok.test,1,SRV`,
        `--probe=dnsmasq,127.0.0.1:${dns.port},nx.test,1,A`,
      ]);
      const sidecar = await main(withProbeInterval(config, 20), { logger: silentLogger, registry, random: () => 0 });
      let text: string;
      try {
        await waitUntil('probes and a poll', () => {
          const probes = ['kubedns', 'dnsmasq'].every((label) => (sidecar.probeStatus(label)?.probes ?? 0) >= 2);
          return probes && sidecar.cacheStatus().last !== null;
        });
        text = await registry.metrics();
      } finally {
        await sidecar.close();
        await dns.close();
      }
      assert.match(text, /^kubedns_probe_kubedns_latency_ms_count [1-9]/m);
      assert.match(text, /^kubedns_probe_dnsmasq_errors [1-9]/m);
      assert.match(text, /^kubedns_dnsmasq_hits 5$/m);
      const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      // 0: clean, 3: lint warnings only; 1 would be a parse error.
      assert.ok(result.status === 0 || result.status === 3, `promtool exit ${result.status}: ${result.stderr}`);
      const complaints = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.trim() !== '');
      const deliberate = [
        // The original's counters carry no _total; renaming them would break existing dashboards and alerts.
        /^kubedns_(dnsmasq_[a-z_]+|probe_[a-z]+_errors) counter metrics should have "_total" suffix$/,
        // The original's probe histograms are in milliseconds and say so in the name.
        /^kubedns_probe_[a-z]+_latency_ms metric names should not contain abbreviated units$/,
        // prom-client's own default metrics.
        /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/,
      ];
      for (const line of complaints) {
        assert.ok(
          deliberate.some((pattern) => pattern.test(line)),
          `unexpected promtool complaint: ${line}`,
        );
      }
    },
  );
});
