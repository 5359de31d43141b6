import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StartupError } from '@kube-dns/daemon-kit';
import { parseCommandLine, parseDuration } from '@kube-dns/apiserver-sim/cli';
import { main } from '@kube-dns/apiserver-sim/main';
import { parseManifests } from '@kube-dns/apiserver-sim/manifest-files';
import { missingTool, waitUntil } from '../helpers/index.js';
import { kubeClients, names, request } from './support.js';

const BIN = fileURLToPath(new URL('../../../packages/apiserver-sim/bin/apiserver-sim', import.meta.url));

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'apiserver-sim-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('command line: defaults, repeatable flags, durations, and one-line errors', () => {
  const defaults = parseCommandLine([]);
  assert.equal(defaults.port, 0);
  assert.equal(defaults.address, '127.0.0.1');
  assert.deepEqual(defaults.tokens, []);
  assert.equal(defaults.historySize, 1000);
  assert.equal(defaults.bookmarkIntervalMs, 60_000);
  assert.deepEqual(defaults.watchTimeoutMs, { min: 300_000, max: 600_000 });
  assert.deepEqual(defaults.serviceCidrs, ['10.96.0.0/12']);
  assert.equal(defaults.autoCreateNamespaces, true);
  const custom = parseCommandLine([
    '--port=6443',
    '--token',
    'a',
    '--token=b',
    '--seed',
    'x.yaml',
    '--seed',
    'dir',
    '--history-size',
    '50',
    '--bookmark-interval',
    '500ms',
    '--watch-timeout',
    '30s',
    '--service-cidr',
    '10.0.0.0/16',
    '--service-cidr',
    'fd00::/108',
    '--strict-namespaces',
  ]);
  assert.equal(custom.port, 6443);
  assert.deepEqual(custom.tokens, ['a', 'b']);
  assert.deepEqual(custom.seeds, ['x.yaml', 'dir']);
  assert.equal(custom.historySize, 50);
  assert.equal(custom.bookmarkIntervalMs, 500);
  assert.equal(custom.watchTimeoutMs, 30_000);
  assert.deepEqual(custom.serviceCidrs, ['10.0.0.0/16', 'fd00::/108']);
  assert.equal(custom.autoCreateNamespaces, false);
  assert.deepEqual(parseCommandLine(['--watch-timeout=1m-2m']).watchTimeoutMs, { min: 60_000, max: 120_000 });
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('2'), 2000);
  assert.equal(parseDuration('soon'), null);
  for (const [argv, message] of [
    [['--port', '70000'], /--port: 70000 is out of range/],
    [['--address', 'localhost'], /--address: "localhost" is not an IP address/],
    [['--tls-cert', 'c.pem'], /--tls-cert and --tls-key go together/],
    [['--client-ca', 'ca.pem'], /--client-ca needs --tls-cert/],
    [['--bookmark-interval', 'often'], /--bookmark-interval: invalid duration/],
    [['--watch-timeout', '2m-1m'], /--watch-timeout/],
    [['stray'], /unexpected argument "stray"/],
    [['--nope'], /unknown option '--nope'/],
  ] as const) {
    assert.throws(
      () => parseCommandLine([...argv]),
      (error: unknown) => error instanceof StartupError && message.test(error.line),
    );
  }
  assert.match(parseCommandLine(['--help']).print ?? '', /--watch-dir <dir>/);
  assert.match(parseCommandLine(['--version']).print ?? '', /^apiserver-sim \d+\.\d+\.\d+\n$/);
});

test('manifests: multi-document YAML, JSON, List kinds, empty documents; errors name the document', () => {
  const objects = parseManifests(
    [
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}',
      '',
      'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: demo}}',
      'apiVersion: v1\nkind: ServiceList\nitems:\n- metadata: {name: s, namespace: demo}\n  spec: {ports: [{port: 80}]}',
      '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}',
    ].join('\n---\n'),
  );
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata.name}`),
    ['Namespace/demo', 'ConfigMap/a', 'Service/s', 'Pod/p'],
  );
  assert.throws(
    () => parseManifests('kind: Service\nmetadata: {name: ok}\n---\nmetadata: {name: x}', 'f.yaml'),
    /f\.yaml: document 2: object has no kind/,
  );
  assert.throws(() => parseManifests('a: [1, 2', 'g.yaml'), /g\.yaml: document 1/);
});

test('main(): seeds, kubeconfig file, and a --watch-dir kept in sync (edit → applied, remove → deleted)', async (t) => {
  const dir = tempDir(t);
  const seedFile = join(dir, 'seed.yaml');
  writeFileSync(
    seedFile,
    'apiVersion: v1\nkind: Service\nmetadata: {name: seeded, namespace: demo}\nspec: {ports: [{port: 53, protocol: UDP}]}\n',
  );
  const watched = join(dir, 'live');
  mkdirSync(watched);
  const liveFile = join(watched, 'web.yaml');
  writeFileSync(
    liveFile,
    'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo}\nspec: {ports: [{port: 80}]}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: extra, namespace: demo}\nspec: {clusterIP: None}\n',
  );
  const kubeconfigPath = join(dir, 'kubeconfig');
  const config = parseCommandLine([
    '--token',
    'tok',
    '--seed',
    seedFile,
    '--watch-dir',
    watched,
    '--watch-dir-interval',
    '50ms',
    '--write-kubeconfig',
    kubeconfigPath,
  ]);
  const sim = await main(config);
  t.after(() => sim.close());
  const objects = sim.server.objects;
  assert.deepEqual(
    objects.list('services').map((s) => s.metadata.name),
    ['extra', 'seeded', 'web'],
  );
  assert.match(readFileSync(kubeconfigPath, 'utf8'), /token: tok/);
  const webIp = (objects.get({ kind: 'Service', namespace: 'demo', name: 'web' })!['spec'] as { clusterIP: string })
    .clusterIP;
  // Edit: one object changes, one leaves the file.
  writeFileSync(
    liveFile,
    'apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: demo, labels: {edited: "yes"}}\nspec: {ports: [{port: 80}]}\n',
  );
  await waitUntil(
    'edit applied',
    () => objects.get({ kind: 'Service', namespace: 'demo', name: 'extra' }) === undefined,
  );
  const web = objects.get({ kind: 'Service', namespace: 'demo', name: 'web' })!;
  assert.equal(web.metadata.labels?.['edited'], 'yes');
  assert.equal((web['spec'] as { clusterIP: string }).clusterIP, webIp, 'the allocated IP survives re-applies');
  const rv = sim.server.resourceVersion();
  await sim.manifestDir!.sync();
  assert.equal(sim.server.resourceVersion(), rv, 'an unchanged folder writes nothing');
  // A broken file keeps its objects; removing the file deletes them.
  writeFileSync(liveFile, 'kind: [');
  await sim.manifestDir!.sync();
  assert.ok(objects.get({ kind: 'Service', namespace: 'demo', name: 'web' }));
  unlinkSync(liveFile);
  await waitUntil(
    'file removal applied',
    () => objects.get({ kind: 'Service', namespace: 'demo', name: 'web' }) === undefined,
  );
  assert.deepEqual(
    objects.list('services').map((s) => s.metadata.name),
    ['seeded'],
  );
  const { core } = kubeClients(sim.server, { token: 'tok' });
  assert.deepEqual(
    (await core.listNamespacedService({ namespace: 'demo' })).items.map((s) => s.metadata?.name),
    ['seeded'],
  );
});

test('--watch-dir: a rejected edit keeps the object, and a file caught mid-write is not applied empty', async (t) => {
  const dir = tempDir(t);
  const liveFile = join(dir, 'svc.yaml');
  const manifest = (clusterIP: string): string =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: fixed, namespace: demo}\nspec: {clusterIP: ${clusterIP}, ports: [{port: 80}]}\n`;
  writeFileSync(liveFile, manifest('10.96.7.7'));
  const sim = await main(parseCommandLine(['--watch-dir', dir, '--watch-dir-interval', '1h']));
  t.after(() => sim.close());
  const objects = sim.server.objects;
  const ref = { kind: 'Service', namespace: 'demo', name: 'fixed' };
  const ipOf = (): string | undefined => (objects.get(ref)?.['spec'] as { clusterIP?: string } | undefined)?.clusterIP;
  assert.equal(ipOf(), '10.96.7.7');
  const uid = objects.get(ref)?.metadata.uid;
  // clusterIP is immutable: the apiserver refuses the edit and the Service stays as it was (it used to be deleted).
  writeFileSync(liveFile, manifest('10.96.8.8'));
  await sim.manifestDir!.sync();
  assert.equal(ipOf(), '10.96.7.7');
  assert.equal(objects.get(ref)?.metadata.uid, uid);
  // Truncated, then written a moment later (as some editors save): never seen as a file without objects.
  writeFileSync(liveFile, '');
  const sync = sim.manifestDir!.sync();
  setTimeout(() => writeFileSync(liveFile, manifest('10.96.7.7').replace('port: 80', 'port: 81')), 20);
  await sync;
  await sim.manifestDir!.sync();
  assert.equal(ipOf(), '10.96.7.7');
  assert.equal(objects.get(ref)?.metadata.uid, uid, 'never deleted and created again');
  const ports = (objects.get(ref)?.['spec'] as { ports: { port: number }[] }).ports;
  assert.equal(ports[0]?.port, 81);
});

test('main(): a bad seed is one StartupError line', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n');
  await assert.rejects(main(parseCommandLine(['--seed', dir])), (error: unknown) => {
    return error instanceof StartupError && /kind "Secret"|does not serve/.test(error.message);
  });
  await assert.rejects(main(parseCommandLine(['--seed', join(dir, 'missing.yaml')])), /--seed/);
});

test('the bin: prints the URL, serves, logs state changes, exits 0 on SIGTERM', async (t) => {
  const dir = tempDir(t);
  const seed = join(dir, 'seed.json');
  writeFileSync(
    seed,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-dns', namespace: 'kube-system' },
      data: {},
    }),
  );
  const child = spawn(process.execPath, [BIN, '--seed', seed, '--token', 'tok', '--log-format', 'json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const url = await waitUntil('URL on stdout', () => /^(http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout)?.[1], {
    timeoutMs: 10_000,
  });
  const list = await request(url, 'GET', '/api/v1/namespaces/kube-system/configmaps', { token: 'tok' });
  assert.deepEqual(names(list.json), ['kube-dns']);
  await request(url, 'POST', '/api/v1/namespaces/default/services', {
    token: 'tok',
    body: { metadata: { name: 'logged' }, spec: {} },
  });
  await waitUntil('log line', () => stderr.includes('ADDED services default/logged'));
  const lines = stderr.trim().split('\n');
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('the bin: a startup error is one line and a non-zero exit', async () => {
  const child = spawn(process.execPath, [BIN, '--seed', '/nonexistent/seed.yaml'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 1);
  assert.equal(stderr.trim().split('\n').length, 1);
  assert.match(stderr, /^apiserver-sim: --seed \/nonexistent\/seed\.yaml: /);
});

test(
  'the bin: --generate-pki serves HTTPS with client-certificate auth',
  { skip: missingTool('openssl') },
  async (t) => {
    const dir = tempDir(t);
    const kubeconfig = join(dir, 'kubeconfig');
    const child = spawn(process.execPath, [BIN, '--generate-pki', dir, '--write-kubeconfig', kubeconfig], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.after(() => child.kill('SIGKILL'));
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const url = await waitUntil('URL', () => /^(https:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout)?.[1], {
      timeoutMs: 10_000,
    });
    const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
    assert.equal((await request(url, 'GET', '/api/v1/services', { ca })).status, 401);
    const ok = await request(url, 'GET', '/api/v1/services', {
      ca,
      cert: readFileSync(join(dir, 'client.crt'), 'utf8'),
      key: readFileSync(join(dir, 'client.key'), 'utf8'),
    });
    assert.equal(ok.status, 200);
    const text = readFileSync(kubeconfig, 'utf8');
    assert.match(text, /client-certificate-data/);
    assert.match(text, /certificate-authority-data/);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  },
);
