import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { canonicalIp, parseKubeDnsConfig, parseNameserver, parseResolvConf, readConfigDir } from '@kube-dns/daemon-kit';

describe('kube-dns ConfigMap', () => {
  const valid: Array<[string, Record<string, string>]> = [
    ['empty', {}],
    ['stub by IP', { stubDomains: '{"acme.local": ["1.2.3.4"]}' }],
    ['stub with port and v6', { stubDomains: '{"acme.local": ["1.2.3.4:5353", "[2001:db8::1]:53", "2001:db8::2"]}' }],
    ['stub by hostname', { stubDomains: '{"acme.local": ["ns.foo.com"]}' }],
    ['upstreams', { upstreamNameservers: '["8.8.8.8", "8.8.4.4:53", "2001:db8::53"]' }],
    ['federations', { federations: 'myfed=example.com,other=foo.bar' }],
    ['unknown keys ignored', { somethingElse: 'x' }],
  ];
  for (const [name, data] of valid) {
    test(`valid: ${name}`, () => assert.ok(parseKubeDnsConfig(data).ok));
  }
  const invalid: Array<[string, Record<string, string>]> = [
    ['stub JSON', { stubDomains: '{' }],
    ['stub not object', { stubDomains: '["a"]' }],
    ['stub bad domain', { stubDomains: '{"Acme_Local": ["1.2.3.4"]}' }],
    ['stub empty domain', { stubDomains: '{"": ["1.2.3.4"]}' }],
    ['stub name:port', { stubDomains: '{"acme.local": ["ns.foo.com:53"]}' }],
    ['stub bad port', { stubDomains: '{"acme.local": ["1.2.3.4:99999"]}' }],
    ['upstream hostname', { upstreamNameservers: '["dns.google"]' }],
    ['upstream four entries', { upstreamNameservers: '["1.1.1.1","1.1.1.2","1.1.1.3","1.1.1.4"]' }],
    ['upstream port 0', { upstreamNameservers: '["1.1.1.1:0"]' }],
    ['federation bad', { federations: 'my_fed=example.com' }],
  ];
  for (const [name, data] of invalid) {
    test(`invalid: ${name}`, () => {
      const result = parseKubeDnsConfig(data);
      assert.equal(result.ok, false);
    });
  }
  test('parsed shapes', () => {
    const result = parseKubeDnsConfig({
      stubDomains: '{"acme.local": ["1.2.3.4:5353", "ns.foo.com"]}',
      upstreamNameservers: '["8.8.8.8"]',
    });
    assert.ok(result.ok);
    assert.deepEqual(result.config.stubDomains, [
      {
        domain: 'acme.local',
        servers: [
          { kind: 'ip', host: '1.2.3.4', port: 5353 },
          { kind: 'hostname', hostname: 'ns.foo.com', port: 53 },
        ],
      },
    ]);
    assert.deepEqual(result.config.upstreamNameservers, [{ host: '8.8.8.8', port: 53 }]);
    assert.deepEqual(parseNameserver('[::1]:5353'), { host: '::1', port: 5353 });
  });
});

describe('config dir', () => {
  test('reads regular non-hidden files, skips ..data and dotfiles, versions by content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cfg-'));
    try {
      assert.deepEqual(await readConfigDir(join(dir, 'missing')), { data: {}, version: '' });
      assert.equal((await readConfigDir(dir)).version, '');
      await mkdir(join(dir, '..2024_01_01'));
      await writeFile(join(dir, '..2024_01_01', 'upstreamNameservers'), '["1.1.1.1"]');
      await symlink('..2024_01_01', join(dir, '..data'));
      await symlink('..data/upstreamNameservers', join(dir, 'upstreamNameservers'));
      await writeFile(join(dir, '.hidden'), 'x');
      const first = await readConfigDir(dir);
      assert.deepEqual(first.data, { upstreamNameservers: '["1.1.1.1"]' });
      await writeFile(join(dir, '..2024_01_01', 'upstreamNameservers'), '["1.1.1.2"]');
      assert.notEqual((await readConfigDir(dir)).version, first.version);
      await writeFile(join(dir, 'bad'), Buffer.from([0xff, 0xfe]));
      await assert.rejects(readConfigDir(dir), /UTF-8/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('resolv.conf and IPs', () => {
  test('parses kubelet resolv.conf', () => {
    const conf = parseResolvConf(
      'nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n# c\nnameserver fe80::1%eth0\n',
    );
    assert.deepEqual(conf.nameservers, [
      { host: '10.96.0.10', port: 53 },
      { host: 'fe80::1', port: 53 },
    ]);
    assert.deepEqual(conf.search, ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
    assert.equal(conf.ndots, 5);
  });
  test('canonical IPs', () => {
    assert.equal(canonicalIp('2001:0db8:0:0:0:0:0:0001'), '2001:db8::1');
    assert.equal(canonicalIp('fd00:0:0:1::'), 'fd00:0:0:1::');
    assert.equal(canonicalIp('::ffff:10.0.0.1'), '::ffff:a00:1');
    assert.equal(canonicalIp('10.0.0.01'), null);
    assert.equal(canonicalIp('1:0:0:1:0:0:0:1'), '1:0:0:1::1');
    assert.equal(canonicalIp('nope'), null);
  });
});
