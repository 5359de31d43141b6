import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseResolvConf } from '@kube-dns/daemon-kit';
import { startConfigSource, type ForwardingSettings } from '@kube-dns/kubedns/config';
import { captureLog } from '../helpers/index.js';

const resolvConf = () => parseResolvConf('nameserver 192.0.2.53\n');

function upstreams(settings: ForwardingSettings): string[] {
  return settings.upstreams.map((s) => `${s.host}:${s.port}`);
}

let generation = 0;

/**
 * Writes a ConfigMap the way kubelet does: a fresh `..<timestamp>` folder, `..data` swapped to it
 * atomically, and each key a symlink through `..data` (so a change of several keys is seen all at once).
 */
async function writeConfigMap(dir: string, data: Record<string, string>): Promise<void> {
  const version = `..v${++generation}`;
  await mkdir(join(dir, version));
  for (const [key, value] of Object.entries(data)) await writeFile(join(dir, version, key), value);
  let previous: string | null = null;
  try {
    previous = await readlink(join(dir, '..data'));
  } catch {
    // first version
  }
  await symlink(version, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  const keys = new Set(Object.keys(data));
  for (const key of keys) {
    await symlink(join('..data', key), join(dir, key)).catch(() => undefined);
  }
  if (previous) {
    for (const key of await readdir(join(dir, previous))) if (!keys.has(key)) await rm(join(dir, key), { force: true });
    await rm(join(dir, previous), { recursive: true, force: true });
  }
}

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-dns-config-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('kube-dns ConfigMap through --config-dir', () => {
  test('no folder content: resolv.conf upstreams, no stub domains', async (t) => {
    await withDir(async (dir) => {
      const applied: ForwardingSettings[] = [];
      const source = startConfigSource({
        config: {
          configDir: dir,
          configPeriodMs: 60_000,
          configMap: null,
          configMapNamespace: 'kube-system',
          nameservers: [],
          resolvConf: '/x',
        },
        apply: (s) => applied.push(s),
        logger: captureLog().logger,
        readResolvConf: resolvConf,
      });
      t.after(() => source.stop());
      await source.ready;
      assert.equal(applied.length, 1);
      assert.deepEqual(upstreams(applied[0]!), ['192.0.2.53:53']);
      assert.equal(applied[0]!.upstreamSource, 'resolv.conf');
      assert.deepEqual(applied[0]!.stubDomains, []);
    });
  });

  test('valid change applied live; invalid change rejected whole, logged once, previous kept', async (t) => {
    await withDir(async (dir) => {
      await writeConfigMap(dir, { upstreamNameservers: '["198.51.100.1", "198.51.100.2:5353"]' });
      const log = captureLog();
      const applied: ForwardingSettings[] = [];
      const source = startConfigSource({
        config: {
          configDir: dir,
          configPeriodMs: 60_000,
          configMap: null,
          configMapNamespace: 'kube-system',
          nameservers: [],
          resolvConf: '/x',
        },
        apply: (s) => applied.push(s),
        logger: log.logger,
        readResolvConf: resolvConf,
      });
      t.after(() => source.stop());
      await source.ready;
      assert.deepEqual(upstreams(source.current()), ['198.51.100.1:53', '198.51.100.2:5353']);
      assert.equal(source.current().upstreamSource, 'configmap');

      await writeConfigMap(dir, {
        upstreamNameservers: '["198.51.100.1", "198.51.100.2:5353"]',
        stubDomains: '{"acme.local": ["192.0.2.1:1053"]}',
      });
      await source.check();
      assert.equal(applied.length, 2);
      assert.deepEqual(source.current().stubDomains, [
        { domain: 'acme.local', servers: [{ kind: 'ip', host: '192.0.2.1', port: 1053 }] },
      ]);
      assert.equal(log.matching('configuration changed').length, 1);

      // Invalid: one bad key rejects the whole update, even the valid new upstream beside it.
      await writeConfigMap(dir, {
        upstreamNameservers: '["203.0.113.9"]',
        stubDomains: '{"acme.local": ["not a server"]}',
      });
      await source.check();
      await source.check();
      assert.equal(applied.length, 2, 'nothing applied');
      assert.deepEqual(upstreams(source.current()), ['198.51.100.1:53', '198.51.100.2:5353']);
      assert.equal(source.current().stubDomains[0]?.domain, 'acme.local');
      const rejected = log.matching('rejected invalid kube-dns ConfigMap update');
      assert.equal(rejected.length, 1, 'logged once');
      assert.match(String(rejected[0]!['error']), /stubDomains: invalid nameserver: "not a server"/);

      // Fixed again → applied.
      await writeConfigMap(dir, { upstreamNameservers: '["203.0.113.9"]', stubDomains: '{}' });
      await source.check();
      assert.equal(applied.length, 3);
      assert.deepEqual(upstreams(source.current()), ['203.0.113.9:53']);
      assert.deepEqual(source.current().stubDomains, []);

      // The ConfigMap goes away (optional volume emptied) → defaults: resolv.conf again.
      await writeConfigMap(dir, {});
      await source.check();
      assert.equal(source.current().upstreamSource, 'resolv.conf');
    });
  });

  test('--nameservers wins over the ConfigMap; stub domains still come from it', async (t) => {
    await withDir(async (dir) => {
      await writeConfigMap(dir, {
        upstreamNameservers: '["198.51.100.1"]',
        stubDomains: '{"corp.example": ["192.0.2.7"]}',
      });
      const source = startConfigSource({
        config: {
          configDir: dir,
          configPeriodMs: 60_000,
          configMap: null,
          configMapNamespace: 'kube-system',
          nameservers: [{ host: '192.0.2.99', port: 53 }],
          resolvConf: '/x',
        },
        apply: () => undefined,
        logger: captureLog().logger,
        readResolvConf: resolvConf,
      });
      t.after(() => source.stop());
      await source.ready;
      assert.deepEqual(upstreams(source.current()), ['192.0.2.99:53']);
      assert.equal(source.current().upstreamSource, 'flag');
      assert.equal(source.current().stubDomains[0]?.domain, 'corp.example');
    });
  });

  test('the poll picks changes up by itself every --config-period', async (t) => {
    await withDir(async (dir) => {
      const applied: ForwardingSettings[] = [];
      const source = startConfigSource({
        config: {
          configDir: dir,
          configPeriodMs: 50,
          configMap: null,
          configMapNamespace: 'kube-system',
          nameservers: [],
          resolvConf: '/x',
        },
        apply: (s) => applied.push(s),
        logger: captureLog().logger,
        readResolvConf: resolvConf,
      });
      t.after(() => source.stop());
      await source.ready;
      await writeConfigMap(dir, { upstreamNameservers: '["198.51.100.4"]' });
      const deadline = Date.now() + 5000;
      while (source.current().upstreamSource !== 'configmap' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.deepEqual(upstreams(source.current()), ['198.51.100.4:53']);
    });
  });

  test('an invalid ConfigMap at startup: defaults, logged once', async (t) => {
    await withDir(async (dir) => {
      await writeConfigMap(dir, { upstreamNameservers: 'not json' });
      const log = captureLog();
      const source = startConfigSource({
        config: {
          configDir: dir,
          configPeriodMs: 60_000,
          configMap: null,
          configMapNamespace: 'kube-system',
          nameservers: [],
          resolvConf: '/x',
        },
        apply: () => undefined,
        logger: log.logger,
        readResolvConf: resolvConf,
      });
      t.after(() => source.stop());
      await source.ready;
      await source.check();
      assert.equal(source.current().upstreamSource, 'resolv.conf');
      assert.equal(log.matching('invalid kube-dns ConfigMap').length, 1);
    });
  });
});
