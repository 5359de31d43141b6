import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { manifestsDir, parseManifest } from './manifest-files.js';

const base = join(manifestsDir, 'kube-dns.yaml.base');
const sedScript = join(manifestsDir, 'transforms2sed.sed');
const committed = readFileSync(join(manifestsDir, 'kube-dns.yaml'), 'utf8');
const scratch = mkdtempSync(join(tmpdir(), 'manifests-render-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** sed's output for the base template. */
function sed(script: string): string {
  return execFileSync('sed', ['-f', script, base], { encoding: 'utf8' });
}

/** Runs generate.sh with these variables and returns what it prints. */
function generate(variables: Record<string, string>): string {
  return execFileSync('sh', [join(manifestsDir, 'generate.sh'), '-'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...variables },
  });
}

describe('rendering kube-dns.yaml.base', () => {
  test('the article flow (edit the variables in transforms2sed.sed, then sed -f) reproduces kube-dns.yaml', () => {
    const edited = readFileSync(sedScript, 'utf8')
      .replaceAll('$DNS_SERVER_IP', '10.96.0.10')
      .replaceAll('$DNS_DOMAIN', 'cluster.local')
      .replaceAll('$SERVICE_CLUSTER_IP_RANGE', '10.96.0.0\\/12');
    const script = join(scratch, 'transforms2sed.sed');
    writeFileSync(script, edited);
    assert.equal(sed(script), committed);
  });

  test('generate.sh with its defaults writes kube-dns.yaml byte for byte', () => {
    const output = join(scratch, 'kube-dns.yaml');
    execFileSync('sh', [join(manifestsDir, 'generate.sh'), output], { env: { PATH: process.env.PATH } });
    assert.equal(readFileSync(output, 'utf8'), committed);
  });

  test('no placeholder or unset variable survives rendering', () => {
    for (const leftover of [
      '__PILLAR__',
      '__MACHINE_GENERATED_WARNING__',
      '__SOURCE_FILENAME__',
      '$DNS_',
      '$SERVICE_',
    ]) {
      assert.ok(!committed.includes(leftover), `kube-dns.yaml still contains ${leftover}`);
    }
    assert.match(
      committed,
      /^# Warning: This is a file generated from the base underscore template file: kube-dns\.yaml\.base$/m,
    );
  });

  test('every use of the server address and the domain comes from a placeholder', () => {
    // Rendered for another cluster, no object may still carry the defaults (comments may mention them).
    const rendered = generate({ DNS_SERVER_IP: '10.0.0.10', DNS_DOMAIN: 'corp.example' });
    const objects = JSON.stringify(parseManifest(rendered, 'rendered for corp.example'));
    assert.ok(!objects.includes('cluster.local'), 'cluster.local is hard-coded somewhere');
    assert.ok(!objects.includes('10.96.0.10'), '10.96.0.10 is hard-coded somewhere');
    for (const expected of [
      '"clusterIP":"10.0.0.10"',
      '"--domain=corp.example."',
      '"--server=/corp.example/127.0.0.1#10053"',
      '"--probe=kubedns,127.0.0.1:10053,kubernetes.default.svc.corp.example,5,SRV"',
      '"--probe=dnsmasq,127.0.0.1:53,kubernetes.default.svc.corp.example,5,SRV"',
    ]) {
      assert.ok(objects.includes(expected), `missing ${expected}`);
    }
  });

  test('generate.sh escapes values for sed (a CIDR with "/", a "&")', () => {
    const rendered = generate({
      DNS_SERVER_IP: '10.0.0.10',
      DNS_DOMAIN: 'a&b',
      SERVICE_CLUSTER_IP_RANGE: '10.0.0.0/16',
    });
    assert.ok(rendered.includes('--domain=a&b.'));
  });
});
