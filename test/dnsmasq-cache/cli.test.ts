import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StartupError } from '@kube-dns/daemon-kit';
import { parseCommandLine, type DnsmasqCacheConfig } from '@kube-dns/dnsmasq-cache';

/** The dnsmasq arguments of the upstream kube-dns manifest, unchanged. */
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

function errorOf(argv: string[]): string {
  try {
    parseCommandLine(argv);
  } catch (error) {
    assert.ok(error instanceof StartupError, `a StartupError, got ${String(error)}`);
    assert.ok(!error.line.includes('\n'), 'one line');
    return error.line;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

describe('dnsmasq-cache command line', () => {
  test('the kube-dns manifest arguments run unchanged', () => {
    const config = parseCommandLine(MANIFEST);
    assert.equal(config.cacheSize, 1000);
    assert.equal(config.negativeCache, false);
    assert.equal(config.dnsLoopDetect, true);
    assert.deepEqual(config.logTarget, { kind: 'stderr' });
    assert.deepEqual(config.servers, [
      { kind: 'forward', domains: ['cluster.local'], server: { host: '127.0.0.1', port: 10053 } },
      { kind: 'forward', domains: ['in-addr.arpa'], server: { host: '127.0.0.1', port: 10053 } },
      { kind: 'forward', domains: ['ip6.arpa'], server: { host: '127.0.0.1', port: 10053 } },
    ]);
    assert.equal(config.port, 53);
    assert.equal(config.noResolv, false);
    assert.deepEqual(config.resolvFiles, ['/etc/resolv.conf']);
    assert.equal(config.dnsForwardMax, 150);
  });

  test('defaults are dnsmasq’s', () => {
    const config = parseCommandLine([]);
    assert.equal(config.cacheSize, 150);
    assert.equal(config.negativeCache, true);
    assert.equal(config.dnsForwardMax, 150);
    assert.equal(config.ednsPacketMax, 1232);
    assert.equal(config.noHosts, false);
    assert.equal(config.hostsFile, '/etc/hosts');
    assert.equal(config.logQueries, false);
    assert.equal(config.configDir, null);
    assert.equal(config.metricsPort, null, 'metrics off unless asked for');
  });

  const forms: [string, string[], (c: DnsmasqCacheConfig) => unknown, unknown][] = [
    ['-p VALUE', ['-p', '5353'], (c) => c.port, 5353],
    ['-pVALUE', ['-p5353'], (c) => c.port, 5353],
    ['--port=VALUE', ['--port=5353'], (c) => c.port, 5353],
    ['--port VALUE', ['--port', '5353'], (c) => c.port, 5353],
    ['-c VALUE', ['-c', '1000'], (c) => c.cacheSize, 1000],
    ['-cVALUE', ['-c1000'], (c) => c.cacheSize, 1000],
    ['--cache-size VALUE (dnsmasq itself rejects this form)', ['--cache-size', '1000'], (c) => c.cacheSize, 1000],
    ['huge cache clamped like dnsmasq', ['--cache-size=99999999'], (c) => c.cacheSize, 5_000_000],
    ['-N', ['-N'], (c) => c.negativeCache, false],
    ['clustered -kN', ['-kN'], (c) => c.negativeCache, false],
    ['--neg-ttl', ['--neg-ttl=5'], (c) => c.negTtl, 5],
    ['--neg-ttl VALUE', ['--neg-ttl', '5'], (c) => c.negTtl, 5],
    ['--max-ttl', ['--max-ttl=30'], (c) => c.maxTtl, 30],
    ['--max-cache-ttl', ['--max-cache-ttl=60'], (c) => c.maxCacheTtl, 60],
    ['--min-cache-ttl capped at 3600', ['--min-cache-ttl=7200'], (c) => c.minCacheTtl, 3600],
    ['-T', ['-T', '10'], (c) => c.localTtl, 10],
    ['-R', ['-R'], (c) => c.noResolv, true],
    ['--no-resolv', ['--no-resolv'], (c) => c.noResolv, true],
    ['-r', ['-r', '/tmp/r1'], (c) => c.resolvFiles, ['/tmp/r1']],
    ['--resolv-file twice', ['--resolv-file=/a', '--resolv-file=/b'], (c) => c.resolvFiles, ['/a', '/b']],
    ['-n', ['-n'], (c) => c.noPoll, true],
    ['-h is --no-hosts, not help', ['-h'], (c) => c.noHosts, true],
    ['-H', ['-H', '/h1', '--addn-hosts=/h2'], (c) => c.addnHosts, ['/h1', '/h2']],
    ['-0 VALUE', ['-0', '7'], (c) => c.dnsForwardMax, 7],
    ['-0VALUE', ['-07'], (c) => c.dnsForwardMax, 7],
    ['--dns-forward-max', ['--dns-forward-max=300'], (c) => c.dnsForwardMax, 300],
    ['-8 -', ['-8', '-'], (c) => c.logTarget, { kind: 'stderr' }],
    [
      '--log-facility=<file>',
      ['--log-facility=/var/log/dnsmasq.log'],
      (c) => c.logTarget,
      { kind: 'file', path: '/var/log/dnsmasq.log' },
    ],
    ['--log-facility=DAEMON (syslog) → stderr', ['--log-facility=DAEMON'], (c) => c.logTarget, { kind: 'stderr' }],
    ['-q', ['-q'], (c) => c.logQueries, true],
    ['-q twice is fine (as dnsmasq)', ['-q', '-q'], (c) => c.logQueries, true],
    ['--log-queries=extra', ['--log-queries=extra'], (c) => c.logQueries, true],
    ['-z', ['-z'], (c) => c.bindInterfaces, true],
    ['-x', ['-x', '/run/dnsmasq.pid'], (c) => c.pidFile, '/run/dnsmasq.pid'],
    ['--pid-file= (none)', ['--pid-file='], (c) => c.pidFile, null],
    [
      '-a with a comma list',
      ['-a', '127.0.0.1,::1', '--listen-address=10.0.0.1'],
      (c) => c.listenAddresses,
      ['127.0.0.1', '::1', '10.0.0.1'],
    ],
    ['--user accepted', ['--user=root', '-u', 'nobody', '-g', 'nogroup'], (c) => c.port, 53],
    ['-o', ['-o'], (c) => c.strictOrder, true],
    ['-P', ['-P', '4096'], (c) => c.ednsPacketMax, 4096],
    ['GNU getopt abbreviation --no-neg', ['--no-neg'], (c) => c.negativeCache, false],
    ['abbreviation --dns-l', ['--dns-l'], (c) => c.dnsLoopDetect, true],
    ['--config-dir', ['--config-dir=/kube-dns-config'], (c) => c.configDir, '/kube-dns-config'],
    ['--config-period', ['--config-period=2s'], (c) => c.configPeriodMs, 2000],
    ['--upstream-timeout', ['--upstream-timeout=750ms'], (c) => c.upstreamTimeoutMs, 750],
    ['--shutdown-grace=0', ['--shutdown-grace=0'], (c) => c.shutdownGraceMs, 0],
    ['--metrics-port', ['--metrics-port=9153'], (c) => c.metricsPort, 9153],
    ['--test', ['--test'], (c) => c.testOnly, true],
  ];
  for (const [name, argv, read, expected] of forms) {
    test(`flag form: ${name}`, () => assert.deepEqual(read(parseCommandLine(argv)), expected));
  }

  const servers: [string, unknown][] = [
    ['1.2.3.4', { kind: 'forward', domains: [], server: { host: '1.2.3.4', port: 53 } }],
    ['1.2.3.4#5353', { kind: 'forward', domains: [], server: { host: '1.2.3.4', port: 5353 } }],
    [
      '/example.com/1.2.3.4#5353',
      { kind: 'forward', domains: ['example.com'], server: { host: '1.2.3.4', port: 5353 } },
    ],
    [
      '/a.example/B.example./10.0.0.1',
      { kind: 'forward', domains: ['a.example', 'b.example'], server: { host: '10.0.0.1', port: 53 } },
    ],
    ['/.old.example/10.0.0.1', { kind: 'forward', domains: ['old.example'], server: { host: '10.0.0.1', port: 53 } }],
    ['/local.example/', { kind: 'local', domains: ['local.example'] }],
    ['/a.example/b.example/', { kind: 'local', domains: ['a.example', 'b.example'] }],
    ['/std.example/#', { kind: 'default', domains: ['std.example'] }],
    ['//10.0.0.1', { kind: 'forward', domains: [''], server: { host: '10.0.0.1', port: 53 } }],
    ['2001:db8::1#5353', { kind: 'forward', domains: [], server: { host: '2001:db8::1', port: 5353 } }],
    ['/v6.example/[fd00::1]#53', { kind: 'forward', domains: ['v6.example'], server: { host: 'fd00::1', port: 53 } }],
  ];
  for (const [spec, expected] of servers) {
    test(`--server=${spec}`, () => {
      assert.deepEqual(parseCommandLine([`--server=${spec}`]).servers, [expected]);
      assert.deepEqual(parseCommandLine(['-S', spec]).servers, [expected]);
      assert.deepEqual(parseCommandLine([`-S${spec}`]).servers, [expected]);
    });
  }
  test('--local is --server', () => {
    assert.deepEqual(parseCommandLine(['--local=/lan/']).servers, [{ kind: 'local', domains: ['lan'] }]);
  });

  const errors: [string[], RegExp][] = [
    [['--frobnicate'], /^dnsmasq-cache: unknown flag --frobnicate$/],
    [['--frobnicate=1'], /^dnsmasq-cache: unknown flag --frobnicate$/],
    [['-Y', 'x'], /^dnsmasq-cache: unsupported dnsmasq flag -Y \(--txt-record\)/],
    [['-j'], /^dnsmasq-cache: unsupported dnsmasq flag -j \(--dhcp-userclass\)/],
    [['-kF', '1.2.3.4'], /^dnsmasq-cache: unsupported dnsmasq flag -F \(--dhcp-range\)/],
    [['-%'], /^dnsmasq-cache: unknown flag -%$/],
    [['--dhcp-range=10.0.0.1,10.0.0.9'], /^dnsmasq-cache: unsupported dnsmasq flag --dhcp-range: /],
    [['--all-servers'], /^dnsmasq-cache: unsupported dnsmasq flag --all-servers/],
    [['--conf-dir=/etc/dnsmasq.d'], /^dnsmasq-cache: unsupported dnsmasq flag --conf-dir/],
    [['--cache=10'], /^dnsmasq-cache: ambiguous flag --cache \(could be --cache-size, --cache-rr\)$/],
    [['--cache-size=abc'], /^dnsmasq-cache: --cache-size: "abc" is not a non-negative integer$/],
    [['--cache-size=-1'], /^dnsmasq-cache: --cache-size: "-1" is not a non-negative integer$/],
    [['--port=70000'], /^dnsmasq-cache: --port: 70000 is out of range/],
    [['-c'], /^dnsmasq-cache: option '-c, --cache-size <records>' argument missing$/],
    [
      ['--server=/example.com/ns1.example.com'],
      /^dnsmasq-cache: --server=\/example.com\/ns1.example.com: "ns1.example.com" is not an IP address/,
    ],
    [['--server=1.2.3.4@eth0'], /@interface and @source-address are not supported/],
    [['--server=1.2.3.4#99999'], /invalid port "99999"/],
    [['--server=/*.example/1.2.3.4'], /wildcard \(\*\) domains are not supported/],
    [['--listen-address=localhost'], /^dnsmasq-cache: --listen-address: "localhost" is not an IP address$/],
    [['junk'], /^dnsmasq-cache: unexpected argument "junk"$/],
    [['--cache-size=1', '-c', '2'], /^dnsmasq-cache: illegal repeated flag --cache-size$/],
    [['--port', '1', '--port=2'], /^dnsmasq-cache: illegal repeated flag --port$/],
    [['--conf-file=/nonexistent/dnsmasq.conf'], /^dnsmasq-cache: --conf-file=\/nonexistent\/dnsmasq.conf: ENOENT$/],
  ];
  for (const [argv, pattern] of errors) {
    test(`rejected with one line: ${argv.join(' ')}`, () => assert.match(errorOf(argv), pattern));
  }

  test('--conf-file: dnsmasq configuration lines; repeated options add up, single ones from the file win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsmasq-cache-conf-'));
    const file = join(dir, 'dnsmasq.conf');
    writeFileSync(file, '# kube-dns image\nuser=root\nserver=/corp.example/10.0.0.9\ncache-size=42\n\nno-negcache\n');
    const config = parseCommandLine(['--cache-size=7', '--server=1.1.1.1', `--conf-file=${file}`]);
    assert.equal(config.cacheSize, 42);
    assert.equal(config.negativeCache, false);
    assert.deepEqual(
      config.servers.map((s) => (s.kind === 'forward' ? `${s.domains.join('/')}@${s.server.host}` : s.kind)),
      ['@1.1.1.1', 'corp.example@10.0.0.9'],
    );
    assert.equal(parseCommandLine(['--conf-file=/dev/null']).cacheSize, 150);
    writeFileSync(file, 'dhcp-range=10.0.0.1,10.0.0.9\n');
    assert.match(errorOf([`-C${file}`]), /unsupported dnsmasq flag --dhcp-range/);
  });

  test('--help and --version print and exit', () => {
    assert.match(parseCommandLine(['--help']).print!, /--cache-size <records>/);
    assert.match(parseCommandLine(['-w']).print!, /-h, --no-hosts/);
    assert.match(
      parseCommandLine(['-v']).print!,
      /^dnsmasq-cache version \S+ \(flags and statistics of dnsmasq 2\.90\)/,
    );
  });
});
