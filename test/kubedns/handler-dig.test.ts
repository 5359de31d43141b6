import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { silentLogger, startDnsListener, type DnsListener } from '@kube-dns/daemon-kit';
import { missingTool } from '../helpers/index.js';
import { fixtureAnswerer, headless, slice, specFixture } from './answers-fixture.js';

const run = promisify(execFile);
const skip = missingTool('dig');

interface DigResult {
  status: string;
  flags: string[];
  edns: boolean;
  answer: string[];
  authority: string[];
  additional: string[];
  text: string;
}

/** Runs dig against our listener and reads its status, flags and sections (whitespace collapsed). */
async function dig(listener: DnsListener, ...args: string[]): Promise<DigResult> {
  const { stdout } = await run('dig', ['@127.0.0.1', '-p', String(listener.port), '+time=2', '+tries=1', ...args]);
  const section = (title: string): string[] => {
    const lines = stdout.split('\n');
    const start = lines.findIndex((l) => l.startsWith(`;; ${title} SECTION:`));
    if (start < 0) return [];
    const out: string[] = [];
    for (const line of lines.slice(start + 1)) {
      if (line.trim() === '') break;
      out.push(line.trim().split(/\s+/).join(' '));
    }
    return out;
  };
  return {
    status: /status: (\w+)/.exec(stdout)?.[1] ?? '',
    flags: (/;; flags: ([a-z ]+);/.exec(stdout)?.[1] ?? '').trim().split(' '),
    edns: stdout.includes('OPT PSEUDOSECTION'),
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    text: stdout,
  };
}

describe('kube-dns answers as dig sees them', { skip }, () => {
  let listener: DnsListener;
  before(async () => {
    const store = specFixture('insecure');
    store.upsertService(headless('default/big', ['http/tcp/80']));
    store.upsertEndpoints(
      slice(
        'default/big-1',
        'big',
        Array.from({ length: 120 }, (_, i) => `10.9.0.${i + 1}`),
        ['http/tcp/80'],
      ),
    );
    const handler = fixtureAnswerer(store).handler;
    listener = await startDnsListener({ host: '127.0.0.1', port: 0, handler, logger: silentLogger });
  });
  after(() => listener.close());

  test('A with +norecurse: NOERROR, aa and ra, RD not echoed, EDNS echoed', async () => {
    const got = await dig(listener, 'web.prod.svc.cluster.local', 'A', '+norecurse');
    assert.equal(got.status, 'NOERROR');
    assert.deepEqual(got.flags.sort(), ['aa', 'qr', 'ra']);
    assert.ok(got.edns, 'dig sends EDNS by default and we echo it');
    assert.deepEqual(got.answer, ['web.prod.svc.cluster.local. 30 IN A 10.3.0.20']);
  });

  test('+noedns: no OPT back; mixed case echoed', async () => {
    const got = await dig(listener, 'WeB.PrOd.svc.cluster.local', 'A', '+noedns');
    assert.ok(!got.edns);
    assert.deepEqual(got.answer, ['WeB.PrOd.svc.cluster.local. 30 IN A 10.3.0.20']);
  });

  test('NXDOMAIN carries the SOA with the negative TTL', async () => {
    const got = await dig(listener, 'nosuch.prod.svc.cluster.local', 'A');
    assert.equal(got.status, 'NXDOMAIN');
    assert.ok(got.flags.includes('aa'));
    assert.equal(got.authority.length, 1);
    assert.match(
      got.authority[0]!,
      /^cluster\.local\. 5 IN SOA ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. \d+ 7200 1800 86400 5$/,
    );
  });

  test('+tcp headless SRV with glue', async () => {
    const got = await dig(listener, '+tcp', '_https._tcp.headless.default.svc.cluster.local', 'SRV');
    assert.equal(got.status, 'NOERROR');
    assert.equal(got.answer.length, 3);
    assert.ok(
      got.answer.includes(
        '_https._tcp.headless.default.svc.cluster.local. 30 IN SRV 0 33 443 my-pet.headless.default.svc.cluster.local.',
      ),
    );
    assert.ok(got.additional.includes('my-pet.headless.default.svc.cluster.local. 30 IN A 10.3.0.100'));
  });

  test('+edns=0 +bufsize=512 +ignore on a big headless service: tc; without +ignore dig retries over TCP and gets all', async () => {
    const truncated = await dig(listener, '+edns=0', '+bufsize=512', '+ignore', 'big.default.svc.cluster.local', 'A');
    assert.ok(truncated.flags.includes('tc'), truncated.flags.join(' '));
    const full = await dig(listener, '+edns=0', '+bufsize=512', 'big.default.svc.cluster.local', 'A');
    assert.ok(!full.flags.includes('tc'));
    assert.equal(full.answer.length, 120);
    const roomy = await dig(listener, '+edns=0', '+bufsize=4096', '+ignore', 'big.default.svc.cluster.local', 'A');
    assert.ok(roomy.flags.includes('tc'), 'our advertised 1232 caps the UDP answer');
  });

  test('-x on a cluster IP', async () => {
    const got = await dig(listener, '-x', '10.3.0.20');
    assert.deepEqual(got.answer, ['20.0.3.10.in-addr.arpa. 30 IN PTR web.prod.svc.cluster.local.']);
  });

  test('dns-version TXT and the apex SOA/NS', async () => {
    assert.deepEqual((await dig(listener, 'dns-version.cluster.local', 'TXT')).answer, [
      'dns-version.cluster.local. 28800 IN TXT "1.1.0"',
    ]);
    assert.deepEqual((await dig(listener, 'cluster.local', 'NS')).answer, [
      'cluster.local. 30 IN NS ns.dns.cluster.local.',
    ]);
    assert.match(
      (await dig(listener, 'cluster.local', 'SOA')).answer[0]!,
      /^cluster\.local\. 30 IN SOA ns\.dns\.cluster\.local\. /,
    );
  });

  test('AXFR is refused', async () => {
    const { stdout } = await run('dig', [
      '@127.0.0.1',
      '-p',
      String(listener.port),
      '+time=2',
      '+tries=1',
      'cluster.local',
      'AXFR',
    ]);
    assert.match(stdout, /Transfer failed/);
  });
});
