import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '@kube-dns/daemon-kit';
import { main } from '@kube-dns/sidecar';
import {
  answerEverything,
  chaosStatsScript,
  startScriptedDnsServer,
  waitUntil,
  type DnsScript,
  type ScriptedDnsServer,
} from '../helpers/index.js';
import { assertNeverDecreases, configFrom, httpGet, parseMetrics, withProbeInterval } from './support.js';

test('a cache that restarts: /healthcheck flips to 503 and back, counters never go backwards', async () => {
  const stats = { hits: 100, misses: 40, evictions: 2, insertions: 40, cachesize: 1000 };
  const script = (): DnsScript => (question, request) =>
    question.class === 'CH' ? chaosStatsScript(stats)(question, request) : answerEverything(question, request);
  let cache: ScriptedDnsServer = await startScriptedDnsServer(script());
  const port = cache.port;
  const config = configFrom([
    `--dnsmasq-port=${port}`,
    '--dnsmasq-poll-interval-ms=25',
    '--dns-timeout-ms=100',
    `--probe=dnsmasq,127.0.0.1:${port},kubernetes.default.svc.cluster.local,1,SRV`,
  ]);
  const sidecar = await main(withProbeInterval(config, 25), { logger: silentLogger, random: () => 0 });
  const samples: Map<string, number>[] = [];
  const sample = async (): Promise<Map<string, number>> => {
    const values = parseMetrics((await httpGet(sidecar.port, '/metrics')).body);
    samples.push(values);
    return values;
  };
  const health = async (): Promise<number> => (await httpGet(sidecar.port, '/healthcheck/dnsmasq')).status;
  try {
    await waitUntil('the first statistics', async () => (await sample()).get('kubedns_dnsmasq_hits') === 100);
    await waitUntil('a healthy probe', async () => (await health()) === 200);

    await cache.close();
    await waitUntil('the probe to fail', async () => (await health()) === 503);
    await waitUntil('a failed poll', async () => ((await sample()).get('kubedns_dnsmasq_errors') ?? 0) > 0);
    const down = await sample();
    assert.equal(down.get('kubedns_dnsmasq_hits'), 100);

    // The cache comes back on the same port with its counters restarted.
    Object.assign(stats, { hits: 4, misses: 3, evictions: 0, insertions: 3 });
    cache = await startScriptedDnsServer(script(), { port });
    await waitUntil('the probe to recover', async () => (await health()) === 200);
    await waitUntil('counts since the restart', async () => (await sample()).get('kubedns_dnsmasq_hits') === 104);
    stats.hits = 10;
    await waitUntil('counting to go on', async () => (await sample()).get('kubedns_dnsmasq_hits') === 110);
    const last = await sample();
    assert.equal(last.get('kubedns_dnsmasq_misses'), 43);
    assert.equal(last.get('kubedns_dnsmasq_insertions'), 43);
    assert.equal(last.get('kubedns_dnsmasq_evictions'), 2);
    assert.equal(last.get('kubedns_dnsmasq_max_size'), 1000);
    assert.ok((last.get('kubedns_probe_dnsmasq_errors') ?? 0) > 0);
    assertNeverDecreases(samples, 'kubedns_');
  } finally {
    await sidecar.close();
    await cache.close();
  }
});
