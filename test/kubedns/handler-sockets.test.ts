import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { exchangeTcp, exchangeUdp, silentLogger, startDnsListener, type DnsListener } from '@kube-dns/daemon-kit';
import {
  fixtureAnswerer,
  headless,
  makeQuery,
  mixCase,
  packetSections,
  slice,
  sorted,
  specFixture,
  SPEC_ROWS,
  type QueryShape,
} from './answers-fixture.js';

/** `n` ready endpoints with hostnames: `10.9.<i/250>.<i%250+1>=pod-<i>`. */
function headlessFixtureLines(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.9.${Math.floor(i / 250)}.${(i % 250) + 1}=pod-${i}`);
}

let listener: DnsListener;
const server = () => ({ host: '127.0.0.1', port: listener.port });
const store = specFixture('insecure');

before(async () => {
  // A headless service too big for 512 bytes (and for 1232): 120 ready endpoints.
  store.upsertService(headless('default/big', ['http/tcp/80']));
  store.upsertEndpoints(slice('default/big-1', 'big', headlessFixtureLines(120), ['http/tcp/80']));
  const handler = fixtureAnswerer(store).handler;
  listener = await startDnsListener({ host: '127.0.0.1', port: 0, handler, logger: silentLogger });
});
after(() => listener.close());

async function ask(name: string, type: string, transport: 'udp' | 'tcp', shape: QueryShape = {}): Promise<Buffer> {
  const exchange = transport === 'tcp' ? exchangeTcp : exchangeUdp;
  return exchange(server(), makeQuery(name, type, shape), { timeoutMs: 3000 });
}

for (const transport of ['udp', 'tcp'] as const) {
  describe(`over ${transport.toUpperCase()} on 127.0.0.1: every SPEC row`, () => {
    for (const row of SPEC_ROWS.filter((r) => !r.forward && r.chase === undefined)) {
      test(`${row.name} ${row.type}: ${row.why}`, async () => {
        const got = packetSections(await ask(row.name, row.type, transport, { edns: 1232 }));
        assert.equal(got.rcode, row.rcode);
        assert.equal(got.aa, row.rcode === 'NOERROR' || row.rcode === 'NXDOMAIN');
        assert.deepEqual(
          row.ordered ? got.answer : sorted(got.answer),
          row.ordered ? (row.answer ?? []) : sorted(row.answer ?? []),
        );
        assert.deepEqual(sorted(got.authority), sorted(row.authority ?? []));
        assert.deepEqual(got.additional, row.additional ?? []);
      });
    }
  });
}

describe('truncation, EDNS, case, transfers over real sockets', () => {
  const big = 'big.default.svc.cluster.local';

  test('UDP without EDNS: at most 512 bytes, TC set, whole records only', async () => {
    const raw = await ask(big, 'A', 'udp');
    assert.ok(raw.length <= 512, `${raw.length} bytes`);
    const decoded = dnsPacket.decode(raw);
    assert.equal(decoded.flag_tc, true);
    assert.ok((decoded.answers?.length ?? 0) > 0 && (decoded.answers?.length ?? 0) < 120);
    assert.equal(decoded.additionals?.length ?? 0, 0, 'no OPT without EDNS');
  });

  test('UDP with EDNS 4096: at most our 1232, TC set, the OPT kept', async () => {
    const raw = await ask(big, 'A', 'udp', { edns: 4096 });
    assert.ok(raw.length <= 1232 && raw.length > 512, `${raw.length} bytes`);
    const decoded = dnsPacket.decode(raw);
    assert.equal(decoded.flag_tc, true);
    const opt = decoded.additionals?.find((rr) => rr.type === 'OPT') as { udpPayloadSize: number } | undefined;
    assert.equal(opt?.udpPayloadSize, 1232);
  });

  test('UDP with EDNS 800: at most 800 bytes', async () => {
    const raw = await ask(big, 'A', 'udp', { edns: 800 });
    assert.ok(raw.length <= 800 && raw.length > 512, `${raw.length} bytes`);
    assert.equal(dnsPacket.decode(raw).flag_tc, true);
  });

  test('TCP carries the whole answer, no TC', async () => {
    const decoded = dnsPacket.decode(await ask(big, 'A', 'tcp'));
    assert.equal(decoded.flag_tc, false);
    assert.equal(decoded.answers?.length, 120);
  });

  test('a big SRV answer over UDP: answers kept before glue; TC only when an answer record is dropped', async () => {
    const small = dnsPacket.decode(await ask('_https._tcp.headless.default.svc.cluster.local', 'SRV', 'udp'));
    assert.equal(small.flag_tc, false);
    assert.equal(small.answers?.length, 3);
    const bigSrv = dnsPacket.decode(await ask(`_http._tcp.${big}`, 'SRV', 'udp', { edns: 1232 }));
    assert.equal(bigSrv.flag_tc, true);
    const full = dnsPacket.decode(await ask(`_http._tcp.${big}`, 'SRV', 'tcp'));
    assert.equal(full.answers?.length, 120);
    assert.equal(full.additionals?.length, 120);
  });

  test('EDNS echoed over TCP too; a query without OPT gets none', async () => {
    const withOpt = dnsPacket.decode(await ask('web.prod.svc.cluster.local', 'A', 'tcp', { edns: 1232 }));
    assert.equal(withOpt.additionals?.filter((rr) => rr.type === 'OPT').length, 1);
    const without = dnsPacket.decode(await ask('web.prod.svc.cluster.local', 'A', 'tcp'));
    assert.equal(without.additionals?.length ?? 0, 0);
  });

  test("the question and the owner names echo the asker's case, UDP and TCP", async () => {
    const name = mixCase('web.prod.svc.cluster.local');
    for (const transport of ['udp', 'tcp'] as const) {
      const decoded = dnsPacket.decode(await ask(name, 'A', transport));
      assert.equal(decoded.questions?.[0]?.name, name);
      assert.equal(decoded.answers?.[0]?.name, name);
    }
  });

  test('AXFR over TCP is REFUSED', async () => {
    const got = packetSections(await ask('cluster.local', 'AXFR', 'tcp'));
    assert.equal(got.rcode, 'REFUSED');
  });
});
