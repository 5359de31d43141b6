import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  captureLog,
  rr,
  startFakeUpstream,
  waitUntil,
  type FakeUpstream,
  type ReceivedQuery,
} from '../helpers/index.js';
import { answerData, startCache } from './support.js';

/** Answers every A query with `ip`, so a test can tell which server answered. */
const answering = (ip: string) => (q: ReceivedQuery) => ({
  answers: q.type === 'A' ? [rr(q.name, 'A', ip, 300)] : [],
});

/** Writes a file the way kubelet updates a ConfigMap volume: never half-written. */
function writeAtomically(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

describe('dnsmasq-cache live reconfiguration', () => {
  const servers: FakeUpstream[] = [];
  let oldDefault: FakeUpstream;
  let newDefault: FakeUpstream;
  let kubeDns: FakeUpstream;
  let stub: FakeUpstream;
  let stub2: FakeUpstream;
  before(async () => {
    oldDefault = await startFakeUpstream(answering('10.0.0.1'));
    newDefault = await startFakeUpstream(answering('10.0.0.2'));
    stub = await startFakeUpstream(answering('10.0.0.3'));
    stub2 = await startFakeUpstream(answering('10.0.0.4'));
    // kube-dns: knows the stub server's host name.
    kubeDns = await startFakeUpstream((q) => ({
      answers: q.name === 'ns.stub.svc.cluster.local' && q.type === 'A' ? [rr(q.name, 'A', '127.0.0.1', 30)] : [],
    }));
    servers.push(oldDefault, newDefault, stub, stub2, kubeDns);
  });
  after(() => Promise.all(servers.map((s) => s.close())));

  test('the ConfigMap folder is applied live under load: new servers, same cache, no failed query', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsmasq-cache-config-'));
    const configDir = join(dir, 'kube-dns-config');
    const log = captureLog('info');
    const cache = await startCache(
      [
        '--no-hosts',
        '--no-resolv',
        `--server=/cluster.local/${kubeDns.label}`,
        `--server=${oldDefault.label}`,
        `--config-dir=${configDir}`,
        '--config-period=100ms',
        '--cache-size=100000',
      ],
      { logger: log.logger },
    );
    let stop = false;
    const failures: string[] = [];
    let answered = 0;
    const load = async (worker: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const name = i % 3 === 0 ? `cached${worker}.example` : `n${worker}-${i}.example`;
        try {
          const result = await cache.query(name, 'A', { timeoutMs: 2000 });
          if (result.rcode !== 'NOERROR' || result.packet.answers!.length !== 1)
            failures.push(`${name}: ${result.rcode}`);
          else answered++;
        } catch (error) {
          failures.push(`${name}: ${(error as Error).message}`);
        }
      }
    };
    try {
      assert.deepEqual(answerData(await cache.query('before.example', 'A')), ['10.0.0.1']);
      // Names asked while waiting for a change must be new each time: an answer from before the change is cached.
      let fresh = 0;
      const answerFor = async (domain: string): Promise<string | undefined> =>
        answerData(await cache.query(`fresh${fresh++}.${domain}`, 'A'))[0];
      const workers = Array.from({ length: 8 }, (_, w) => load(w));

      // 1. upstreamNameservers join the command line's default server (the nanny appended --server=<ip>); when the
      //    old one stops answering, queries fail over to the new one without a single failure.
      mkdirAndWrite(configDir, 'upstreamNameservers', JSON.stringify([`${newDefault.host}:${newDefault.port}`]));
      await waitUntil('new upstream configured', () =>
        cache.handle.server.routes.route('x.example').servers.some((s) => s.port === newDefault.port),
      );
      oldDefault.setHandler(() => ({ drop: true }));
      await waitUntil('new upstream used', async () => (await answerFor('example')) === '10.0.0.2');
      assert.deepEqual(answerData(await cache.query('before.example', 'A')), ['10.0.0.1'], 'the cache survived');

      // 2. stub domains: an IP with a port, and a host name resolved through kube-dns (cluster.local).
      writeAtomically(
        join(configDir, 'stubDomains'),
        JSON.stringify({
          'acme.local': [`${stub.host}:${stub.port}`],
          'corp.local': [`ns.stub.svc.cluster.local`],
        }),
      );
      await waitUntil('stub domain used', async () => (await answerFor('acme.local')) === '10.0.0.3');
      assert.ok(kubeDns.queriesFor('ns.stub.svc.cluster.local').length >= 1, 'the stub host name asked kube-dns');
      // The host name resolved to 127.0.0.1, port 53: nothing listens there in the test, so only the routing shows.
      assert.ok(
        cache.handle.server.routes.route('x.corp.local').servers.some((s) => s.host === '127.0.0.1' && s.port === 53),
      );

      // 3. Invalid content is rejected whole and logged once; the last good configuration stays.
      writeAtomically(join(configDir, 'stubDomains'), '{"acme.local": ["not an address!"]');
      await waitUntil('invalid logged', () => log.matching('invalid kube-dns ConfigMap').length > 0);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(log.matching('invalid kube-dns ConfigMap').length, 1, 'logged once');
      assert.equal(await answerFor('acme.local'), '10.0.0.3', 'previous config kept');

      // 4. A valid change again: the stub moves to another server.
      writeAtomically(
        join(configDir, 'stubDomains'),
        JSON.stringify({ 'acme.local': [`${stub2.host}:${stub2.port}`] }),
      );
      await waitUntil('stub moved', async () => (await answerFor('acme.local')) === '10.0.0.4');
      const servers = await cache.chaos('servers.bind');
      assert.deepEqual(
        servers.map((s) => s.split(' ')[0]),
        [kubeDns.label, oldDefault.label, stub2.label, newDefault.label],
        'command line, then stubs, then upstreams',
      );

      // 5. The ConfigMap goes away: back to the command line alone.
      oldDefault.setHandler(answering('10.0.0.1'));
      rmSync(configDir, { recursive: true });
      await waitUntil('defaults back', async () => (await answerFor('example')) === '10.0.0.1');
      assert.equal(cache.handle.server.routes.route('x.acme.local').name, '', 'stub domain gone');

      stop = true;
      await Promise.all(workers);
      assert.deepEqual(failures, []);
      assert.ok(answered > 50, `load was running (${answered} answers)`);
    } finally {
      stop = true;
      await cache.close();
    }
  });

  test('a stub server host name that does not resolve: local NXDOMAIN meanwhile, retried until it does', async () => {
    let known = false;
    const cluster = await startFakeUpstream((q) => ({
      answers:
        known && q.name === 'ns.late.svc.cluster.local' && q.type === 'A' ? [rr(q.name, 'A', '127.0.0.1', 30)] : [],
    }));
    servers.push(cluster);
    const dir = mkdtempSync(join(tmpdir(), 'dnsmasq-cache-late-'));
    const configDir = join(dir, 'config');
    mkdirAndWrite(configDir, 'stubDomains', JSON.stringify({ 'late.example': ['ns.late.svc.cluster.local'] }));
    const log = captureLog('info');
    const cache = await startCache(
      [
        '--no-hosts',
        '--no-resolv',
        `--server=/cluster.local/${cluster.label}`,
        `--server=${oldDefault.label}`,
        `--config-dir=${configDir}`,
        '--config-period=100ms',
      ],
      { logger: log.logger },
    );
    try {
      assert.equal(log.matching('could not resolve stub domain server ns.late.svc.cluster.local').length, 1);
      assert.equal((await cache.query('www.late.example', 'A')).rcode, 'NXDOMAIN', 'not leaked to the defaults');
      known = true;
      await waitUntil('resolved on a retry', () =>
        cache.handle.server.routes
          .route('www.late.example')
          .servers.some((s) => s.host === '127.0.0.1' && s.port === 53),
      );
    } finally {
      await cache.close();
    }
  });

  test('ConfigMap upstreamNameservers replace the resolv file’s servers, as the nanny’s --no-resolv', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsmasq-cache-upstreams-'));
    const resolv = join(dir, 'resolv.conf');
    const configDir = join(dir, 'config');
    writeFileSync(resolv, 'nameserver 127.0.0.1\n');
    const cache = await startCache([
      '--no-hosts',
      `--resolv-file=${resolv}`,
      `--config-dir=${configDir}`,
      '--config-period=100ms',
    ]);
    try {
      assert.deepEqual(await cache.chaos('servers.bind'), ['127.0.0.1#53 0 0']);
      mkdirAndWrite(configDir, 'upstreamNameservers', JSON.stringify([`${newDefault.host}:${newDefault.port}`]));
      await cache.handle.checkConfigDir();
      assert.deepEqual(await cache.chaos('servers.bind'), [`${newDefault.label} 0 0`]);
      assert.deepEqual(answerData(await cache.query('via-upstream.example', 'A')), ['10.0.0.2']);
      rmSync(configDir, { recursive: true });
      await cache.handle.checkConfigDir();
      assert.deepEqual(await cache.chaos('servers.bind'), ['127.0.0.1#53 0 0'], 'the resolv file again');
    } finally {
      await cache.close();
    }
  });

  test('the resolv file is re-read when it changes; an empty one leaves no default servers (REFUSED)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsmasq-cache-resolv-'));
    const resolv = join(dir, 'resolv.conf');
    writeFileSync(resolv, '# nothing yet\n');
    const log = captureLog('info');
    const cache = await startCache(['--no-hosts', `--resolv-file=${resolv}`], { logger: log.logger });
    try {
      assert.equal((await cache.query('r.example', 'A')).rcode, 'REFUSED');
      assert.equal(log.matching(`no servers found in ${resolv}, will retry`).length, 1);
      writeAtomically(resolv, 'nameserver 127.0.0.1\nnameserver 127.0.0.2\n');
      await waitUntil('resolv read', () => log.matching(`reading ${resolv}`).length > 0);
      assert.deepEqual(await cache.chaos('servers.bind'), ['127.0.0.1#53 0 0', '127.0.0.2#53 0 0']);
    } finally {
      await cache.close();
    }
  });
});

/** Creates the ConfigMap folder with one file, as kubelet does when a ConfigMap appears (one rename). */
function mkdirAndWrite(dir: string, name: string, text: string): void {
  const staging = `${dir}.staging`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, name), text);
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
}
