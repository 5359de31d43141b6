import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StartupError } from '@kube-dns/daemon-kit';
import { parseCommandLine } from '@kube-dns/sidecar';

function rejects(argv: string[], fragment: string): void {
  assert.throws(
    () => parseCommandLine(argv, {}),
    (error: unknown) =>
      error instanceof StartupError &&
      error.component === 'sidecar' &&
      error.message.includes(fragment) &&
      !error.line.includes('\n'),
  );
}

describe('sidecar command line', () => {
  test('defaults are the original ones', () => {
    const config = parseCommandLine([], {});
    assert.deepEqual(config.probes, []);
    assert.equal(config.dnsmasqAddr, '127.0.0.1');
    assert.equal(config.dnsmasqPort, 53);
    assert.equal(config.dnsmasqPollIntervalMs, 5000);
    assert.equal(config.prometheusAddr, '0.0.0.0');
    assert.equal(config.prometheusPort, 10054);
    assert.equal(config.prometheusPath, '/metrics');
    assert.equal(config.prometheusNamespace, 'kubedns');
    assert.equal(config.dnsTimeoutMs, 2000);
    assert.equal(config.verbosity, 0);
    assert.equal(config.verbositySet, false);
    assert.equal(config.logFormat, null);
    assert.equal(config.print, null);
  });

  test('the upstream manifest arguments', () => {
    const config = parseCommandLine(
      [
        '--v=2',
        '--logtostderr',
        '--probe=kubedns,127.0.0.1:10053,kubernetes.default.svc.cluster.local,5,SRV',
        '--probe=dnsmasq,127.0.0.1:53,kubernetes.default.svc.cluster.local,5,SRV',
      ],
      {},
    );
    assert.deepEqual(
      config.probes.map((p) => [p.label, p.server, p.name, p.intervalMs, p.type]),
      [
        ['kubedns', '127.0.0.1:10053', 'kubernetes.default.svc.cluster.local.', 5000, 'SRV'],
        ['dnsmasq', '127.0.0.1:53', 'kubernetes.default.svc.cluster.local.', 5000, 'SRV'],
      ],
    );
    assert.equal(config.verbosity, 2);
    assert.equal(config.verbositySet, true);
  });

  test('every flag, in both --flag=value and --flag value forms', () => {
    const config = parseCommandLine(
      [
        '--dnsmasq-addr',
        '10.0.0.2',
        '--dnsmasq-port=5353',
        '--dnsmasq-poll-interval-ms',
        '250',
        '--prometheus-addr=::1',
        '--prometheus-port',
        '9154',
        '--prometheus-path=/stats',
        '--prometheus-namespace=',
        '--dns-timeout-ms=300',
        '--probe',
        'a,127.0.0.1,a.test,1,A',
        '-v',
        '4',
        '--log-format=text',
      ],
      {},
    );
    assert.equal(config.dnsmasqAddr, '10.0.0.2');
    assert.equal(config.dnsmasqPort, 5353);
    assert.equal(config.dnsmasqPollIntervalMs, 250);
    assert.equal(config.prometheusAddr, '::1');
    assert.equal(config.prometheusPort, 9154);
    assert.equal(config.prometheusPath, '/stats');
    assert.equal(config.prometheusNamespace, '');
    assert.equal(config.dnsTimeoutMs, 300);
    assert.equal(config.probes[0]!.label, 'a');
    assert.equal(config.verbosity, 4);
    assert.equal(config.logFormat, 'text');
  });

  test('pflag normalization: underscores in flag names are dashes', () => {
    const config = parseCommandLine(
      [
        '--dnsmasq_port=5300',
        '--prometheus_port',
        '9000',
        '--dnsmasq_poll_interval_ms=10',
        '--prometheus_namespace=x_y',
      ],
      {},
    );
    assert.equal(config.dnsmasqPort, 5300);
    assert.equal(config.prometheusPort, 9000);
    assert.equal(config.dnsmasqPollIntervalMs, 10);
    // Values keep their underscores.
    assert.equal(config.prometheusNamespace, 'x_y');
  });

  test('verbosity as --v=N, -v N, -vN and -v=N', () => {
    for (const argv of [['--v=2'], ['--v', '2'], ['-v', '2'], ['-v2'], ['-v=2']]) {
      assert.equal(parseCommandLine(argv, {}).verbosity, 2, argv.join(' '));
    }
  });

  test('--dnsmasq-poll-interval-ms=0 turns polling off', () => {
    assert.equal(parseCommandLine(['--dnsmasq-poll-interval-ms=0'], {}).dnsmasqPollIntervalMs, 0);
  });

  test('LOG_FORMAT from the environment, --log-format wins', () => {
    assert.equal(parseCommandLine([], { LOG_FORMAT: 'json' }).logFormat, 'json');
    assert.equal(parseCommandLine(['--log-format=text'], { LOG_FORMAT: 'json' }).logFormat, 'text');
  });

  test('--help and --version ask to print and exit', () => {
    const help = parseCommandLine(['--help'], {}).print ?? '';
    for (const flag of [
      '--probe',
      '--dnsmasq-addr',
      '--dnsmasq-port',
      '--dnsmasq-poll-interval-ms',
      '--prometheus-addr',
    ]) {
      assert.ok(help.includes(flag), flag);
    }
    assert.match(parseCommandLine(['--version'], {}).print ?? '', /^sidecar \d+\.\d+\.\d+\n$/);
    assert.match(parseCommandLine(['--version=raw'], {}).print ?? '', /^\{"gitVersion":"\d+\.\d+\.\d+"\}\n$/);
  });

  test('errors are one line naming the flag, with the original probe messages', () => {
    rejects(['--probe=x,1.2.3.4'], 'invalid argument "x,1.2.3.4" for "--probe" flag: invalid format to --probe');
    rejects(['--probe=a-b,1.2.3.4,n'], 'label must be of format ^[a-zA-Z0-9_]+$');
    rejects(['--probe=a,1.2.3.4,n,0.5'], 'strconv.Atoi: parsing "0.5": invalid syntax');
    rejects(['--probe=a,1.2.3.4,n,5,MX'], 'invalid type for DNS: MX');
    rejects(['--probe=a,1.2.3.4,n', '--probe=a,1.2.3.5,m'], 'duplicate label "a"');
    rejects(['--unknown'], "unknown option '--unknown'");
    rejects(['stray'], 'unexpected argument "stray"');
    rejects(['--dnsmasq-port=0'], '--dnsmasq-port');
    rejects(['--dnsmasq-port=x'], 'not an integer');
    rejects(['--prometheus-port=70000'], '--prometheus-port');
    rejects(['--dnsmasq-poll-interval-ms=-1'], '--dnsmasq-poll-interval-ms');
    rejects(['--dns-timeout-ms=0'], '--dns-timeout-ms');
    rejects(['--prometheus-namespace=kube-dns'], 'not a valid metric name prefix');
    rejects(['--prometheus-path=metrics'], 'must start with /');
    rejects(['--prometheus-path=/healthz'], 'collides');
    rejects(['--prometheus-path=/'], 'collides');
    rejects(['--dnsmasq-addr=not valid'], 'not an IP address or host name');
    rejects(['--log-format=xml'], 'must be json or text');
    rejects(['--logtostderr=maybe'], 'not a boolean');
    rejects(['--v=high'], '--v');
  });
});
