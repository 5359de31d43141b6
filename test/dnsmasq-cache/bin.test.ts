import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import {
  answersChaos,
  freeDnsPort,
  queryDns,
  rr,
  startFakeUpstream,
  waitUntil,
  type FakeUpstream,
} from '../helpers/index.js';

const bin = fileURLToPath(new URL('../../../packages/dnsmasq-cache/bin/dnsmasq-cache', import.meta.url));

/** The manifest's dnsmasq arguments, unchanged (the test adds port, address and an upstream it controls). */
const MANIFEST = [
  '-k',
  '--cache-size=1000',
  '--no-negcache',
  '--dns-loop-detect',
  '--log-facility=-',
  '--server=/cluster.local/127.0.0.1#10053',
  '--server=/in-addr.arpa/127.0.0.1#10053',
  '--server=/ip6.arpa/127.0.0.1#10053',
];

describe('dnsmasq-cache bin', () => {
  let upstream: FakeUpstream;
  before(async () => {
    upstream = await startFakeUpstream((q) => ({ answers: q.type === 'A' ? [rr(q.name, 'A', '10.3.3.3', 60)] : [] }));
  });
  after(() => upstream.close());

  test('runs with the manifest arguments, answers, logs one line per query with -q, exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsmasq-cache-bin-'));
    const pidFile = join(dir, 'dnsmasq.pid');
    const port = await freeDnsPort();
    // The manifest's arguments exactly as they are, then what this test needs (the helper would add its own
    // --log-facility, which dnsmasq and we reject as a repeated flag).
    const process = spawn(
      bin,
      [
        ...MANIFEST,
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--no-resolv',
        '--no-hosts',
        `--server=${upstream.label}`,
        '-q',
        `--pid-file=${pidFile}`,
        '--shutdown-grace=0',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    process.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = once(process, 'exit');
    const child = {
      child: process,
      output: () => stderr,
      kill: async () => {
        if (process.exitCode === null && process.signalCode === null) process.kill('SIGKILL');
        await exited;
      },
    };
    await waitUntil('dnsmasq-cache to answer', () => answersChaos(port));
    try {
      const server = { host: '127.0.0.1', port };
      assert.deepEqual((await queryDns(server, 'www.example.com', 'A')).packet.answers!.length, 1);
      await queryDns(server, 'www.example.com', 'A');
      const cachesize = await queryDns(server, 'cachesize.bind', 'TXT', { qclass: 'CH' });
      assert.equal(String((cachesize.packet.answers![0] as { data: Buffer[] }).data[0]), '1000');
      await waitUntil('query lines', () => child.output().includes('query[A] www.example.com from 127.0.0.1: cache'));
      assert.match(
        child.output(),
        /query\[A\] www\.example\.com from 127\.0\.0\.1: forwarded to 127\.0\.0\.1#\d+, NOERROR/,
      );
      assert.match(child.output(), /using nameserver 127\.0\.0\.1#10053 for domain cluster\.local/);
      await waitUntil('pid file', () => readFileSync(pidFile, 'utf8') === `${child.child.pid}\n`);
      // SIGHUP: cache cleared (as dnsmasq), so the name is asked upstream again.
      const before = upstream.queriesFor('www.example.com').length;
      child.child.kill('SIGHUP');
      await waitUntil('cache cleared', async () => {
        await queryDns(server, 'www.example.com', 'A');
        return upstream.queriesFor('www.example.com').length > before;
      });
      child.child.kill('SIGUSR1');
      await waitUntil('statistics logged', () => child.output().includes('"message":"statistics"'));
      child.child.kill('SIGTERM');
      await waitUntil('exit', () => child.child.exitCode !== null, { timeoutMs: 3000 });
      assert.equal(child.child.exitCode, 0);
    } finally {
      await child.kill();
    }
  });

  test('an unknown or unsupported flag is one line naming it, exit 2; --test checks and exits 0', () => {
    const unknown = spawnSync(bin, ['-k', '--frobnicate'], { encoding: 'utf8' });
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, 'dnsmasq-cache: unknown flag --frobnicate\n');
    const dhcp = spawnSync(bin, ['--dhcp-range=10.0.0.2,10.0.0.9'], { encoding: 'utf8' });
    assert.equal(dhcp.status, 2);
    assert.match(
      dhcp.stderr,
      /^dnsmasq-cache: unsupported dnsmasq flag --dhcp-range: dnsmasq-cache does not implement it\n$/,
    );
    const check = spawnSync(bin, [...MANIFEST, '--test'], { encoding: 'utf8' });
    assert.equal(check.status, 0);
    assert.equal(check.stderr, 'dnsmasq-cache: syntax check OK.\n');
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^dnsmasq-cache version /);
  });

  test('a port that is taken is a one-line startup error, exit 1', () => {
    const port = upstream.port;
    const result = spawnSync(bin, ['--port', String(port), '--listen-address=127.0.0.1', '--no-resolv'], {
      encoding: 'utf8',
      timeout: 5000,
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr.trim().split('\n').at(-1)!, /^dnsmasq-cache: .*EADDRINUSE/);
  });
});
