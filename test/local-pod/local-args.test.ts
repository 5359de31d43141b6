import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCommandLine as parseCacheArgs } from '@kube-dns/dnsmasq-cache/cli';
import { parseCommandLine as parseKubeDnsArgs } from '@kube-dns/kubedns/cli';
import {
  flagValues,
  loadPodContainers,
  localPod,
  mapFlagValues,
  movedPort,
  parsePodContainers,
  planPorts,
  podPorts,
  withFlag,
  withoutFlag,
  type LocalSettings,
  type PodContainer,
  type PortPlan,
} from '@kube-dns/local-pod';
import { parseCommandLine as parseSidecarArgs } from '@kube-dns/sidecar/cli';
import { manifestFile, repoRoot } from './paths.js';

const containers = loadPodContainers(manifestFile, repoRoot);

function settings(ports: PortPlan, extra: Partial<LocalSettings> = {}): LocalSettings {
  return {
    ports,
    bindAddress: '127.0.0.1',
    kubeconfig: '/state/kubeconfig',
    configDir: '/state/kube-dns-config',
    upstreams: [],
    shutdownGraceMs: 1000,
    baseEnv: {},
    ...extra,
  };
}

const processOf = (pod: ReturnType<typeof localPod>, program: string) => {
  const found = pod.processes.find((p) => p.program === program);
  assert.ok(found, program);
  return found;
};

test('the manifest Pod: three containers, each one of our bins, ports as SPEC says', () => {
  assert.deepEqual(
    containers.map((c) => [c.name, c.program, c.bin.slice(repoRoot.length)]),
    [
      ['kubedns', 'kube-dns', 'packages/kubedns/bin/kube-dns'],
      ['dnsmasq', 'dnsmasq-cache', 'packages/dnsmasq-cache/bin/dnsmasq-cache'],
      ['sidecar', 'sidecar', 'packages/sidecar/bin/sidecar'],
    ],
  );
  assert.deepEqual(
    [...new Set(podPorts(containers))].sort((a, b) => a - b),
    [53, 8081, 10053, 10054, 10055],
  );
});

test('port plans: real keeps, high moves only privileged ports by 1000, offset adds, any asks for free ports', async () => {
  const ports = [53, 10053, 8081, 10054, 10055];
  assert.deepEqual(
    [...(await planPorts(ports, { mode: 'real', offset: 0, host: '127.0.0.1' }))],
    ports.sort((a, b) => a - b).map((p) => [p, p]),
  );
  const high = await planPorts(ports, { mode: 'high', offset: 0, host: '127.0.0.1' });
  assert.equal(high.get(53), 1053);
  assert.equal(high.get(10053), 10053);
  assert.equal(high.get(8081), 8081);
  const offset = await planPorts(ports, { mode: 'high', offset: 20000, host: '127.0.0.1' });
  assert.equal(offset.get(53), 21053);
  assert.equal(offset.get(10054), 30054);
  assert.throws(() => movedPort(60000, 'real', 6000), /above 65535/);
  const any = await planPorts(ports, { mode: 'any', offset: 0, host: '127.0.0.1' }, (_host, count) =>
    Promise.resolve(Array.from({ length: count }, (_, i) => 40000 + i)),
  );
  assert.deepEqual([...any.values()].sort(), [40000, 40001, 40002, 40003, 40004]);
});

test('real free ports: distinct, bindable for UDP and TCP', async () => {
  const plan = await planPorts([53, 10053, 8081], { mode: 'any', offset: 0, host: '127.0.0.1' });
  const values = [...plan.values()];
  assert.equal(new Set(values).size, 3);
  for (const port of values) assert.ok(port > 1023 && port < 65536);
});

test('high ports: the cache on 1053, its cluster.local servers and the sidecar still reach the right ports', async () => {
  const plan = await planPorts(podPorts(containers), { mode: 'high', offset: 0, host: '127.0.0.1' });
  const pod = localPod(containers, settings(plan));
  const kd = processOf(pod, 'kube-dns');
  const kdConfig = parseKubeDnsArgs(kd.args, kd.env);
  assert.equal(kdConfig.dnsPort, 10053);
  assert.equal(kdConfig.healthzPort, 8081);
  assert.equal(kdConfig.metrics?.port, 10055);
  assert.equal(kdConfig.kubecfgFile, '/state/kubeconfig');
  assert.equal(kdConfig.configDir, '/state/kube-dns-config');
  assert.equal(kdConfig.domain, 'cluster.local');
  assert.equal(kdConfig.dnsBindAddress, '127.0.0.1');
  assert.equal(kdConfig.shutdownGraceMs, 1000);
  // Everything else is the manifest's.
  assert.deepEqual(kd.args.slice(0, 2), ['--domain=cluster.local.', '--v=2']);

  const cache = processOf(pod, 'dnsmasq-cache');
  const cacheConfig = parseCacheArgs(cache.args, cache.env);
  assert.equal(cacheConfig.port, 1053);
  assert.deepEqual(cacheConfig.listenAddresses, ['127.0.0.1']);
  assert.deepEqual(
    cacheConfig.servers.map((s) =>
      s.kind === 'forward' ? `${s.domains.join(',')}@${s.server.host}#${s.server.port}` : s.kind,
    ),
    ['cluster.local@127.0.0.1#10053', 'in-addr.arpa@127.0.0.1#10053', 'ip6.arpa@127.0.0.1#10053'],
  );
  assert.equal(cacheConfig.cacheSize, 1000);
  assert.equal(cacheConfig.negativeCache, false);
  assert.equal(cacheConfig.dnsLoopDetect, true);
  assert.equal(cacheConfig.configDir, '/state/kube-dns-config');
  assert.equal(cacheConfig.noResolv, false, 'upstreams from /etc/resolv.conf, as dnsPolicy: Default');

  const sidecar = processOf(pod, 'sidecar');
  const sidecarConfig = parseSidecarArgs(sidecar.args, sidecar.env);
  assert.deepEqual(
    sidecarConfig.probes.map((p) => `${p.label} ${p.host}:${p.port} ${p.name} ${p.type} ${p.intervalMs}`),
    [
      'kubedns 127.0.0.1:10053 kubernetes.default.svc.cluster.local. SRV 5000',
      'dnsmasq 127.0.0.1:1053 kubernetes.default.svc.cluster.local. SRV 5000',
    ],
  );
  assert.equal(sidecarConfig.dnsmasqPort, 1053);
  assert.equal(sidecarConfig.prometheusPort, 10054);

  assert.deepEqual(pod.endpoints.dns, { host: '127.0.0.1', port: 1053 });
  assert.equal(pod.endpoints.readinessUrl, 'http://127.0.0.1:8081/readiness');
  assert.deepEqual(
    pod.endpoints.healthchecks.map((h) => h.url),
    ['http://127.0.0.1:10054/healthcheck/kubedns', 'http://127.0.0.1:10054/healthcheck/dnsmasq'],
  );
  assert.deepEqual(
    pod.ports.map((r) => `${r.program} ${r.podPort}→${r.localPort}`),
    [
      'kube-dns 10053→10053',
      'kube-dns 8081→8081',
      'kube-dns 10055→10055',
      'dnsmasq-cache 53→1053',
      'sidecar 10054→10054',
    ],
  );
});

test('any ports: every cross-container reference follows its server to the new port', () => {
  const plan = new Map([
    [53, 41053],
    [10053, 42053],
    [8081, 48081],
    [10054, 42054],
    [10055, 42055],
  ]);
  const pod = localPod(containers, settings(plan, { bindAddress: '0.0.0.0' }));
  const kd = processOf(pod, 'kube-dns');
  assert.equal(kd.env['PROMETHEUS_PORT'], '42055');
  assert.equal(parseKubeDnsArgs(kd.args, kd.env).dnsBindAddress, '0.0.0.0');
  const cache = parseCacheArgs(processOf(pod, 'dnsmasq-cache').args);
  assert.ok(
    cache.servers.every((s) => s.kind === 'forward' && s.server.port === 42053 && s.server.host === '127.0.0.1'),
  );
  const sidecar = parseSidecarArgs(processOf(pod, 'sidecar').args);
  assert.deepEqual(
    sidecar.probes.map((p) => `${p.host}:${p.port}`),
    ['127.0.0.1:42053', '127.0.0.1:41053'],
    'a wildcard bind is probed over 127.0.0.1',
  );
  assert.equal(sidecar.dnsmasqPort, 41053);
  assert.equal(sidecar.prometheusAddr, '0.0.0.0');
  assert.deepEqual(pod.endpoints.dns, { host: '127.0.0.1', port: 41053 });
});

test('--upstream replaces resolv.conf for both DNS servers', () => {
  const pod = localPod(
    containers,
    settings(new Map(), {
      upstreams: [
        { host: '127.0.0.1', port: 5300 },
        { host: '::1', port: 5301 },
      ],
    }),
  );
  const kd = parseKubeDnsArgs(processOf(pod, 'kube-dns').args, {});
  assert.deepEqual(kd.nameservers, [
    { host: '127.0.0.1', port: 5300 },
    { host: '::1', port: 5301 },
  ]);
  const cache = parseCacheArgs(processOf(pod, 'dnsmasq-cache').args);
  assert.equal(cache.noResolv, true);
  assert.deepEqual(
    cache.servers
      .filter((s) => s.kind === 'forward' && s.domains.length === 0)
      .map((s) => s.kind === 'forward' && s.server),
    [
      { host: '127.0.0.1', port: 5300 },
      { host: '::1', port: 5301 },
    ],
  );
});

/** The manifest with other spellings of the same flags. */
function respelled(edit: (container: PodContainer) => string[]): PodContainer[] {
  return containers.map((c) => ({ ...c, args: edit(c) }));
}

test('other flag spellings in a manifest are moved too (--flag value, pflag underscores, dnsmasq short letters)', () => {
  const pod = localPod(
    respelled((c) => {
      if (c.program === 'kube-dns')
        return ['--domain=cluster.local.', '--dns_port', '10053', '--config-dir', '/kube-dns-config'];
      if (c.program === 'dnsmasq-cache')
        return ['-k', '-p', '53', '-S', '/cluster.local/127.0.0.1#10053', '--server=8.8.8.8'];
      return ['--probe', 'dnsmasq,127.0.0.1,kubernetes.default.svc.cluster.local,5,A', '--dnsmasq_port=53'];
    }),
    settings(
      new Map([
        [53, 1053],
        [10053, 20053],
        [8081, 28081],
        [10054, 20054],
        [10055, 20055],
      ]),
    ),
  );
  const kd = parseKubeDnsArgs(processOf(pod, 'kube-dns').args, processOf(pod, 'kube-dns').env);
  assert.equal(kd.dnsPort, 20053);
  assert.equal(kd.configDir, '/state/kube-dns-config');
  const cache = parseCacheArgs(processOf(pod, 'dnsmasq-cache').args);
  assert.equal(cache.port, 1053);
  assert.deepEqual(
    cache.servers.map((s) => s.kind === 'forward' && `${s.server.host}#${s.server.port}`),
    ['127.0.0.1#20053', '8.8.8.8#53'],
    'only loopback servers (the Pod’s own containers) move',
  );
  const sidecar = parseSidecarArgs(processOf(pod, 'sidecar').args);
  assert.deepEqual(
    sidecar.probes.map((p) => p.port),
    [1053],
    'a probe without a port is :53, and moves',
  );
  assert.equal(sidecar.dnsmasqPort, 1053);
});

test('a target the editing cannot reach is an error before anything starts, not a process on the wrong port', () => {
  const plan = new Map([
    [53, 41053],
    [10053, 42053],
    [8081, 48081],
    [10054, 42054],
    [10055, 42055],
  ]);
  // dnsmasq reads more flags from --conf-file; the launcher does not rewrite files.
  const dir = mkdtempSync(join(tmpdir(), 'local-pod-conf-'));
  try {
    const conf = join(dir, 'dnsmasq.conf');
    writeFileSync(conf, 'server=/cluster.local/127.0.0.1#10053\n');
    const withConfFile = respelled((c) => (c.program === 'dnsmasq-cache' ? ['-k', `--conf-file=${conf}`] : c.args));
    assert.throws(
      () => localPod(withConfFile, settings(plan)),
      /dnsmasq-cache --server targets are cluster.local@127.0.0.1#10053, not cluster.local@127.0.0.1#42053/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flag editing helpers', () => {
  const args = ['--a=1', '--b', '2', '-p', '53', '-p54', '--c_d=x', '--', '--a=9'];
  assert.deepEqual(flagValues(args, { long: 'a' }), ['1']);
  assert.deepEqual(flagValues(args, { long: 'b' }), ['2']);
  assert.deepEqual(flagValues(args, { long: 'port', short: 'p' }), ['53', '54']);
  assert.deepEqual(flagValues(args, { long: 'c-d' }), ['x']);
  assert.deepEqual(withoutFlag(args, { long: 'b' }), ['--a=1', '-p', '53', '-p54', '--c_d=x', '--', '--a=9']);
  assert.deepEqual(withFlag(['--port=1', '-p', '2', '-k'], { long: 'port', short: 'p' }, '3'), ['-k', '--port=3']);
  assert.deepEqual(
    mapFlagValues(['--b', '2', '-k', '--b=3'], { long: 'b' }, (v) => `${v}0`),
    ['--b=20', '-k', '--b=30'],
  );
});

test('a manifest without one of the programs, or not parsing, is one clear error', () => {
  const text = readFileSync(manifestFile, 'utf8');
  assert.throws(
    () => parsePodContainers(text.replace('/app/sidecar/bin/sidecar', '/app/other/bin/other'), 'm.yaml', repoRoot),
    /m.yaml: container sidecar: command .* runs none of kube-dns, dnsmasq-cache, sidecar/,
  );
  assert.throws(() => parsePodContainers('kind: Service\n', 'm.yaml', repoRoot), /expected one Deployment, found 0/);
  assert.throws(() => parsePodContainers('kind: [\n', 'm.yaml', repoRoot), /m.yaml: /);
  const broken = containers.map((c) => (c.program === 'kube-dns' ? { ...c, args: ['--dns-port=many'] } : c));
  assert.throws(() => podPorts(broken), /the manifest arguments of container kubedns do not parse: .*--dns-port/);
});
