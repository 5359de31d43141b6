import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { RecordType } from 'dns-packet';
import { exchangeUdp } from '@kube-dns/daemon-kit';
import {
  buildQuery,
  describeResponse,
  freeDnsPort,
  missingTool,
  queryDns,
  rr,
  soa,
  startDnsmasqLike,
  startFakeUpstream,
  startRealDnsmasq,
  type DnsProcess,
  type FakeUpstream,
  type QueryOptions,
  type QueryResult,
  type ReceivedQuery,
  waitUntil,
} from '../helpers/index.js';

/**
 * The same query script against real dnsmasq 2.90 and dnsmasq-cache started with identical flags, in front of the
 * same upstream stubs: rcodes, answers, flags, TTL behaviour and CHAOS statistics must agree.
 */

const bin = fileURLToPath(new URL('../../../packages/dnsmasq-cache/bin/dnsmasq-cache', import.meta.url));

function zone(q: ReceivedQuery) {
  const name = q.name;
  const soaRecord = soa('diff.test', 300, 30);
  if (name.startsWith('nx'))
    return { rcode: 'NXDOMAIN' as const, authorities: name.includes('nosoa') ? [] : [soaRecord] };
  if (name.startsWith('nodata')) return { authorities: name.includes('nosoa') ? [] : [soaRecord] };
  if (name === 'two.diff.test' && q.type === 'A') {
    return { answers: [rr(name, 'A', '10.0.0.1', 120), rr(name, 'A', '10.0.0.2', 120)] };
  }
  if (name === 'cn.diff.test' && q.type === 'A') {
    return {
      answers: [rr('cn.diff.test', 'CNAME', 'target.diff.test', 200), rr('target.diff.test', 'A', '10.9.9.9', 90)],
    };
  }
  if (q.type === 'TXT') return { answers: [rr(name, 'TXT', 'hello', 100)] };
  if (q.type === 'SRV') {
    return {
      answers: [
        rr(name, 'SRV', { priority: 0, weight: 100, port: 443, target: 'kubernetes.default.svc.diff.test' }, 30),
      ],
    };
  }
  if (q.type === 'AAAA') return { answers: [rr(name, 'AAAA', 'fd00::7', 100)] };
  if (q.type === 'A')
    return {
      answers: [rr(name, 'A', name.startsWith('stub') ? '10.7.7.7' : '10.1.2.3', name.startsWith('zero') ? 0 : 100)],
    };
  return {};
}

interface Step {
  name: string;
  type: RecordType;
  options?: QueryOptions;
}

/** The script: misses, hits, case, chains, negatives per type and name, uncached types, routing, local domains. */
const SCRIPT: Step[] = [
  { name: 'a.diff.test', type: 'A' },
  { name: 'a.diff.test', type: 'A' },
  { name: 'A.DiFf.TEST', type: 'A' },
  { name: 'a.diff.test', type: 'AAAA' },
  { name: 'two.diff.test', type: 'A' },
  { name: 'two.diff.test', type: 'A' },
  { name: 'cn.diff.test', type: 'A' },
  { name: 'cn.diff.test', type: 'A' },
  { name: 'target.diff.test', type: 'A' },
  { name: '_https._tcp.kubernetes.diff.test', type: 'SRV' },
  { name: '_https._tcp.kubernetes.diff.test', type: 'SRV' },
  { name: 'nx1.diff.test', type: 'A' },
  { name: 'nx1.diff.test', type: 'A' },
  { name: 'nx1.diff.test', type: 'AAAA' },
  { name: 'nodata1.diff.test', type: 'AAAA' },
  { name: 'nodata1.diff.test', type: 'AAAA' },
  { name: 'nodata1.diff.test', type: 'A' },
  { name: 'nx-nosoa.diff.test', type: 'A' },
  { name: 'nx-nosoa.diff.test', type: 'A' },
  { name: 'txt.diff.test', type: 'TXT' },
  { name: 'txt.diff.test', type: 'TXT' },
  { name: 'zero.diff.test', type: 'A' },
  { name: 'zero.diff.test', type: 'A' },
  { name: 'norec.diff.test', type: 'A' },
  { name: 'norec.diff.test', type: 'A', options: { recursionDesired: false } },
  { name: 'www.stub.diff.test', type: 'A' },
  { name: 'ads.blocked.diff.test', type: 'A' },
  { name: 'b.diff.test', type: 'A', options: { edns: 4096 } },
  { name: 'b.diff.test', type: 'A', options: { edns: 4096 } },
  { name: 'diff.test', type: 'SOA' },
  { name: 'tcp.diff.test', type: 'A', options: { tcp: true } },
  { name: 'tcp.diff.test', type: 'A' },
  { name: 'myhost.diff.test', type: 'A' },
  { name: 'myhost.diff.test', type: 'AAAA' },
  { name: '4.3.2.10.in-addr.arpa', type: 'PTR' },
  { name: 'pause', type: 'A' },
  { name: 'a.diff.test', type: 'A' },
  { name: 'cn.diff.test', type: 'A' },
  { name: 'nx1.diff.test', type: 'A' },
];

const STATS = ['cachesize', 'insertions', 'evictions', 'misses', 'hits', 'auth', 'servers'];

interface Observation {
  step: string;
  rcode: string;
  aa: boolean;
  ra: boolean;
  answers: string[];
  authority: string[];
  ttls: number[];
  edns: boolean;
}

function observe(step: Step, result: QueryResult): Observation {
  const lines = (section: 'answers' | 'authorities') =>
    (result.packet[section] ?? [])
      .filter((a) => a.type !== 'OPT')
      .map((a) => `${a.name.toLowerCase()} ${a.type} ${JSON.stringify((a as { data: unknown }).data)}`.toLowerCase())
      .sort();
  return {
    step: `${step.name} ${step.type}${step.options?.recursionDesired === false ? ' +norec' : ''}`,
    rcode: result.rcode,
    aa: result.flags.aa,
    ra: result.flags.ra,
    answers: lines('answers'),
    authority: lines('authorities'),
    ttls: (result.packet.answers ?? []).map((a) => (a as { ttl?: number }).ttl ?? 0),
    edns: (result.packet.additionals ?? []).some((a) => a.type === 'OPT'),
  };
}

async function runScript(port: number): Promise<{ observations: Observation[]; stats: Record<string, string[]> }> {
  const server = { host: '127.0.0.1', port };
  const observations: Observation[] = [];
  for (const step of SCRIPT) {
    // TTLs must count down the same way: wait a little over a second once.
    if (step.name === 'pause') await new Promise((resolve) => setTimeout(resolve, 1100));
    else observations.push(observe(step, await queryDns(server, step.name, step.type, step.options)));
  }
  const stats: Record<string, string[]> = {};
  for (const name of STATS) {
    const result = await queryDns(server, `${name}.bind`, 'TXT', { qclass: 'CH' });
    stats[name] = ((result.packet.answers?.[0] as { data?: Buffer[] } | undefined)?.data ?? []).map(String);
  }
  return { observations, stats };
}

describe('dnsmasq-cache and dnsmasq 2.90 side by side', { skip: missingTool('dnsmasq') }, () => {
  let upstream: FakeUpstream;
  let stub: FakeUpstream;
  const hostsFile = join(mkdtempSync(join(tmpdir(), 'dnsmasq-diff-')), 'hosts');
  writeFileSync(hostsFile, '10.2.3.4 myhost.diff.test\n');
  before(async () => {
    upstream = await startFakeUpstream(zone);
    stub = await startFakeUpstream(zone);
  });
  after(async () => {
    await upstream?.close();
    await stub?.close();
  });

  const configurations: [string, (u: FakeUpstream, s: FakeUpstream) => string[]][] = [
    [
      'the kube-dns manifest flags',
      (u, s) => [
        '--cache-size=1000',
        '--no-negcache',
        '--dns-loop-detect',
        '--no-resolv',
        '--no-hosts',
        `--server=/stub.diff.test/${s.label}`,
        '--server=/blocked.diff.test/',
        `--server=${u.label}`,
      ],
    ],
    [
      'negative caching, --neg-ttl, --max-ttl, a small cache, a hosts file',
      (u, s) => [
        `--addn-hosts=${hostsFile}`,
        '--local-ttl=3',
        '--cache-size=6',
        '--neg-ttl=20',
        '--max-ttl=60',
        '--no-resolv',
        '--no-hosts',
        `--server=/stub.diff.test/${s.label}`,
        '--server=/blocked.diff.test/',
        `--server=${u.label}`,
      ],
    ],
  ];

  for (const [label, args] of configurations) {
    test(label, async () => {
      let real: DnsProcess | null = null;
      let ours: DnsProcess | null = null;
      try {
        real = await startRealDnsmasq(await freeDnsPort(), args(upstream, stub));
        ours = await startDnsmasqLike(bin, await freeDnsPort(), [
          '--conf-file=/dev/null',
          '--pid-file=',
          '--user=root',
          '--shutdown-grace=0',
          ...args(upstream, stub),
        ]);
        const expected = await runScript(real.port);
        const actual = await runScript(ours.port);
        assert.equal(actual.observations.length, expected.observations.length);
        for (let i = 0; i < expected.observations.length; i++) {
          const e = expected.observations[i]!;
          const a = actual.observations[i]!;
          const { ttls: eTtls, ...eRest } = e;
          const { ttls: aTtls, ...aRest } = a;
          assert.deepEqual(aRest, eRest, `step ${i}: ${e.step}`);
          assert.equal(aTtls.length, eTtls.length, `step ${i}: ${e.step} TTL count`);
          const sortedE = [...eTtls].sort((x, y) => x - y);
          const sortedA = [...aTtls].sort((x, y) => x - y);
          sortedA.forEach((t, k) =>
            assert.ok(Math.abs(t - sortedE[k]!) <= 1, `step ${i}: ${e.step} TTL ${t} vs ${sortedE[k]}`),
          );
        }
        // Server labels name different ports of the same stubs: compare the counts per server in order.
        assert.deepEqual(actual.stats, expected.stats);
      } finally {
        await real?.kill('SIGTERM');
        await ours?.kill('SIGTERM');
      }
    });
  }
});

describe(
  'dnsmasq-cache and dnsmasq 2.90: failing upstreams, CD, a hosts PTR, SIGHUP',
  { skip: missingTool('dnsmasq') },
  () => {
    let upstream: FakeUpstream;
    const hostsFile = join(mkdtempSync(join(tmpdir(), 'dnsmasq-diff-')), 'hosts');
    writeFileSync(hostsFile, '10.2.3.6 Tabbed.Diff.Test\n');
    before(async () => {
      upstream = await startFakeUpstream((q) => {
        if (q.name.startsWith('sf')) return { rcode: 'SERVFAIL', aa: true };
        if (q.name.startsWith('ref')) return { rcode: 'REFUSED', aa: true };
        return { answers: q.type === 'A' ? [rr(q.name, 'A', '10.1.2.3', 100)] : [] };
      });
    });
    after(async () => {
      await upstream?.close();
    });

    /** rcode, AA/RA/CD and the answer data of one query (the CD bit set on request). */
    const ask = async (port: number, name: string, type: RecordType, cd = false) => {
      const query = buildQuery(name, type);
      if (cd) query[3]! |= 0x10;
      const result = describeResponse(await exchangeUdp({ host: '127.0.0.1', port }, query, { timeoutMs: 3000 }));
      const data = (result.packet.answers ?? []).map((a) => String((a as { data: unknown }).data));
      return `${name} ${type}${cd ? ' +cd' : ''}: ${result.rcode} aa=${result.flags.aa} ra=${result.flags.ra} cd=${(result.raw[3]! & 0x10) !== 0} ${data.join(',')}`;
    };
    const statistics = async (port: number) => {
      const out: string[] = [];
      // Not servers.bind: dnsmasq retries a SERVFAIL or REFUSED once (here on the same server) when the query has no
      // EDNS options, and we do not (the failed column counts both alike).
      for (const name of ['insertions', 'evictions', 'misses', 'hits']) {
        const result = await queryDns({ host: '127.0.0.1', port }, `${name}.bind`, 'TXT', { qclass: 'CH' });
        out.push(
          `${name}: ${((result.packet.answers?.[0] as { data?: Buffer[] } | undefined)?.data ?? []).join(' | ')}`,
        );
      }
      return out;
    };
    const both = async (args: string[], script: (port: number, process: DnsProcess) => Promise<string[]>) => {
      let real: DnsProcess | null = null;
      let ours: DnsProcess | null = null;
      try {
        real = await startRealDnsmasq(await freeDnsPort(), args);
        ours = await startDnsmasqLike(bin, await freeDnsPort(), [
          '--conf-file=/dev/null',
          '--pid-file=',
          '--user=root',
          '--shutdown-grace=0',
          '--upstream-timeout=200ms',
          ...args,
        ]);
        assert.deepEqual(await script(ours.port, ours), await script(real.port, real));
      } finally {
        await real?.kill('SIGTERM');
        await ours?.kill('SIGTERM');
      }
    };

    test('SERVFAIL and REFUSED relayed as they came, CD restored, PTR in lower case', () =>
      both(['--no-resolv', '--no-hosts', `--addn-hosts=${hostsFile}`, `--server=${upstream.label}`], async (port) => [
        await ask(port, 'sf1.diff.test', 'A'),
        await ask(port, 'sf1.diff.test', 'A'),
        await ask(port, 'ref1.diff.test', 'A'),
        await ask(port, 'cd1.diff.test', 'A', true),
        await ask(port, 'cd1.diff.test', 'A'),
        await ask(port, 'cd1.diff.test', 'A', true),
        await ask(port, '6.3.2.10.in-addr.arpa', 'PTR'),
        await ask(port, 'tabbed.diff.test', 'A'),
        ...(await statistics(port)),
      ]));

    test('SIGHUP clears the cache and starts insertions and evictions from 0 (hits, misses and servers go on)', () =>
      both(['--no-resolv', '--no-hosts', '--cache-size=2', `--server=${upstream.label}`], async (port, process) => {
        const seen: string[] = [];
        for (const n of [1, 2, 3, 4]) seen.push(await ask(port, `${n}.hup.diff.test`, 'A'));
        seen.push(...(await statistics(port)));
        const before = upstream.queriesFor('4.hup.diff.test').length;
        process.child.kill('SIGHUP');
        // The next query for a cached name goes upstream once the signal has been handled.
        await waitUntil('the cache cleared', async () => {
          await ask(port, '4.hup.diff.test', 'A');
          return upstream.queriesFor('4.hup.diff.test').length > before;
        });
        const stats = await statistics(port);
        // Polling asked 4.hup.diff.test a varying number of times: compare what does not depend on it.
        seen.push(...stats.filter((line) => line.startsWith('insertions') || line.startsWith('evictions')));
        return seen;
      }));
  },
);
