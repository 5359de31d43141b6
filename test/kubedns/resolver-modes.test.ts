import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rcodeToString, RRType } from '@kube-dns/daemon-kit';
import { resolve } from '@kube-dns/kubedns';
import {
  appendixAFixture,
  checkResolution,
  clusterIp,
  newStore,
  recordLine,
  SOA_LINE,
  specFixture,
  typeNumber,
  type Row,
} from './answers-fixture.js';

const nodata = (why: string, name: string, type: string): Row => ({
  why,
  name,
  type,
  rcode: 'NOERROR',
  authority: [SOA_LINE],
});
const nxdomain = (why: string, name: string, type: string): Row => ({
  why,
  name,
  type,
  rcode: 'NXDOMAIN',
  authority: [SOA_LINE],
});

/**
 * kube-dns.md Appendix A, row by row, adapted to our SPEC. Where the original differs the row says how
 * (its answers came from SkyDNS quirks the SPEC fixes).
 */
const APPENDIX_A: Row[] = [
  {
    why: '#1',
    name: 'kubernetes.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1'],
  },
  nodata('#2 (original SOA 60/3600 timers; ours per SPEC)', 'kubernetes.default.svc.cluster.local', 'AAAA'),
  {
    why: '#4 (original: port 0 and a hash target)',
    name: 'kubernetes.default.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['kubernetes.default.svc.cluster.local. 30 IN SRV 0 100 443 kubernetes.default.svc.cluster.local.'],
    additional: ['kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1'],
  },
  {
    why: '#5 (original priority/weight 10 100)',
    name: '_https._tcp.kubernetes.default.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: [
      '_https._tcp.kubernetes.default.svc.cluster.local. 30 IN SRV 0 100 443 kubernetes.default.svc.cluster.local.',
    ],
    additional: ['kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1'],
  },
  nxdomain('#6', '_http._udp.web.default.svc.cluster.local', 'SRV'),
  {
    why: '#7',
    name: 'web.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['web.default.svc.cluster.local. 30 IN A 10.96.0.20'],
  },
  {
    why: '#8 A',
    name: 'dual.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['dual.default.svc.cluster.local. 30 IN A 10.96.0.30'],
  },
  {
    why: '#8 AAAA',
    name: 'dual.default.svc.cluster.local',
    type: 'AAAA',
    rcode: 'NOERROR',
    answer: ['dual.default.svc.cluster.local. 30 IN AAAA fd00::30'],
  },
  {
    why: '#8 SRV (original weight 50 from the pre-dedup count)',
    name: '_http._tcp.dual.default.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: ['_http._tcp.dual.default.svc.cluster.local. 30 IN SRV 0 100 80 dual.default.svc.cluster.local.'],
    additional: [
      'dual.default.svc.cluster.local. 30 IN A 10.96.0.30',
      'dual.default.svc.cluster.local. 30 IN AAAA fd00::30',
    ],
  },
  {
    why: '#9 (stable order, not random)',
    name: 'hl.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['hl.default.svc.cluster.local. 30 IN A 10.244.1.5', 'hl.default.svc.cluster.local. 30 IN A 10.244.1.6'],
  },
  {
    why: '#10',
    name: 'web-0.hl.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['web-0.hl.default.svc.cluster.local. 30 IN A 10.244.1.5'],
  },
  {
    why: '#11 (original: hash label for the unnamed endpoint; ours the dashed IP)',
    name: '_http._tcp.hl.default.svc.cluster.local',
    type: 'SRV',
    rcode: 'NOERROR',
    answer: [
      '_http._tcp.hl.default.svc.cluster.local. 30 IN SRV 0 50 8080 web-0.hl.default.svc.cluster.local.',
      '_http._tcp.hl.default.svc.cluster.local. 30 IN SRV 0 50 8080 10-244-1-6.hl.default.svc.cluster.local.',
    ],
    additional: [
      'web-0.hl.default.svc.cluster.local. 30 IN A 10.244.1.5',
      '10-244-1-6.hl.default.svc.cluster.local. 30 IN A 10.244.1.6',
    ],
  },
  {
    why: '#12 (AA set here)',
    name: '5.1.244.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: ['5.1.244.10.in-addr.arpa. 30 IN PTR web-0.hl.default.svc.cluster.local.'],
  },
  {
    why: '#13 (original: no PTR without a hostname, forwarded)',
    name: '6.1.244.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: ['6.1.244.10.in-addr.arpa. 30 IN PTR 10-244-1-6.hl.default.svc.cluster.local.'],
  },
  {
    why: '#14',
    name: '1.0.96.10.in-addr.arpa',
    type: 'PTR',
    rcode: 'NOERROR',
    answer: ['1.0.96.10.in-addr.arpa. 30 IN PTR kubernetes.default.svc.cluster.local.'],
  },
  {
    why: '#15 (target chased upstream)',
    name: 'ext.default.svc.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['ext.default.svc.cluster.local. 30 IN CNAME www.example.com.'],
    chase: 'www.example.com',
  },
  {
    why: '#16',
    name: 'ext.default.svc.cluster.local',
    type: 'CNAME',
    rcode: 'NOERROR',
    answer: ['ext.default.svc.cluster.local. 30 IN CNAME www.example.com.'],
  },
  nodata('#17 (original NXDOMAIN: the name exists)', 'web.default.svc.cluster.local', 'CNAME'),
  nxdomain(
    '#18 (original answered any namespace; ours needs an existing one)',
    '10-244-1-5.whatever.pod.cluster.local',
    'A',
  ),
  {
    why: '#18 in an existing namespace',
    name: '10-244-1-5.default.pod.cluster.local',
    type: 'A',
    rcode: 'NOERROR',
    answer: ['10-244-1-5.default.pod.cluster.local. 30 IN A 10.244.1.5'],
  },
  nodata("#19 (original: the namespace's ExternalName CNAMEs)", 'default.svc.cluster.local', 'A'),
  nodata('#20 svc (original NXDOMAIN)', 'svc.cluster.local', 'A'),
  nodata('#20 apex A (original NXDOMAIN)', 'cluster.local', 'A'),
  {
    why: '#20 apex NS (original NXDOMAIN)',
    name: 'cluster.local',
    type: 'NS',
    rcode: 'NOERROR',
    answer: ['cluster.local. 30 IN NS ns.dns.cluster.local.'],
  },
  {
    why: '#21',
    name: 'cluster.local',
    type: 'SOA',
    rcode: 'NOERROR',
    answer: [SOA_LINE.replace('cluster.local. 5 IN', 'cluster.local. 30 IN')],
  },
  nodata('#22 TXT', 'kubernetes.default.svc.cluster.local', 'TXT'),
  nodata('#22 MX', 'kubernetes.default.svc.cluster.local', 'MX'),
  {
    why: '#23 (original REFUSED ANY)',
    name: 'kubernetes.default.svc.cluster.local',
    type: 'ANY',
    rcode: 'NOERROR',
    answer: ['kubernetes.default.svc.cluster.local. 30 IN A 10.96.0.1'],
  },
  nxdomain('#24', 'nosuch.default.svc.cluster.local', 'A'),
  nxdomain('#25 (no wildcards)', 'kubernetes.*.svc.cluster.local', 'A'),
  nxdomain('#25 (no wildcards)', 'kubernetes.default.*.cluster.local', 'A'),
  nxdomain('#26 (no hash labels)', '3234633364383235.kubernetes.default.svc.cluster.local', 'A'),
  { why: '#27', name: 'www.google.com', type: 'A', rcode: '', forward: true },
  { why: '#28 (original SERVFAIL below two labels)', name: 'localhost', type: 'A', rcode: '', forward: true },
  {
    why: 'PTR of a not-in-cluster IP is forwarded',
    name: '1.1.168.192.in-addr.arpa',
    type: 'PTR',
    rcode: '',
    forward: true,
  },
];

describe('resolver: kube-dns.md Appendix A, adapted to the SPEC', () => {
  const store = appendixAFixture();
  for (const row of APPENDIX_A) {
    test(`${row.why}: ${row.name} ${row.type}`, () => {
      checkResolution(row, resolve(store, { name: row.name, type: typeNumber(row.type) }));
    });
  }
  test('#29 CHAOS TXT version.bind: REFUSED', () => {
    const result = resolve(store, { name: 'version.bind', type: RRType.TXT, class: 3 });
    assert.equal(result.kind === 'answer' && rcodeToString(result.message.rcode), 'REFUSED');
  });
});

describe('resolver: before the first sync', () => {
  const store = newStore();
  store.upsertNamespace('default');
  store.upsertService(clusterIp('default/web', ['10.96.0.20']));
  for (const [name, type] of [
    ['web.default.svc.cluster.local', 'A'],
    ['nosuch.default.svc.cluster.local', 'A'],
    ['cluster.local', 'SOA'],
    ['dns-version.cluster.local', 'TXT'],
    ['20.0.96.10.in-addr.arpa', 'PTR'],
    ['9.9.9.9.in-addr.arpa', 'PTR'],
  ] as const) {
    test(`${name} ${type}: SERVFAIL, never a false NXDOMAIN (K-37)`, () => {
      const result = resolve(store, { name, type: typeNumber(type) });
      assert.equal(result.kind, 'answer');
      assert.equal(result.kind === 'answer' && rcodeToString(result.message.rcode), 'SERVFAIL');
      assert.equal(result.kind === 'answer' && result.message.authoritative, false);
    });
  }
  test('names outside the zone are forwarded even before the sync', () => {
    assert.equal(resolve(store, { name: 'www.example.com', type: RRType.A }).kind, 'forward');
  });
  test('answers once synced', () => {
    store.markSynced();
    const result = resolve(store, { name: 'web.default.svc.cluster.local', type: RRType.A });
    assert.deepEqual(result.kind === 'answer' && result.message.answer.map(recordLine), [
      'web.default.svc.cluster.local. 30 IN A 10.96.0.20',
    ]);
  });
});

describe('resolver: pod records in three modes (K-31, K-32)', () => {
  const cases: Array<[string, string, string, Record<'disabled' | 'insecure' | 'verified', string>]> = [
    [
      '172-0-0-2.podns.pod.cluster.local',
      'A',
      'a pod lives there',
      { disabled: 'NXDOMAIN', insecure: 'A 172.0.0.2', verified: 'A 172.0.0.2' },
    ],
    [
      'fd00--2.podns.pod.cluster.local',
      'AAAA',
      'its IPv6 address',
      { disabled: 'NXDOMAIN', insecure: 'AAAA fd00::2', verified: 'AAAA fd00::2' },
    ],
    [
      '172-0-0-9.podns.pod.cluster.local',
      'A',
      'no pod has that IP',
      { disabled: 'NXDOMAIN', insecure: 'A 172.0.0.9', verified: 'NXDOMAIN' },
    ],
    [
      '172-0-0-2.default.pod.cluster.local',
      'A',
      'the pod is in another namespace',
      { disabled: 'NXDOMAIN', insecure: 'A 172.0.0.2', verified: 'NXDOMAIN' },
    ],
    [
      '172-0-0-2.nosuchns.pod.cluster.local',
      'A',
      'unknown namespace',
      { disabled: 'NXDOMAIN', insecure: 'NXDOMAIN', verified: 'NXDOMAIN' },
    ],
    [
      'podns.pod.cluster.local',
      'A',
      'the namespace level',
      { disabled: 'NXDOMAIN', insecure: 'NODATA', verified: 'NODATA' },
    ],
    ['pod.cluster.local', 'A', 'pod.<zone>', { disabled: 'NODATA', insecure: 'NODATA', verified: 'NODATA' }],
    [
      '172-0-0-2.podns.pod.cluster.local',
      'TXT',
      'other type',
      { disabled: 'NXDOMAIN', insecure: 'NODATA', verified: 'NODATA' },
    ],
  ];
  for (const mode of ['disabled', 'insecure', 'verified'] as const) {
    const store = specFixture(mode);
    for (const [name, type, what, expected] of cases) {
      test(`${mode}: ${name} ${type} (${what}) → ${expected[mode]}`, () => {
        const result = resolve(store, { name, type: typeNumber(type) });
        assert.equal(result.kind, 'answer');
        if (result.kind !== 'answer') return;
        const { rcode, answer } = result.message;
        const got =
          rcodeToString(rcode) !== 'NOERROR'
            ? rcodeToString(rcode)
            : answer.length === 0
              ? 'NODATA'
              : answer.map((rr) => recordLine(rr).split(' ').slice(3).join(' ')).join(',');
        assert.equal(got, expected[mode]);
      });
    }
  }
  test('verified: a deleted pod stops answering, a pod IP change moves the answer', () => {
    const store = specFixture('verified');
    const ask = (name: string) => {
      const r = resolve(store, { name, type: RRType.A });
      return r.kind === 'answer' ? rcodeToString(r.message.rcode) + ':' + r.message.answer.length : r.kind;
    };
    assert.equal(ask('172-0-0-2.podns.pod.cluster.local'), 'NOERROR:1');
    store.upsertPod({ namespace: 'podns', name: 'p1', ips: ['172.0.0.3'] });
    assert.equal(ask('172-0-0-2.podns.pod.cluster.local'), 'NXDOMAIN:0');
    assert.equal(ask('172-0-0-3.podns.pod.cluster.local'), 'NOERROR:1');
    store.deletePod('podns', 'p1');
    assert.equal(ask('172-0-0-3.podns.pod.cluster.local'), 'NXDOMAIN:0');
  });
  test('insecure and disabled ignore pod writes', () => {
    const store = specFixture('insecure');
    assert.equal(store.size().pods, 0);
  });
});
