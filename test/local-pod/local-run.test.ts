import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startApiServer } from '@kube-dns/apiserver-sim';
import {
  answerLines,
  hasTool,
  isAlive,
  queryDns,
  rr,
  startFakeUpstream,
  waitUntil,
  type FakeUpstream,
} from '../helpers/index.js';
import { startLauncher, type LauncherRun } from './launcher-run.js';

const run = promisify(execFile);

/** Stands in for the node's resolvers: one outside name, NXDOMAIN for the rest (the cache's loop probes). */
async function outsideWorld(): Promise<FakeUpstream> {
  return startFakeUpstream((query) =>
    query.name === 'kubernetes.io' && query.type === 'A'
      ? { answers: [rr('kubernetes.io', 'A', '192.0.2.80', 300)] }
      : { rcode: 'NXDOMAIN' },
  );
}

const answers = async (port: number, name: string, type: 'A' | 'AAAA' | 'SRV' | 'PTR' | 'CNAME' = 'A') => {
  const result = await queryDns({ host: '127.0.0.1', port }, name, type, { timeoutMs: 2000 });
  return { rcode: result.rcode, aa: result.flags.aa, lines: answerLines(result.packet) };
};

/** The data of each answer line (`name ttl TYPE data` → `TYPE data`). */
const data = (lines: string[]): string[] => lines.map((line) => line.split(' ').slice(2).join(' ')).sort();

async function stopCleanly(launcher: LauncherRun): Promise<void> {
  const pids = [...launcher.pids().values()];
  assert.equal(pids.length, 4, 'the simulator and the three processes were reported');
  // `npm start` delivers one Ctrl-C twice (the terminal's SIGINT, then npm forwarding it): still one clean stop.
  launcher.child.kill('SIGINT');
  setTimeout(() => launcher.child.kill('SIGINT'), 50);
  const exit = await launcher.exited;
  assert.deepEqual(exit, { code: 0, signal: null }, launcher.lines.join('\n'));
  for (const name of ['kube-dns', 'dnsmasq-cache', 'sidecar', 'apiserver-sim']) {
    assert.ok(
      launcher.lines.some((line) => line.includes(`| ${name} stopped (exit code 0)`)),
      `${name} stopped with exit code 0`,
    );
  }
  assert.ok(launcher.lines.some((line) => /local-pod\s+\| all stopped$/.test(line)));
  for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
}

test('npm start: the Pod on the simulator answers every example, follows edits, and Ctrl-C stops it all', async () => {
  const upstream = await outsideWorld();
  const state = mkdtempSync(join(tmpdir(), 'local-pod-run-'));
  const launcher = startLauncher([
    '--any-ports',
    `--state-dir=${state}`,
    `--upstream=${upstream.host}:${upstream.port}`,
    '--status-interval=200ms',
  ]);
  try {
    const ready = await launcher.waitForLine(
      /the Pod is ready: its DNS \(dnsmasq-cache\) answers on 127\.0\.0\.1:(\d+)/,
    );
    const cache = Number(ready[1]);
    const kubeDns = launcher.localPort('kube-dns', 'DNS (UDP+TCP)');
    assert.equal(launcher.localPort('dnsmasq-cache', 'DNS (UDP+TCP)'), cache);
    assert.ok(existsSync(join(state, 'cluster', 'web-statefulset.yaml')), 'the examples were copied');
    assert.match(readFileSync(join(state, 'kubeconfig'), 'utf8'), /server: http:\/\/127\.0\.0\.1:\d+/);
    for (const check of ['kube-dns /readiness', 'sidecar /healthcheck/kubedns', 'sidecar /healthcheck/dnsmasq']) {
      assert.ok(
        launcher.lines.some((line) => line.includes(`| ${check}: `) && line.endsWith('→ 200')),
        check,
      );
    }
    assert.ok(
      launcher.lines.some((line) => line.startsWith('kube-dns      | ') && line.includes('initial sync complete')),
    );

    // Every example, through the cache (the Pod's Service port), as a Pod would ask.
    const kubernetes = await answers(cache, 'kubernetes.default.svc.cluster.local');
    assert.equal(kubernetes.rcode, 'NOERROR');
    assert.deepEqual(data(kubernetes.lines), ['A 10.96.0.1']);
    assert.deepEqual(data((await answers(cache, '_https._tcp.kubernetes.default.svc.cluster.local', 'SRV')).lines), [
      'SRV 0 100 443 kubernetes.default.svc.cluster.local',
    ]);
    assert.deepEqual(data((await answers(cache, 'web.demo.svc.cluster.local')).lines), [
      'A 10.244.1.10',
      'A 10.244.2.11',
    ]);
    assert.deepEqual(data((await answers(cache, 'web-1.web.demo.svc.cluster.local')).lines), ['A 10.244.2.11']);
    assert.equal((await answers(cache, 'web-2.web.demo.svc.cluster.local')).rcode, 'NXDOMAIN', 'web-2 is not ready');
    assert.deepEqual(data((await answers(cache, '_http._tcp.web.demo.svc.cluster.local', 'SRV')).lines), [
      'SRV 0 50 8080 web-0.web.demo.svc.cluster.local',
      'SRV 0 50 8080 web-1.web.demo.svc.cluster.local',
    ]);
    assert.deepEqual(data((await answers(cache, 'api.demo.svc.cluster.local')).lines), [
      'A 10.96.0.1',
      'CNAME kubernetes.default.svc.cluster.local',
    ]);
    assert.deepEqual(
      data((await answers(cache, 'docs.demo.svc.cluster.local')).lines),
      ['A 192.0.2.80', 'CNAME kubernetes.io'],
      'an outside ExternalName is chased through --upstream',
    );
    assert.deepEqual(data((await answers(cache, 'dual.demo.svc.cluster.local')).lines), ['A 10.96.100.20']);
    assert.deepEqual(data((await answers(cache, 'dual.demo.svc.cluster.local', 'AAAA')).lines), [
      'AAAA fd00:10:96::100:20',
    ]);
    assert.deepEqual(data((await answers(cache, '10.0.96.10.in-addr.arpa', 'PTR')).lines), [
      'PTR kube-dns.kube-system.svc.cluster.local',
    ]);
    assert.equal((await answers(cache, 'nothing.demo.svc.cluster.local')).rcode, 'NXDOMAIN');
    assert.equal((await answers(kubeDns, 'kubernetes.default.svc.cluster.local')).aa, true, 'kube-dns itself');

    // The printed commands, run as a user would, print what their comments promise.
    const suggestions = launcher.suggestions();
    assert.ok(suggestions.length >= 8, 'the Try: block lists the examples');
    if (hasTool('dig') && hasTool('nslookup')) {
      for (const { command, expect } of suggestions) {
        const [tool, ...args] = command.split(' ');
        const { stdout } = await run(tool!, tool === 'dig' ? ['+time=2', '+tries=1', ...args] : args);
        const promised =
          expect.match(/\d+\.\d+\.\d+\.\d+|[0-9a-f]*:[0-9a-f:]+:[0-9a-f]+|[a-z0-9.-]+\.cluster\.local\.?/g) ?? [];
        for (const token of promised) assert.ok(stdout.includes(token), `${command}: ${token} in\n${stdout}`);
        const count = /^(\d+) SRV/.exec(expect);
        if (count) assert.equal(stdout.trim().split('\n').length, Number(count[1]), command);
        assert.ok(stdout.trim() !== '', command);
      }
    }

    // The hint printed with the invitation to edit names kube-dns's own port (the cache keeps answers for their TTL).
    const hint = launcher.lines.find((line) => line.includes('ask kube-dns itself'));
    assert.ok(hint?.endsWith(`dig @127.0.0.1 -p ${kubeDns} +short kubernetes.default.svc.cluster.local`), hint);

    // Edits of the watched folder, live.
    const clusterDir = join(state, 'cluster');
    writeFileSync(
      join(clusterDir, 'fresh.yaml'),
      'apiVersion: v1\nkind: Service\nmetadata: {name: fresh, namespace: demo}\nspec: {clusterIP: 10.96.200.1, ports: [{port: 80}]}\n',
    );
    const webFile = join(clusterDir, 'web-statefulset.yaml');
    writeFileSync(webFile, readFileSync(webFile, 'utf8').replace('ready: false', 'ready: true'));
    rmSync(join(clusterDir, 'external-name.yaml'));
    await waitUntil(
      'the new service through the cache',
      async () => (await answers(cache, 'fresh.demo.svc.cluster.local')).lines.join().includes('10.96.200.1'),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    await waitUntil(
      'web-2 ready',
      async () => (await answers(cache, 'web-2.web.demo.svc.cluster.local')).lines.join().includes('10.244.3.12'),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    // The cache may still hold the old positive answers for their TTL: kube-dns itself has the change.
    await waitUntil(
      'web-2 among the headless answers of kube-dns',
      async () => data((await answers(kubeDns, 'web.demo.svc.cluster.local')).lines).length === 3,
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    await waitUntil(
      'the deleted ExternalName gone',
      async () => (await answers(kubeDns, 'api.demo.svc.cluster.local')).rcode === 'NXDOMAIN',
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.ok(launcher.lines.some((line) => /apiserver-sim \| .*ADDED services demo\/fresh/.test(line)));

    await stopCleanly(launcher);
    assert.ok(
      launcher.lines.some((line) => /kube-dns \/readiness: 200 → 503/.test(line)),
      'readiness drops while kube-dns drains',
    );
  } finally {
    launcher.killAll();
    await upstream.close();
    rmSync(state, { recursive: true, force: true });
  }
});

test('--kubeconfig: no simulator, the Pod serves that cluster; a process that dies takes the rest down', async () => {
  const upstream = await outsideWorld();
  const dir = mkdtempSync(join(tmpdir(), 'local-pod-cluster-'));
  const cluster = await startApiServer({ tokens: ['t0k'] });
  cluster.objects.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', namespace: 'default' },
    spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443 }] },
  });
  await cluster.writeKubeconfig(join(dir, 'kubeconfig'), { token: 't0k' });
  const launcher = startLauncher([
    `--kubeconfig=${join(dir, 'kubeconfig')}`,
    '--any-ports',
    `--state-dir=${join(dir, 'state')}`,
    `--upstream=${upstream.host}:${upstream.port}`,
    '--status-interval=200ms',
  ]);
  try {
    await launcher.waitForLine(/kube-dns \/readiness: .* → 200$/);
    const cache = launcher.localPort('dnsmasq-cache', 'DNS (UDP+TCP)');
    assert.ok(!launcher.lines.some((line) => line.startsWith('apiserver-sim')), 'no simulator');
    assert.ok(launcher.lines.some((line) => line.includes(`--kubecfg-file=${join(dir, 'kubeconfig')}`)));
    assert.ok(!existsSync(join(dir, 'state', 'cluster')), 'no example folder for a real cluster');
    await waitUntil(
      'kubernetes.default through the cache',
      async () => (await answers(cache, 'kubernetes.default.svc.cluster.local')).lines.join().includes('10.96.0.1'),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    cluster.objects.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'created', namespace: 'default' },
      spec: { clusterIP: '10.96.50.5', ports: [{ port: 80 }] },
    });
    await waitUntil(
      'a service created in the cluster',
      async () => (await answers(cache, 'created.default.svc.cluster.local')).lines.join().includes('10.96.50.5'),
      { timeoutMs: 5000, intervalMs: 50 },
    );

    const pids = launcher.pids();
    assert.deepEqual([...pids.keys()].sort(), ['dnsmasq-cache', 'kube-dns', 'sidecar']);
    process.kill(pids.get('kube-dns')!, 'SIGKILL');
    const exit = await launcher.exited;
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.ok(launcher.lines.some((line) => /kube-dns exited unexpectedly \(killed by SIGKILL\)/.test(line)));
    assert.ok(launcher.lines.some((line) => line.includes('| dnsmasq-cache stopped (exit code 0)')));
    assert.ok(launcher.lines.some((line) => line.includes('| sidecar stopped (exit code 0)')));
    for (const pid of pids.values()) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
  } finally {
    launcher.killAll();
    await cluster.close();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad flag or a missing kubeconfig: one line naming it, non-zero exit, nothing started', async () => {
  const bad = startLauncher(['--bind-address=nowhere']);
  assert.deepEqual(await bad.exited, { code: 2, signal: null });
  assert.deepEqual(bad.lines, ['stderr: local-pod: --bind-address: "nowhere" is not an IPv4 address']);
  const missing = startLauncher(['--kubeconfig=/nonexistent/kubeconfig', '--any-ports']);
  assert.deepEqual(await missing.exited, { code: 1, signal: null });
  assert.deepEqual(missing.lines, ['stderr: local-pod: --kubeconfig: /nonexistent/kubeconfig does not exist']);
});

test('a port already taken: the process says so, the launcher adds a hint, stops the rest and exits 1', async () => {
  // Hold a UDP port and move the Pod's ports so that kube-dns's DNS port (10053) lands on it.
  const held = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => held.bind(0, '127.0.0.1', resolve));
  const port = held.address().port;
  const state = mkdtempSync(join(tmpdir(), 'local-pod-taken-'));
  const launcher = startLauncher([`--port-offset=${port - 10053}`, '--high-ports', `--state-dir=${state}`]);
  try {
    assert.deepEqual(await launcher.exited, { code: 1, signal: null });
    assert.ok(
      launcher.lines.some((line) => /exited unexpectedly/.test(line)),
      launcher.lines.join('\n'),
    );
    assert.ok(launcher.lines.some((line) => line.includes('a port is taken: stop what uses it')));
    assert.ok(launcher.lines.some((line) => /local-pod\s+\| stopped after a failure$/.test(line)));
    for (const pid of launcher.pids().values()) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
  } finally {
    launcher.killAll();
    held.close();
    rmSync(state, { recursive: true, force: true });
  }
});
