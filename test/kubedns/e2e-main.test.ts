import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startApiServer, type ApiServerHandle } from '@kube-dns/apiserver-sim';
import { parseResolvConf, StartupError } from '@kube-dns/daemon-kit';
import { parseCommandLine } from '@kube-dns/kubedns/cli';
import { main, type KubeDnsHandle } from '@kube-dns/kubedns/main';
import { answerLines, captureLog, queryDns, startFakeUpstream, waitUntil } from '../helpers/index.js';
import { kubeDnsTestFlags } from '../helpers/kube-dns-flags.js';
import { kubeconfigFile } from './watch-harness.js';
import { clusterIpService, endpointSlice, fastWatchTiming, headlessService } from './watch-fixtures.js';

const seed = [
  clusterIpService('default', 'web', '10.96.0.20', [['http', 80]]),
  headlessService('default', 'hl', [['http', 8080]]),
  endpointSlice('default', 'hl', 'hl-a', [{ ip: '10.244.1.5', hostname: 'web-0' }], [['http', 8080]]),
];

async function simulator(
  t: { after(fn: () => unknown): void },
  options: Parameters<typeof startApiServer>[0] = {},
): Promise<ApiServerHandle> {
  const sim = await startApiServer({ seed, ...options });
  t.after(() => sim.close());
  return sim;
}

const kubeconfig = (sim: ApiServerHandle, token?: string): Promise<string> =>
  kubeconfigFile(sim, token ? { token } : {});

async function readiness(handle: KubeDnsHandle): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${handle.healthzPort}/readiness`);
  await response.text();
  return response.status;
}

const dns = (handle: KubeDnsHandle) => ({ host: '127.0.0.1', port: handle.dnsPort });

describe('kube-dns main() in-process against the apiserver simulator', () => {
  test('before the first sync: SERVFAIL (never a false NXDOMAIN) and readiness 503; then answers and 200', async (t) => {
    const sim = await simulator(t);
    sim.faults.slowLists(1200);
    const early: { handle?: KubeDnsHandle } = {};
    const started = main(parseCommandLine(kubeDnsTestFlags(await kubeconfig(sim))), {
      logger: captureLog().logger,
      watchTiming: fastWatchTiming,
      onListening: (handle) => (early.handle = handle),
    });
    const handle = await waitUntil('listening', () => early.handle);
    t.after(() => handle.close());
    assert.equal(handle.ready, 'starting');
    assert.equal(await readiness(handle), 503);
    const before = await queryDns(dns(handle), 'web.default.svc.cluster.local', 'A');
    assert.equal(before.rcode, 'SERVFAIL');
    const missing = await queryDns(dns(handle), 'nosuch.default.svc.cluster.local', 'A', { tcp: true });
    assert.equal(missing.rcode, 'SERVFAIL');
    const healthz = await fetch(`http://127.0.0.1:${handle.healthzPort}/healthz`);
    assert.equal(healthz.status, 200, 'liveness is fine while syncing');

    assert.equal(await started, handle);
    assert.equal(handle.ready, 'ready');
    assert.equal(await readiness(handle), 200);
    const after = await queryDns(dns(handle), 'web.default.svc.cluster.local', 'A');
    assert.equal(after.rcode, 'NOERROR');
    assert.deepEqual(answerLines(after.packet), ['web.default.svc.cluster.local 30 A 10.96.0.20']);
    assert.equal((await queryDns(dns(handle), 'nosuch.default.svc.cluster.local', 'A')).rcode, 'NXDOMAIN');
  });

  test('--initial-sync-timeout exceeded: main rejects with one clear StartupError line and closes its ports', async (t) => {
    const sim = await simulator(t, { tokens: ['right'] });
    const early: { handle?: KubeDnsHandle } = {};
    const error = await main(
      parseCommandLine(kubeDnsTestFlags(await kubeconfig(sim, 'wrong'), ['--initial-sync-timeout=600ms'])),
      {
        logger: captureLog().logger,
        watchTiming: fastWatchTiming,
        onListening: (handle) => (early.handle = handle),
      },
    ).then(
      () => assert.fail('started'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof StartupError);
    assert.ok(!error.line.includes('\n'));
    assert.match(
      error.line,
      /^kube-dns: initial sync with the apiserver http:\/\/127\.0\.0\.1:\d+ did not complete within --initial-sync-timeout=0\.6s/,
    );
    assert.match(error.line, /services: HTTP 401/);
    assert.ok(early.handle);
    await assert.rejects(fetch(`http://127.0.0.1:${early.handle.healthzPort}/readiness`), 'healthz port closed');
  });

  test('--initial-sync-timeout waiting for --config-map: the line names the ConfigMap and why it is missing', async (t) => {
    const sim = await simulator(t);
    sim.faults.failRequests({ status: 403, resources: ['configmaps'] });
    const error = await main(
      parseCommandLine(
        kubeDnsTestFlags(await kubeconfig(sim), ['--config-map=kube-dns', '--initial-sync-timeout=600ms']),
      ),
      { logger: captureLog().logger, watchTiming: fastWatchTiming },
    ).then(
      () => assert.fail('started'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof StartupError);
    assert.ok(!error.line.includes('\n'));
    assert.match(error.line, /\(waiting for the ConfigMap kube-system\/kube-dns: HTTP 403\b/);
  });

  test('shutdown: readiness 503 at once while DNS keeps answering for the grace period, then everything closes', async (t) => {
    const sim = await simulator(t);
    const handle = await main(parseCommandLine(kubeDnsTestFlags(await kubeconfig(sim))), {
      logger: captureLog().logger,
      watchTiming: fastWatchTiming,
    });
    t.after(() => handle.close());
    assert.equal(await readiness(handle), 200);
    const done = handle.shutdown(700);
    assert.equal(handle.ready, 'draining');
    assert.equal(await readiness(handle), 503);
    const during = await queryDns(dns(handle), 'web.default.svc.cluster.local', 'A', { tcp: true });
    assert.deepEqual(answerLines(during.packet), ['web.default.svc.cluster.local 30 A 10.96.0.20']);
    await done;
    await assert.rejects(queryDns(dns(handle), 'web.default.svc.cluster.local', 'A', { tcp: true, timeoutMs: 500 }));
    await waitUntil('watches closed', () => sim.openWatches().length === 0);
  });

  test('apiserver gone: readiness stays 200 and the last known records are served; changes flow after it returns', async (t) => {
    const sim = await simulator(t);
    const handle = await main(parseCommandLine(kubeDnsTestFlags(await kubeconfig(sim))), {
      logger: captureLog().logger,
      watchTiming: fastWatchTiming,
    });
    t.after(() => handle.close());
    await sim.faults.goDown();
    await waitUntil('watch lost', async () =>
      (await handle.registry.getSingleMetric('skydns_skydns_watch_connected')!.get()).values.every(
        (v) => v.value === 0,
      ),
    );
    assert.equal(await readiness(handle), 200);
    const hl = await queryDns(dns(handle), 'web-0.hl.default.svc.cluster.local', 'A');
    assert.deepEqual(answerLines(hl.packet), ['web-0.hl.default.svc.cluster.local 30 A 10.244.1.5']);
    sim.objects.delete({ kind: 'Service', namespace: 'default', name: 'web' });
    await sim.faults.comeBack({ expireHistory: true });
    await waitUntil(
      'deleted while away → NXDOMAIN after the re-list',
      async () => (await queryDns(dns(handle), 'web.default.svc.cluster.local', 'A')).rcode === 'NXDOMAIN',
      { timeoutMs: 8000 },
    );
  });

  test('the startup log lists the effective config and never the token; metrics on PROMETHEUS_PORT', async (t) => {
    const sim = await simulator(t, { tokens: ['t0ps3cret-token'] });
    const log = captureLog();
    const config = parseCommandLine(kubeDnsTestFlags(await kubeconfig(sim, 't0ps3cret-token'), ['--v=2']), {
      PROMETHEUS_PORT: '0',
    });
    config.metrics!.host = '127.0.0.1';
    const handle = await main(config, { logger: log.logger, watchTiming: fastWatchTiming });
    t.after(() => handle.close());
    const starting = log.matching('starting')[0];
    assert.ok(starting);
    const effective = starting['config'] as Record<string, unknown>;
    assert.equal(effective['domain'], 'cluster.local.');
    assert.equal(effective['endpointsApi'], 'endpointslices');
    assert.equal(effective['podRecords'], 'insecure');
    assert.ok(!log.text().includes('t0ps3cret-token'), 'no token in any log line');
    assert.ok(!log.text().includes('apiVersion'), 'no kubeconfig contents');
    assert.ok(handle.metricsPort);
    await queryDns(dns(handle), 'web.default.svc.cluster.local', 'A');
    const text = await (await fetch(`http://127.0.0.1:${handle.metricsPort}/metrics`)).text();
    for (const name of [
      'skydns_skydns_dns_request_count_total',
      'skydns_skydns_watch_last_sync_timestamp_seconds',
      'skydns_skydns_watch_relists_total',
      'skydns_skydns_watch_events_total',
      'skydns_skydns_watch_restarts_total',
      'skydns_skydns_watch_connected',
      'skydns_skydns_dns_programming_duration_seconds',
      'process_cpu_seconds_total',
    ]) {
      assert.ok(text.includes(name), `missing ${name}`);
    }
    assert.match(text, /skydns_skydns_watch_synced\{kind="services"\} 1/);
  });

  test('--config-dir end to end: upstream from the ConfigMap, changed live', async (t) => {
    const sim = await simulator(t);
    const first = await startFakeUpstream(() => ({
      answers: [{ name: 'example.org', type: 'A', ttl: 60, data: '192.0.2.1' }],
    }));
    const second = await startFakeUpstream(() => ({
      answers: [{ name: 'example.org', type: 'A', ttl: 60, data: '192.0.2.2' }],
    }));
    t.after(() => first.close());
    t.after(() => second.close());
    const dir = await mkdtemp(join(tmpdir(), 'kube-dns-config-'));
    await writeFile(join(dir, 'upstreamNameservers'), JSON.stringify([`${first.host}:${first.port}`]));
    const argv = kubeDnsTestFlags(await kubeconfig(sim), [`--config-dir=${dir}`, '--config-period=100ms']).filter(
      (f) => !f.startsWith('--nameservers'),
    );
    const handle = await main(parseCommandLine(argv), {
      logger: captureLog().logger,
      watchTiming: fastWatchTiming,
      readResolvConf: () => parseResolvConf(''),
    });
    t.after(() => handle.close());
    const a = await queryDns(dns(handle), 'example.org', 'A');
    assert.deepEqual(answerLines(a.packet), ['example.org 60 A 192.0.2.1']);
    await writeFile(join(dir, 'upstreamNameservers'), JSON.stringify([`${second.host}:${second.port}`]));
    await waitUntil(
      'new upstream used',
      async () =>
        answerLines((await queryDns(dns(handle), 'example.org', 'A')).packet)[0] === 'example.org 60 A 192.0.2.2',
    );
  });
});
