import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  createOutput,
  formatSuggestions,
  freshAnswersHint,
  parseCommandLine,
  prepareLocalDirs,
  readClusterObjects,
  renderLogLine,
  startReadinessMonitor,
  suggestQueries,
  type CheckState,
  type CommandLineContext,
} from '@kube-dns/local-pod';
import { waitUntil } from '../helpers/index.js';
import { examplesDir } from './paths.js';

const context = (extra: Partial<CommandLineContext> = {}): CommandLineContext => ({
  repoRoot: '/repo',
  uid: 1000,
  cwd: '/home/me',
  env: {},
  isTty: false,
  ...extra,
});

test('command line: ports by user, paths relative to where npm start ran, conflicts are errors', () => {
  const user = parseCommandLine([], context());
  assert.equal(user.portMode, 'high');
  assert.match(user.portModeReason, /not root/);
  assert.equal(user.stateDir, '/repo/.local');
  assert.equal(user.clusterDir, '/repo/.local/cluster');
  assert.equal(user.configDir, '/repo/.local/kube-dns-config');
  assert.equal(user.examplesDir, '/repo/examples/cluster');
  assert.equal(user.manifest, '/repo/manifests/kube-dns.yaml');
  assert.equal(user.bindAddress, '127.0.0.1');
  assert.equal(user.kubeconfig, null);
  assert.equal(user.shutdownGraceMs, 1000);

  assert.equal(parseCommandLine([], context({ uid: 0 })).portMode, 'real');
  assert.equal(parseCommandLine(['--high-ports'], context({ uid: 0 })).portMode, 'high');
  assert.equal(parseCommandLine(['--any-ports'], context({ uid: 0 })).portMode, 'any');

  const cluster = parseCommandLine(['--kubeconfig', 'kube/config', '--state-dir=s'], context());
  assert.equal(cluster.kubeconfig, '/home/me/kube/config');
  assert.equal(cluster.clusterDir, null);
  assert.equal(cluster.stateDir, '/home/me/s');

  const upstreams = parseCommandLine(['--upstream', '127.0.0.1:5300', '--upstream=10.0.0.1'], context());
  assert.deepEqual(upstreams.upstreams, [
    { host: '127.0.0.1', port: 5300 },
    { host: '10.0.0.1', port: 53 },
  ]);
  assert.equal(parseCommandLine(['--shutdown-grace=0s', '--status-interval=200ms'], context()).statusIntervalMs, 200);

  const cases: Array<[string[], RegExp]> = [
    [['--kubeconfig=a', '--cluster-dir=b'], /--cluster-dir and --kubeconfig cannot be used together/],
    [['--any-ports', '--port-offset=5'], /--port-offset and --any-ports/],
    [['--bind-address=::1'], /--bind-address: "::1" is not an IPv4 address/],
    [['--upstream=dns.example'], /--upstream: invalid nameserver/],
    [['--shutdown-grace=soon'], /--shutdown-grace: invalid duration/],
    [['--port-offset=70000'], /--port-offset/],
    [['--bogus'], /unknown option '--bogus'/],
    [['start'], /unexpected argument "start"/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseCommandLine(argv, context()),
      (error: Error) => {
        assert.match(error.message, message);
        assert.equal(error.name, 'StartupError');
        return true;
      },
    );
  }
  const help = parseCommandLine(['--help'], context()).print;
  assert.ok(help?.includes('--kubeconfig <file>') && help.includes('53 becomes 1053'));
});

test('colours only on a terminal, and never with NO_COLOR', () => {
  assert.equal(parseCommandLine([], context({ isTty: true })).color, true);
  assert.equal(parseCommandLine([], context({ isTty: true, env: { NO_COLOR: '1' } })).color, false);
  assert.equal(parseCommandLine(['--no-color'], context({ isTty: true })).color, false);
  assert.equal(parseCommandLine([], context({ isTty: false })).color, false);
});

test('local folders: examples copied on the first run only, edits kept afterwards', () => {
  const state = mkdtempSync(join(tmpdir(), 'local-pod-dirs-'));
  try {
    const dirs = {
      stateDir: state,
      configDir: join(state, 'kube-dns-config'),
      clusterDir: join(state, 'cluster'),
      examplesDir,
    };
    assert.deepEqual(prepareLocalDirs(dirs), { copiedExamples: true });
    assert.deepEqual(readdirSync(dirs.configDir), [], 'an empty ConfigMap folder');
    assert.deepEqual(readdirSync(dirs.clusterDir).sort(), readdirSync(examplesDir).sort());
    rmSync(join(dirs.clusterDir, 'dual-stack.yaml'));
    assert.deepEqual(prepareLocalDirs(dirs), { copiedExamples: false });
    assert.ok(!readdirSync(dirs.clusterDir).includes('dual-stack.yaml'));
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('the example cluster: the objects the issue asks for', () => {
  const objects = readClusterObjects(examplesDir);
  const services = objects.filter((o) => o.kind === 'Service');
  const byName = (name: string) => services.find((s) => s.metadata.name === name)?.['spec'] as Record<string, unknown>;
  assert.equal(byName('kubernetes')['clusterIP'], '10.96.0.1');
  assert.equal(byName('kube-dns')['clusterIP'], '10.96.0.10');
  assert.equal(byName('web')['clusterIP'], 'None');
  assert.equal(byName('api')['type'], 'ExternalName');
  assert.deepEqual(byName('dual')['ipFamilies'], ['IPv4', 'IPv6']);
  assert.ok(objects.some((o) => o.kind === 'Namespace' && o.metadata.name === 'demo'));
  const slice = objects.find((o) => o.kind === 'EndpointSlice' && o.metadata.name.startsWith('web'));
  const endpoints = slice?.['endpoints'] as Array<{ hostname: string; conditions: { ready: boolean } }>;
  assert.deepEqual(
    endpoints.map((e) => `${e.hostname}:${e.conditions.ready}`),
    ['web-0:true', 'web-1:true', 'web-2:false'],
  );
});

test('suggested commands: derived from the example objects and the real bound port', () => {
  const suggestions = suggestQueries(readClusterObjects(examplesDir), {
    domain: 'cluster.local',
    server: { host: '127.0.0.1', port: 1053 },
  });
  const lines = suggestions.map((s) => `${s.command} # ${s.expect}`);
  assert.deepEqual(lines, [
    'dig @127.0.0.1 -p 1053 +short kubernetes.default.svc.cluster.local # 10.96.0.1',
    'nslookup -port=1053 -domain=svc.cluster.local -ndots=5 kubernetes.default 127.0.0.1 # kubernetes.default.svc.cluster.local 10.96.0.1, as from a Pod',
    'dig @127.0.0.1 -p 1053 +short api.demo.svc.cluster.local # CNAME kubernetes.default.svc.cluster.local. (then its address)',
    'dig @127.0.0.1 -p 1053 +short docs.demo.svc.cluster.local # CNAME kubernetes.io. (then its address)',
    'dig @127.0.0.1 -p 1053 +short dual.demo.svc.cluster.local # 10.96.100.20',
    'dig @127.0.0.1 -p 1053 +short dual.demo.svc.cluster.local AAAA # fd00:10:96::100:20',
    'dig @127.0.0.1 -p 1053 +short web.demo.svc.cluster.local # headless: ready endpoints 10.244.1.10 10.244.2.11',
    'dig @127.0.0.1 -p 1053 +short web-0.web.demo.svc.cluster.local # 10.244.1.10',
    'dig @127.0.0.1 -p 1053 +short _http._tcp.web.demo.svc.cluster.local SRV # 2 SRV, one per ready endpoint',
    'dig @127.0.0.1 -p 1053 +short -x 10.96.0.10 # kube-dns.kube-system.svc.cluster.local.',
  ]);
  const real = suggestQueries([], { domain: 'cluster.local', server: { host: '127.0.0.1', port: 53 } });
  assert.deepEqual(
    real.map((s) => s.command),
    [
      'dig @127.0.0.1 +short kubernetes.default.svc.cluster.local',
      'nslookup -domain=svc.cluster.local -ndots=5 kubernetes.default 127.0.0.1',
    ],
  );
  const formatted = formatSuggestions(real);
  assert.equal(new Set(formatted.map((line) => line.indexOf('#'))).size, 1, 'comments aligned');
});

test('the edit hint points at kube-dns itself (the cache keeps an answer for its TTL)', () => {
  assert.match(
    freshAnswersHint({ domain: 'cluster.local', kubeDns: { host: '127.0.0.1', port: 10053 } }),
    /TTL \(30 s\).*: dig @127\.0\.0\.1 -p 10053 \+short kubernetes\.default\.svc\.cluster\.local$/,
  );
  assert.match(
    freshAnswersHint({ domain: 'corp.example', kubeDns: { host: '127.0.0.1', port: 53 } }),
    /: dig @127\.0\.0\.1 \+short kubernetes\.default\.svc\.corp\.example$/,
  );
});

test('relayed log lines: our JSON logs made readable, anything else kept', () => {
  const json = JSON.stringify({
    component: 'kube-dns',
    level: 'warn',
    message: 'watch failed',
    kind: 'services',
    error: 'connect ECONNREFUSED',
    timestamp: '2026-01-01T10:00:00.000Z',
    n: 3,
  });
  const rendered = renderLogLine(json, 'kube-dns');
  assert.equal(rendered.level, 'warn');
  assert.match(rendered.text, /^\d\d:\d\d:\d\d\.000 watch failed kind=services error="connect ECONNREFUSED" n=3$/);
  const other = renderLogLine(JSON.stringify({ component: 'forward', level: 'info', message: 'm' }), 'kube-dns');
  assert.equal(other.text, '[forward] m');
  assert.deepEqual(renderLogLine('kube-dns: --dns-port: invalid port "x"', 'kube-dns'), {
    level: null,
    text: 'kube-dns: --dns-port: invalid port "x"',
  });
  assert.deepEqual(renderLogLine('{not json', 'x'), { level: null, text: '{not json' });

  let written = '';
  const output = createOutput((text) => (written += text), { color: false });
  output.line('kube-dns', 'ready');
  output.line('sidecar', 'probe failed', 'warn');
  assert.equal(written, 'kube-dns      | ready\nsidecar       | WARN probe failed\n');
});

test('readiness monitor: reports each change of status once, with the sidecar’s error', async () => {
  const answers = new Map<string, { status: number; body: string } | Error>([
    ['http://k/readiness', new Error('refused')],
    ['http://s/healthcheck/dnsmasq', { status: 503, body: '{"IsOk":false,"LatencySeconds":0,"Err":"timeout"}' }],
  ]);
  const changes: string[] = [];
  const monitor = startReadinessMonitor({
    checks: [
      { process: 'kube-dns', name: '/readiness', url: 'http://k/readiness' },
      { process: 'sidecar', name: '/healthcheck/dnsmasq', url: 'http://s/healthcheck/dnsmasq' },
    ],
    intervalMs: 10_000,
    fetcher: (url) => {
      const answer = answers.get(url)!;
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    onChange: (check, state: CheckState, previous) =>
      changes.push(`${check.name} ${previous?.status ?? '-'}→${state.status ?? 'down'} ${state.detail}`),
  });
  try {
    await monitor.poll();
    await monitor.poll();
    answers.set('http://k/readiness', { status: 200, body: 'ok' });
    answers.set('http://s/healthcheck/dnsmasq', { status: 200, body: '{"IsOk":true}' });
    await monitor.poll();
    await waitUntil('all ok', () => monitor.allOk());
    await monitor.poll();
    assert.deepEqual(changes, [
      '/healthcheck/dnsmasq -→503 timeout',
      '/readiness -→200 ok',
      '/healthcheck/dnsmasq 503→200 ok',
    ]);
  } finally {
    monitor.stop();
  }
});
