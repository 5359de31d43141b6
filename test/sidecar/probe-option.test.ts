import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseProbeOption, ProbeOptionError, type ProbeOption } from '@kube-dns/sidecar';

// Expected error fragments, as in the original's cmd/sidecar/probeoptions_test.go.
const noError = '';
const invalidFormat = 'invalid format to --probe';
const invalidLabel = 'label must be of format';
const invalidDuration = 'invalid syntax';
const invalidType = 'invalid type for DNS';

/** The original's verifyOption: every field comes from the string, name gains a dot, type defaults to ANY. */
function verifyOption(configStr: string, option: ProbeOption): void {
  const splits = configStr.split(',');
  assert.equal(option.label, splits[0]);
  assert.equal(option.server, splits[1]);
  assert.equal(option.name, `${splits[2]}.`);
  assert.equal(option.intervalMs, Number(splits[3]) * 1000);
  assert.equal(option.type, splits[4] ?? 'ANY');
}

describe('--probe grammar: the original test vectors', () => {
  const cases: [string, string][] = [
    ['kubedns,[127.0.0.1]:10053,kubernetes.default.svc.cluster.local,5,SRV', noError],
    ['dnsmasq,[127.0.0.1]:53,kubernetes.default.svc.cluster.local,5,SRV', noError],
    ['dnsmasq,[127.0.0.1]:53,kubernetes.default.svc.cluster.local,5,ANY', noError],
    ['dnsmasq,[127.0.0.1]:53,kubernetes.default.svc.cluster.local,5,A', noError],
    ['dnsmasq,[::1]:53,kubernetes.default.svc.cluster.local,5,AAAA', noError],
    ['dnsmasq,[::1]:53,kubernetes.default.svc.cluster.local,5,SRV', noError],
    ['dnsmasq,[::1]:53,kubernetes.default.svc.cluster.local,5', noError],
    ['dnsmasq,[::1]:53', invalidFormat],
    ['dnsmasq,[::1]:53,kubernetes.default.svc.cluster.local,5,SRV,BogusField', invalidFormat],
    ['dn$m@s#,[::1]:53,kubernetes.default.svc.cluster.local,5,SRV', invalidLabel],
    ['dnsmasq,[::1]:53,kubernetes.default.svc.cluster.local,0.5,SRV', invalidDuration],
    ['dnsmasq,[::1]:53,kubernetes.default.svc.cluster.local,5,BogusType', invalidType],
  ];
  for (const [configStr, expError] of cases) {
    test(`${configStr} → ${expError || 'ok'}`, () => {
      if (expError === noError) {
        verifyOption(configStr, parseProbeOption(configStr));
      } else {
        assert.throws(
          () => parseProbeOption(configStr),
          (error: unknown) => error instanceof ProbeOptionError && error.message.includes(expError),
        );
      }
    });
  }
});

describe('--probe grammar: further forms', () => {
  test('the manifest probes', () => {
    const probe = parseProbeOption('kubedns,127.0.0.1:10053,kubernetes.default.svc.cluster.local,5,SRV');
    assert.deepEqual(probe, {
      label: 'kubedns',
      server: '127.0.0.1:10053',
      host: '127.0.0.1',
      port: 10053,
      name: 'kubernetes.default.svc.cluster.local.',
      intervalMs: 5000,
      type: 'SRV',
    });
  });

  test('defaults: port 53 appended when the server has no colon, 5 s, ANY', () => {
    const probe = parseProbeOption('x,10.0.0.10,example.org');
    assert.equal(probe.server, '10.0.0.10:53');
    assert.equal(probe.port, 53);
    assert.equal(probe.intervalMs, 5000);
    assert.equal(probe.type, 'ANY');
  });

  test('a name that is already fully qualified keeps one dot', () => {
    assert.equal(parseProbeOption('x,127.0.0.1,example.org.,1').name, 'example.org.');
  });

  test('bracketed IPv6 and IPv4, host names, labels with digits and underscores', () => {
    assert.deepEqual(pick(parseProbeOption('v6,[fd00::10]:5353,a.b')), { host: 'fd00::10', port: 5353 });
    assert.deepEqual(pick(parseProbeOption('v4,[10.0.0.1]:53,a.b')), { host: '10.0.0.1', port: 53 });
    assert.deepEqual(pick(parseProbeOption('Name_2,localhost:53,a.b')), { host: 'localhost', port: 53 });
    assert.deepEqual(pick(parseProbeOption('n,dns.example.org,a.b')), { host: 'dns.example.org', port: 53 });
  });

  test('Atoi accepts a sign, as Go does', () => {
    assert.equal(parseProbeOption('x,127.0.0.1,a,+7').intervalMs, 7000);
  });

  const invalid: [string, string][] = [
    ['', invalidFormat],
    ['a,b', invalidFormat],
    [',127.0.0.1,a', invalidLabel],
    ['with-dash,127.0.0.1,a', invalidLabel],
    ['x,127.0.0.1,a,5,srv', invalidType],
    ['x,127.0.0.1,a,5,', invalidType],
    ['x,127.0.0.1,a,,A', invalidDuration],
    ['x,127.0.0.1,a,5s', invalidDuration],
    // Beyond the original, which accepted these and then failed every probe or panicked:
    ['x,127.0.0.1,a,0', 'at least 1 second'],
    ['x,127.0.0.1,a,-5', 'at least 1 second'],
    ['x,127.0.0.1,a,9999999', 'at most'],
    ['x,::1,a', 'too many colons'],
    ['x,[::1],a', 'missing port'],
    ['x,[::1:53,a', "missing ']'"],
    ['x,[not-ip]:53,a', 'not an IP'],
    ['x,127.0.0.1:0,a', 'invalid port'],
    ['x,127.0.0.1:65536,a', 'invalid port'],
    ['x,127.0.0.1:dns,a', 'invalid port'],
    ['x,:53,a', 'not an IP address or host name'],
    ['x,127.0.0.1,a..b', 'empty label'],
    ['x,127.0.0.1,' + 'a'.repeat(64), 'label longer than 63'],
    ['x,127.0.0.1,' + Array(64).fill('abcd').join('.'), 'longer than 255'],
  ];
  for (const [value, fragment] of invalid) {
    test(`${JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value)} → ${fragment}`, () => {
      assert.throws(
        () => parseProbeOption(value),
        (error: unknown) => error instanceof ProbeOptionError && error.message.includes(fragment),
      );
    });
  }

  test('the root name is a valid probe name', () => {
    assert.equal(parseProbeOption('root,127.0.0.1,.,1,A').name, '.');
  });
});

function pick(probe: ProbeOption): { host: string; port: number } {
  return { host: probe.host, port: probe.port };
}
