import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UpstreamServer } from '@kube-dns/daemon-kit';
import { startApiServer } from '@kube-dns/apiserver-sim';
import { queryDns, waitUntil } from '../helpers/index.js';
import { seedSmallCluster } from './support/fixture.js';
import { spawnDaemon, type Daemon, type DaemonName, type LogRecord } from './support/daemon.js';
import { startCacheDaemon, startKubeDns, tempDir, writeConfigDir, writeKubeconfig } from './support/launch.js';
import { startStubUpstream, type StubUpstream } from './support/stub-upstream.js';

/**
 * Bad configuration never takes a server down: invalid flags stop a program before it starts, with one
 * line naming the problem; an invalid ConfigMap update is rejected whole, logged once, and the previous
 * configuration keeps serving.
 */

const BAD_FLAGS: Array<[DaemonName, string[], RegExp]> = [
  ['kube-dns', ['--dns-port=99999'], /^kube-dns: --dns-port: invalid port "99999"$/],
  ['kube-dns', ['--domain=bad_domain.'], /^kube-dns: --domain: /],
  [
    'kube-dns',
    ['--config-dir=/tmp/x', '--config-map=kube-dns'],
    /^kube-dns: --config-dir and --config-map cannot be used together$/,
  ],
  ['kube-dns', ['--nameservers=not-an-ip'], /^kube-dns: --nameservers: /],
  ['kube-dns', ['--initial-sync-timeout=forever'], /^kube-dns: --initial-sync-timeout: /],
  ['kube-dns', ['--endpoints-api=pods'], /^kube-dns: --endpoints-api: /],
  ['kube-dns', ['--pod-records=maybe'], /^kube-dns: --pod-records: /],
  ['kube-dns', ['--no-such-flag'], /^kube-dns: .*no-such-flag/],
  ['dnsmasq-cache', ['--cache-size=lots'], /^dnsmasq-cache: .*cache-size/],
  ['dnsmasq-cache', ['--server=/cluster.local/not-an-ip'], /^dnsmasq-cache: .*not-an-ip/],
  ['dnsmasq-cache', ['--port=70000'], /^dnsmasq-cache: .*port/],
  ['dnsmasq-cache', ['--dns-forward-max=0'], /^dnsmasq-cache: .*dns-forward-max/],
  ['dnsmasq-cache', ['--no-such-flag'], /^dnsmasq-cache: .*no-such-flag/],
  ['sidecar', ['--probe=kubedns'], /^sidecar: .*probe/],
  ['sidecar', ['--prometheus-port=abc'], /^sidecar: .*prometheus-port/],
  ['sidecar', ['--no-such-flag'], /^sidecar: .*no-such-flag/],
];

describe('bad flags: one clear line, a non-zero exit, nothing started', () => {
  test('every program, every kind of mistake', async () => {
    const runs = await Promise.all(
      BAD_FLAGS.map(async ([program, args, line]) => {
        const daemon = spawnDaemon(program, args);
        const exit = await daemon.exited;
        return { program, args, line, exit, stderr: daemon.stderr() };
      }),
    );
    for (const { program, args, line, exit, stderr } of runs) {
      const what = `${program} ${args.join(' ')}`;
      assert.notEqual(exit.code, 0, `${what}: exit ${exit.code}`);
      const lines = stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, `${what}: one line, got ${JSON.stringify(stderr)}`);
      assert.match(lines[0]!, line, what);
    }
  });
});

/** The lines of `daemon` whose message contains `text`. */
function linesWith(daemon: Daemon, text: string): LogRecord[] {
  return daemon.lines.filter((l) => String(l.message ?? '').includes(text));
}

/** Asks a fresh name (nothing can be cached) and returns which stub upstream saw it. */
async function upstreamUsed(server: UpstreamServer, upstreams: StubUpstream[], tag: string): Promise<number> {
  const before = upstreams.map((u) => u.queries);
  const result = await queryDns(server, `${tag}-${Date.now()}.example.org`, 'A', { timeoutMs: 3000 });
  assert.equal(result.rcode, 'NOERROR');
  const used = upstreams.findIndex((u, i) => u.queries > before[i]!);
  assert.ok(used >= 0, 'some upstream was asked');
  return used;
}

const upstreamList = (u: StubUpstream): string => JSON.stringify([`127.0.0.1:${u.port}`]);

/**
 * The ConfigMap sequence every consumer goes through: valid (upstream A) → broken JSON (rejected, A kept) →
 * the same broken content polled many times (still one line) → valid upstreams with a bad stub domain
 * (rejected whole, A kept) → valid (upstream B).
 */
async function badConfigMapSequence(options: {
  daemon: Daemon;
  dns: UpstreamServer;
  write: (data: Record<string, string>) => Promise<void>;
  upstreams: [StubUpstream, StubUpstream];
  rejected: string;
  pollMs: number;
}): Promise<void> {
  const { daemon, dns, write, upstreams, rejected } = options;
  const b = upstreams[1];
  assert.equal(await upstreamUsed(dns, upstreams, 'valid'), 0, 'upstream A from the ConfigMap');

  await write({ upstreamNameservers: `["127.0.0.1:${b.port}", `, stubDomains: '{}' });
  await waitUntil('the broken update rejected', () => linesWith(daemon, rejected).length === 1, { timeoutMs: 10_000 });
  await sleep(options.pollMs * 5);
  assert.equal(linesWith(daemon, rejected).length, 1, 'logged once, however often it is polled');
  assert.equal(await upstreamUsed(dns, upstreams, 'broken'), 0, 'the previous configuration stays');

  await write({ upstreamNameservers: upstreamList(b), stubDomains: '{"Bad_Domain!": ["1.2.3.4"]}' });
  await waitUntil('the half-valid update rejected', () => linesWith(daemon, rejected).length === 2, {
    timeoutMs: 10_000,
  });
  assert.equal(
    await upstreamUsed(dns, upstreams, 'half-valid'),
    0,
    `rejected whole: not even its valid upstreams ${daemon.lines
      .filter((l) => l['component'] === 'config')
      .map((l) => JSON.stringify(l))
      .join('\n')}`,
  );

  await write({ upstreamNameservers: upstreamList(b), stubDomains: '{}' });
  await waitUntil('the valid update applied', async () => (await upstreamUsed(dns, upstreams, 'fixed')) === 1, {
    timeoutMs: 10_000,
  });
  assert.equal(linesWith(daemon, rejected).length, 2);
  assert.ok(daemon.running());
}

describe(
  'bad ConfigMap updates: rejected whole, logged once, the previous configuration kept',
  { timeout: 120_000 },
  () => {
    test('kube-dns --config-dir', async (t) => {
      const upstreams: [StubUpstream, StubUpstream] = [await startStubUpstream(), await startStubUpstream()];
      const sim = await startApiServer({ tokens: ['cm-token'] });
      seedSmallCluster(sim);
      const dir = await tempDir('configmap');
      await writeConfigDir(dir, { upstreamNameservers: upstreamList(upstreams[0]), stubDomains: '{}' });
      const kubeDns = await startKubeDns([
        `--kubecfg-file=${await writeKubeconfig(sim, { token: 'cm-token' })}`,
        `--config-dir=${dir}`,
        '--config-period=200ms',
      ]);
      t.after(async () => {
        await kubeDns.stop();
        await sim.close();
        for (const u of upstreams) await u.close();
      });
      await kubeDns.waitReady();
      await badConfigMapSequence({
        daemon: kubeDns,
        dns: kubeDns.dns,
        write: (data) => writeConfigDir(dir, data),
        upstreams,
        rejected: 'rejected invalid kube-dns ConfigMap update',
        pollMs: 200,
      });
      assert.equal(await kubeDns.readiness(), 200);
    });

    test('kube-dns --config-map (watched through the API)', async (t) => {
      const upstreams: [StubUpstream, StubUpstream] = [await startStubUpstream(), await startStubUpstream()];
      const sim = await startApiServer({ tokens: ['cm-token'] });
      seedSmallCluster(sim);
      const ref = { kind: 'ConfigMap', namespace: 'kube-system', name: 'kube-dns' };
      sim.objects.create({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: ref,
        data: { upstreamNameservers: upstreamList(upstreams[0]) },
      });
      const kubeDns = await startKubeDns([
        `--kubecfg-file=${await writeKubeconfig(sim, { token: 'cm-token' })}`,
        '--config-map=kube-dns',
      ]);
      t.after(async () => {
        await kubeDns.stop();
        await sim.close();
        for (const u of upstreams) await u.close();
      });
      await kubeDns.waitReady();
      await badConfigMapSequence({
        daemon: kubeDns,
        dns: kubeDns.dns,
        write: (data) => {
          // A merge patch cannot remove keys: replace the object's data whole.
          const current = sim.objects.get(ref)!;
          sim.objects.update({ ...current, data });
          return Promise.resolve();
        },
        upstreams,
        rejected: 'rejected invalid kube-dns ConfigMap update',
        pollMs: 200,
      });
    });

    test('dnsmasq-cache --config-dir', async (t) => {
      const upstreams: [StubUpstream, StubUpstream] = [await startStubUpstream(), await startStubUpstream()];
      const dir = await tempDir('configmap');
      await writeConfigDir(dir, { upstreamNameservers: upstreamList(upstreams[0]), stubDomains: '{}' });
      const cache = await startCacheDaemon(['--cache-size=0', `--config-dir=${dir}`, '--config-period=200ms']);
      t.after(async () => {
        await cache.stop();
        for (const u of upstreams) await u.close();
      });
      await badConfigMapSequence({
        daemon: cache,
        dns: cache.dns,
        write: (data) => writeConfigDir(dir, data),
        upstreams,
        rejected: 'invalid kube-dns ConfigMap',
        pollMs: 200,
      });
    });
  },
);
