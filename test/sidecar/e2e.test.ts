import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  freeDnsPort,
  missingTool,
  queryDns,
  RCODE,
  startDnsmasqLike,
  startRealDnsmasq,
  startScriptedDnsServer,
  waitUntil,
  type DnsProcess,
  type ScriptedDnsServer,
} from '../helpers/index.js';
import { assertNeverDecreases, httpGet, parseMetrics, repoRoot, startSidecarBin } from './support.js';

/**
 * The real sidecar bin in front of a real cache (dnsmasq 2.90, or our dnsmasq-cache), which forwards to
 * an in-process authoritative server standing in for kube-dns: the Pod's three containers on loopback.
 * The cache is killed and restarted under the sidecar, as a liveness restart would.
 */

const NAME = 'kubernetes.default.svc.cluster.local';
const dnsmasqCacheBin = join(repoRoot, 'packages/dnsmasq-cache/bin/dnsmasq-cache');
const missingDnsmasqCache =
  existsSync(dnsmasqCacheBin) && existsSync(join(repoRoot, 'packages/dnsmasq-cache/dist/bin.js'))
    ? false
    : 'needs packages/dnsmasq-cache/bin/dnsmasq-cache (built): not there yet';

let kubedns: ScriptedDnsServer;
before(async () => {
  kubedns = await startScriptedDnsServer((question) => {
    if (question.name.toLowerCase() !== NAME) return { rcode: RCODE.NXDOMAIN };
    if (question.type === 'SRV') {
      return {
        answers: [
          { type: 'SRV', name: question.name, ttl: 30, data: { priority: 0, weight: 100, port: 443, target: NAME } },
        ],
      };
    }
    if (question.type === 'A') return { answers: [{ type: 'A', name: question.name, ttl: 30, data: '10.96.0.1' }] };
    return { rcode: RCODE.NOERROR };
  });
});
after(() => kubedns.close());

type StartCache = (port: number, args: string[]) => Promise<DnsProcess>;

async function podScenario(startCache: StartCache): Promise<void> {
  const port = await freeDnsPort();
  const cacheArgs = ['--no-resolv', '--no-hosts', '--cache-size=1337', `--server=127.0.0.1#${kubedns.port}`];
  let cache = await startCache(port, cacheArgs);
  const sidecar = await startSidecarBin([
    `--dnsmasq-port=${port}`,
    '--dnsmasq-poll-interval-ms=100',
    '--dns-timeout-ms=250',
    `--probe=kubedns,127.0.0.1:${kubedns.port},${NAME},1,SRV`,
    `--probe=dnsmasq,127.0.0.1:${port},${NAME},1,SRV`,
    `--probe=notpresent,127.0.0.1:${port},notpresent.cluster.local,1,A`,
  ]);
  const samples: Map<string, number>[] = [];
  const metrics = async (): Promise<Map<string, number>> => {
    const reply = await httpGet(sidecar.port, '/metrics');
    assert.equal(reply.status, 200);
    const values = parseMetrics(reply.body);
    samples.push(values);
    return values;
  };
  const health = async (label: string): Promise<number> =>
    (await httpGet(sidecar.port, `/healthcheck/${label}`)).status;
  // Clients of the cache: the first lookup is a miss, the rest are hits.
  const lookups = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await queryDns({ host: '127.0.0.1', port }, NAME, 'A', { timeoutMs: 1000 });
  };
  try {
    await waitUntil(
      'kubedns and dnsmasq healthy',
      async () => (await health('kubedns')) === 200 && (await health('dnsmasq')) === 200,
    );
    await waitUntil('notpresent failing', async () => (await health('notpresent')) === 503);
    await lookups(5);
    // dnsmasq also counts its CHAOS answers as hits, so wait for the insertion our lookups caused.
    const up = await waitUntil('statistics after the lookups', async () => {
      const values = await metrics();
      const inserted = (values.get('kubedns_dnsmasq_insertions') ?? 0) >= 1;
      return inserted && (values.get('kubedns_dnsmasq_hits') ?? 0) >= 4 ? values : null;
    });
    assert.equal(up.get('kubedns_dnsmasq_max_size'), 1337);
    assert.ok((up.get('kubedns_dnsmasq_misses') ?? 0) >= 1);
    assert.equal(up.get('kubedns_probe_kubedns_errors'), 0);
    const hitsBefore = up.get('kubedns_dnsmasq_hits')!;

    await cache.kill('SIGKILL');
    await waitUntil('/healthcheck/dnsmasq to fail', async () => (await health('dnsmasq')) === 503);
    assert.equal(await health('kubedns'), 200);
    const down = await waitUntil('a failed statistics poll', async () => {
      const values = await metrics();
      return (values.get('kubedns_dnsmasq_errors') ?? 0) > (up.get('kubedns_dnsmasq_errors') ?? 0) ? values : null;
    });
    assert.equal(down.get('kubedns_dnsmasq_hits'), hitsBefore);
    const body = JSON.parse((await httpGet(sidecar.port, '/healthcheck/dnsmasq')).body) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['IsOk', 'LatencySeconds', 'Err']);
    assert.equal(body['IsOk'], false);

    cache = await startCache(port, cacheArgs);
    await waitUntil('/healthcheck/dnsmasq to recover', async () => (await health('dnsmasq')) === 200);
    await lookups(3);
    await waitUntil('hits to keep counting after the restart', async () => {
      const values = await metrics();
      return (values.get('kubedns_dnsmasq_hits') ?? 0) > hitsBefore;
    });
    const last = await metrics();
    assert.equal(last.get('kubedns_dnsmasq_max_size'), 1337);
    assert.ok((last.get('kubedns_probe_notpresent_errors') ?? 0) >= 1);
    assert.equal(last.get('kubedns_probe_kubedns_errors'), 0);
    assertNeverDecreases(samples, 'kubedns_');

    const page = await httpGet(sidecar.port, '/');
    assert.equal(page.status, 200);
    assert.ok(page.body.includes('<strong>dnsmasq</strong>'));
  } finally {
    const code = await sidecar.stop('SIGTERM');
    await cache.kill();
    assert.equal(code, 0, `sidecar exit code; output:\n${sidecar.output()}`);
  }
}

describe('sidecar bin end to end', () => {
  test('against real dnsmasq 2.90', { skip: missingTool('dnsmasq'), timeout: 30_000 }, () =>
    podScenario((port, args) => startRealDnsmasq(port, args)),
  );

  test('against dnsmasq-cache', { skip: missingDnsmasqCache, timeout: 30_000 }, () =>
    podScenario((port, args) => startDnsmasqLike(dnsmasqCacheBin, port, args)),
  );

  test('startup errors are one line and a non-zero exit', async () => {
    const bin = join(repoRoot, 'packages/sidecar/bin/sidecar');
    const bad = spawnSync(bin, ['--probe=x,1.2.3.4'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr, 'sidecar: invalid argument "x,1.2.3.4" for "--probe" flag: invalid format to --probe\n');
    const busy = await startScriptedDnsServer(() => ({ silent: true }));
    try {
      // The TCP side of the scripted server holds the port: HTTP cannot bind it.
      const taken = spawnSync(bin, ['--prometheus-addr=127.0.0.1', `--prometheus-port=${busy.port}`], {
        encoding: 'utf8',
        env: { ...process.env, LOG_FORMAT: 'json' },
      });
      assert.equal(taken.status, 1);
      assert.match(taken.stderr, /^sidecar: cannot serve HTTP on 127\.0\.0\.1:\d+: .*EADDRINUSE.*\n$/);
    } finally {
      await busy.close();
    }
  });
});
