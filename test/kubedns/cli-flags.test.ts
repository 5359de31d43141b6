import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StartupError } from '@kube-dns/daemon-kit';
import { describeConfig, expandEnv, parseCommandLine, parseGoDuration } from '@kube-dns/kubedns/cli';

/** The one-line error for argv, or fails the test if parsing succeeds. */
function errorOf(argv: string[], env: NodeJS.ProcessEnv = {}): string {
  try {
    parseCommandLine(argv, env);
  } catch (error) {
    assert.ok(error instanceof StartupError, `not a StartupError: ${String(error)}`);
    assert.equal(error.component, 'kube-dns');
    assert.ok(!error.line.includes('\n'), `more than one line: ${error.line}`);
    return error.line;
  }
  assert.fail(`accepted ${argv.join(' ')}`);
}

describe('kube-dns command line', () => {
  test('defaults are the original kube-dns defaults plus the SPEC additions', () => {
    const config = parseCommandLine([], {});
    assert.equal(config.domain, 'cluster.local');
    assert.equal(config.dnsBindAddress, '0.0.0.0');
    assert.equal(config.dnsPort, 53);
    assert.equal(config.healthzPort, 8081);
    assert.equal(config.healthzBindAddress, '0.0.0.0');
    assert.equal(config.kubeMasterUrl, null);
    assert.equal(config.kubecfgFile, null);
    assert.equal(config.configDir, null);
    assert.equal(config.configPeriodMs, 10_000);
    assert.equal(config.configMap, null);
    assert.equal(config.configMapNamespace, 'kube-system');
    assert.equal(config.initialSyncTimeoutMs, 60_000);
    assert.deepEqual(config.nameservers, []);
    assert.equal(config.resolvConf, '/etc/resolv.conf');
    assert.equal(config.verbosity, 0);
    assert.equal(config.federations.size, 0);
    assert.equal(config.profiling, false);
    assert.equal(config.endpointsApi, 'endpointslices');
    assert.equal(config.podRecords, 'insecure');
    assert.equal(config.ttl, 30);
    assert.equal(config.negativeTtl, 5);
    assert.equal(config.shutdownGraceMs, 5_000);
    assert.equal(config.logFormat, null);
    assert.equal(config.metrics, null, 'metrics are off without PROMETHEUS_PORT');
    assert.equal(config.print, null);
  });

  test("the upstream manifest's arguments run unchanged", () => {
    const config = parseCommandLine(
      ['--domain=cluster.local.', '--dns-port=10053', '--config-dir=/kube-dns-config', '--v=2'],
      { PROMETHEUS_PORT: '10055' },
    );
    assert.equal(config.domain, 'cluster.local');
    assert.equal(config.dnsPort, 10053);
    assert.equal(config.configDir, '/kube-dns-config');
    assert.equal(config.verbosity, 2);
    assert.deepEqual(config.metrics, {
      host: '0.0.0.0',
      port: 10055,
      path: '/metrics',
      namespace: 'skydns',
      subsystem: 'skydns',
    });
  });

  test('every flag, in --flag=value and --flag value forms', () => {
    const config = parseCommandLine(
      [
        '--domain',
        'Example.ORG',
        '--dns-bind-address=127.0.0.1',
        '--dns-port',
        '5353',
        '--healthz-bind-address=::1',
        '--healthz-port=0',
        '--kube-master-url=https://10.0.0.1:6443',
        '--kubecfg-file',
        '/etc/kubeconfig',
        '--config-map=kube-dns',
        '--config-map-namespace=dns',
        '--config-period=1m30s',
        '--initial-sync-timeout=2m',
        '--nameservers=8.8.8.8,1.1.1.1:5353,[2001:db8::1]:53,2001:db8::2',
        '--resolv-conf=/tmp/resolv.conf',
        '--v=5',
        '--federations=fed=example.com,other=foo.bar',
        '--profiling',
        '--endpoints-api=endpoints',
        '--pod-records=verified',
        '--ttl=60',
        '--negative-ttl=0',
        '--shutdown-grace=0s',
        '--log-format=text',
      ],
      {},
    );
    assert.equal(config.domain, 'example.org');
    assert.equal(config.dnsBindAddress, '127.0.0.1');
    assert.equal(config.dnsPort, 5353);
    assert.equal(config.healthzBindAddress, '::1');
    assert.equal(config.healthzPort, 0);
    assert.equal(config.kubeMasterUrl, 'https://10.0.0.1:6443');
    assert.equal(config.kubecfgFile, '/etc/kubeconfig');
    assert.equal(config.configMap, 'kube-dns');
    assert.equal(config.configMapNamespace, 'dns');
    assert.equal(config.configPeriodMs, 90_000);
    assert.equal(config.initialSyncTimeoutMs, 120_000);
    assert.deepEqual(config.nameservers, [
      { host: '8.8.8.8', port: 53 },
      { host: '1.1.1.1', port: 5353 },
      { host: '2001:db8::1', port: 53 },
      { host: '2001:db8::2', port: 53 },
    ]);
    assert.equal(config.resolvConf, '/tmp/resolv.conf');
    assert.equal(config.verbosity, 5);
    assert.deepEqual(
      [...config.federations],
      [
        ['fed', 'example.com'],
        ['other', 'foo.bar'],
      ],
    );
    assert.equal(config.profiling, true);
    assert.equal(config.endpointsApi, 'endpoints');
    assert.equal(config.podRecords, 'verified');
    assert.equal(config.ttl, 60);
    assert.equal(config.negativeTtl, 0);
    assert.equal(config.shutdownGraceMs, 0);
    assert.equal(config.logFormat, 'text');
  });

  test('underscores are dashes in every flag name (pflag WordSepNormalizeFunc), values untouched', () => {
    const config = parseCommandLine(
      [
        '--dns_port=10053',
        '--dns_bind_address',
        '127.0.0.1',
        '--healthz_port=9999',
        '--config_dir=/a_b',
        '--initial_sync_timeout=5s',
        '--pod_records=disabled',
        '--negative_ttl=7',
      ],
      {},
    );
    assert.equal(config.dnsPort, 10053);
    assert.equal(config.dnsBindAddress, '127.0.0.1');
    assert.equal(config.healthzPort, 9999);
    assert.equal(config.configDir, '/a_b');
    assert.equal(config.initialSyncTimeoutMs, 5000);
    assert.equal(config.podRecords, 'disabled');
    assert.equal(config.negativeTtl, 7);
  });

  test('-v is --v; the last of a repeated flag wins', () => {
    assert.equal(parseCommandLine(['-v', '3'], {}).verbosity, 3);
    assert.equal(parseCommandLine(['--dns-port=1', '--dns-port=2'], {}).dnsPort, 2);
  });

  test('booleans take Go spellings', () => {
    assert.equal(parseCommandLine(['--profiling=true'], {}).profiling, true);
    assert.equal(parseCommandLine(['--profiling=false'], {}).profiling, false);
    assert.equal(parseCommandLine(['--profiling=0'], {}).profiling, false);
    assert.match(errorOf(['--profiling=maybe']), /--profiling/);
  });

  test('--kube-master-url expands environment variables and needs a scheme and a host', () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', PORT: '6443' };
    assert.equal(
      parseCommandLine(['--kube-master-url=https://${KUBERNETES_SERVICE_HOST}:$PORT'], env).kubeMasterUrl,
      'https://10.0.0.1:6443',
    );
    assert.equal(
      parseCommandLine(['--kube-master-url=http://127.0.0.1:8080'], {}).kubeMasterUrl,
      'http://127.0.0.1:8080',
    );
    assert.match(errorOf(['--kube-master-url=localhost:8080']), /kube-master-url/);
    assert.match(errorOf(['--kube-master-url=$UNSET']), /kube-master-url/);
    assert.match(errorOf(['--kube-master-url=ftp://host']), /kube-master-url/);
  });

  test('PROMETHEUS_* environment as the original', () => {
    const config = parseCommandLine([], {
      PROMETHEUS_PORT: '0',
      PROMETHEUS_PATH: '/m',
      PROMETHEUS_NAMESPACE: 'kubedns',
      PROMETHEUS_SUBSYSTEM: '',
    });
    assert.deepEqual(config.metrics, { host: '0.0.0.0', port: 0, path: '/m', namespace: 'kubedns', subsystem: '' });
    assert.equal(parseCommandLine([], { PROMETHEUS_PORT: '' }).metrics, null);
    assert.match(errorOf([], { PROMETHEUS_PORT: 'abc' }), /^kube-dns: PROMETHEUS_PORT/);
    assert.match(errorOf([], { PROMETHEUS_PORT: '1', PROMETHEUS_NAMESPACE: 'a-b' }), /PROMETHEUS_NAMESPACE/);
  });

  test('--help and --version ask to print instead of run', () => {
    const help = parseCommandLine(['--help'], {}).print ?? '';
    for (const flag of [
      '--domain',
      '--dns-port',
      '--kubecfg-file',
      '--endpoints-api',
      '--pod-records',
      '--shutdown-grace',
    ]) {
      assert.ok(help.includes(flag), `help lacks ${flag}`);
    }
    assert.match(parseCommandLine(['--version'], {}).print ?? '', /^kube-dns \d+\.\d+\.\d+\n$/);
    assert.match(parseCommandLine(['--version=raw'], {}).print ?? '', /gitVersion/);
  });

  const invalid: Array<[string, string[], RegExp]> = [
    ['unknown flag', ['--bogus'], /unknown option '--bogus'/],
    ['stray argument', ['extra'], /unexpected argument "extra"/],
    ['missing value', ['--dns-port'], /--dns-port/],
    ['port out of range', ['--dns-port=65536'], /--dns-port: invalid port "65536"/],
    ['port not a number', ['--healthz-port=http'], /--healthz-port/],
    ['bind address', ['--dns-bind-address=localhost'], /--dns-bind-address: invalid IP/],
    ['domain label', ['--domain=clu_ster.local'], /--domain/],
    ['domain empty label', ['--domain=cluster..local'], /--domain/],
    ['duration syntax', ['--initial-sync-timeout=60'], /--initial-sync-timeout: invalid duration "60"/],
    ['negative duration', ['--config-period=-1s'], /--config-period/],
    ['zero config period', ['--config-period=0s'], /--config-period: must be positive/],
    ['nameserver hostname', ['--nameservers=dns.google'], /--nameservers: invalid nameserver "dns.google"/],
    ['nameserver port', ['--nameservers=1.1.1.1:0'], /--nameservers/],
    ['both config sources', ['--config-dir=/a', '--config-map=kube-dns'], /--config-dir and --config-map/],
    ['config-map name', ['--config-map=Kube_DNS'], /--config-map: invalid name/],
    ['endpoints api', ['--endpoints-api=slices'], /--endpoints-api: "slices" is not one of endpointslices, endpoints/],
    ['pod records', ['--pod-records=on'], /--pod-records/],
    ['ttl', ['--ttl=-1'], /--ttl/],
    ['ttl too large', ['--ttl=2147483648'], /--ttl/],
    ['negative ttl', ['--negative-ttl=x'], /--negative-ttl/],
    ['verbosity', ['--v=high'], /--v: invalid verbosity/],
    ['federations', ['--federations=fed'], /--federations/],
    ['log format', ['--log-format=xml'], /--log-format/],
  ];
  for (const [name, argv, pattern] of invalid) {
    test(`invalid: ${name} → one line naming the flag`, () => {
      const line = errorOf(argv);
      assert.match(line, /^kube-dns: /);
      assert.match(line, pattern);
    });
  }

  test('Go durations', () => {
    assert.equal(parseGoDuration('60s'), 60_000);
    assert.equal(parseGoDuration('1m30s'), 90_000);
    assert.equal(parseGoDuration('1.5h'), 5_400_000);
    assert.equal(parseGoDuration('500ms'), 500);
    assert.equal(parseGoDuration('0'), 0);
    assert.equal(parseGoDuration('10us'), 0.01);
    assert.equal(parseGoDuration('1h2m3s4ms'), 3_723_004);
    assert.equal(parseGoDuration('60'), null);
    assert.equal(parseGoDuration('s'), null);
    assert.equal(parseGoDuration('1d'), null);
    assert.equal(parseGoDuration('-5s'), null);
  });

  test('os.ExpandEnv', () => {
    assert.equal(expandEnv('$A-${B}-$C', { A: '1', B: '2' }), '1-2-');
  });

  test('the effective config never shows credentials', () => {
    const config = parseCommandLine(
      ['--kube-master-url=https://admin:s3cret@10.0.0.1:6443/?token=abc', '--kubecfg-file=/etc/kubeconfig'],
      {},
    );
    const text = JSON.stringify(describeConfig(config));
    assert.ok(!text.includes('s3cret') && !text.includes('admin') && !text.includes('abc'), text);
    assert.ok(text.includes('10.0.0.1:6443'));
    assert.ok(text.includes('/etc/kubeconfig'));
  });
});
