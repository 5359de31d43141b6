import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizePflagArgs, readPackageVersion } from '@kube-dns/daemon-kit';

test('pflag spelling: _ is - in every long flag name, -v=N is --v=N, nothing after --', () => {
  assert.deepEqual(normalizePflagArgs(['--dns_port=10053', '--config_dir', '/a_b', '-v=2', '-k', '--', '--not_this']), [
    '--dns-port=10053',
    '--config-dir',
    '/a_b',
    '--v=2',
    '-k',
    '--',
    '--not_this',
  ]);
  assert.deepEqual(normalizePflagArgs(['--domain=my_zone.local.']), ['--domain=my_zone.local.'], 'values untouched');
});

test('package version from package.json, unknown when unreadable', () => {
  assert.match(
    readPackageVersion(new URL('../../../packages/daemon-kit/package.json', import.meta.url)),
    /^\d+\.\d+\.\d+/,
  );
  assert.equal(readPackageVersion(new URL('file:///nonexistent/package.json')), 'unknown');
});
