import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { exchangeTcp, exchangeUdp, silentLogger, startDnsListener, type DnsListener } from '@kube-dns/daemon-kit';
import { createDnsMetrics, DURATION_BUCKETS, Forwarder, SIZE_BUCKETS } from '@kube-dns/kubedns';
import { missingTool } from '../helpers/index.js';
import { fixtureAnswerer, headless, makeQuery, slice, specFixture } from './answers-fixture.js';
import { aRecord, startFakeUpstream, type FakeUpstream } from './fake-upstream.js';

let listener: DnsListener;
let upstream: FakeUpstream;
let dead: FakeUpstream;
let forwarder: Forwarder;
const registry = new Registry();

before(async () => {
  upstream = await startFakeUpstream((q) => ({ kind: 'answer', answers: [aRecord(q.name, '192.0.2.1')] }));
  dead = await startFakeUpstream(() => ({ kind: 'silent' }));
  const store = specFixture('insecure');
  store.upsertService(headless('default/big', ['http/tcp/80']));
  store.upsertEndpoints(
    slice(
      'default/big-1',
      'big',
      Array.from({ length: 60 }, (_, i) => `10.9.0.${i + 1}`),
      ['http/tcp/80'],
    ),
  );
  const metrics = createDnsMetrics(registry);
  forwarder = new Forwarder({ logger: silentLogger, timeoutMs: 100, observer: metrics.forwarderObserver });
  forwarder.setUpstreams([dead.server, upstream.server]);
  forwarder.setStubDomains([
    { domain: 'acme.local', servers: [{ kind: 'ip', host: '127.0.0.1', port: upstream.port }] },
  ]);
  const handler = fixtureAnswerer(store, forwarder, { metrics }).handler;
  listener = await startDnsListener({
    host: '127.0.0.1',
    port: 0,
    handler,
    logger: silentLogger,
    observer: metrics.observer,
  });
  const server = { host: '127.0.0.1', port: listener.port };
  const udp = (name: string, type: string) => exchangeUdp(server, makeQuery(name, type), { timeoutMs: 3000 });
  await udp('web.prod.svc.cluster.local', 'A'); // auth, miss
  await udp('web.prod.svc.cluster.local', 'A'); // auth, hit
  await udp('nosuch.prod.svc.cluster.local', 'A'); // auth nxdomain
  await udp('web.prod.svc.cluster.local', 'AAAA'); // auth nodata
  await udp('big.default.svc.cluster.local', 'A'); // auth truncated
  await exchangeTcp(server, makeQuery('cluster.local', 'AXFR'), { timeoutMs: 3000 }); // refused over TCP
  await udp('20.0.3.10.in-addr.arpa', 'PTR'); // reverse
  await udp('www.example.com', 'A'); // recursive: dead upstream times out, the next answers
  await udp('www.acme.local', 'A'); // stub
  // A malformed packet: header only with QDCOUNT 1 → FORMERR, counted as rejected.
  const socket = dgram.createSocket('udp4');
  const malformed = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  await new Promise<void>((resolve) => socket.send(malformed, listener.port, '127.0.0.1', () => resolve()));
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.close();
});
after(async () => {
  await listener.close();
  forwarder.close();
  await upstream.close();
  await dead.close();
});

/** The value of one series in the exposition text, or undefined. */
async function value(series: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l: string) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('DNS metrics', () => {
  test('the original skydns_skydns_dns_* names, labels and values', async () => {
    assert.equal(await value('skydns_skydns_dns_request_count_total{system="auth"}'), 6);
    assert.equal(await value('skydns_skydns_dns_request_count_total{system="reverse"}'), 1);
    assert.equal(await value('skydns_skydns_dns_request_count_total{system="recursive"}'), 1);
    assert.equal(await value('skydns_skydns_dns_request_count_total{system="stub"}'), 1);
    assert.equal(await value('skydns_skydns_dns_error_count_total{system="auth",cause="nxdomain"}'), 1);
    assert.equal(await value('skydns_skydns_dns_error_count_total{system="auth",cause="nodata"}'), 1);
    assert.equal(await value('skydns_skydns_dns_error_count_total{system="auth",cause="refused"}'), 1);
    assert.equal(await value('skydns_skydns_dns_error_count_total{system="auth",cause="truncated"}'), 1);
    assert.equal(await value('skydns_skydns_dns_error_count_total{system="auth",cause="servfail"}'), 0);
    // Every auth-path miss: the first web A, nxdomain, nodata, big, AXFR (REFUSED is resolved, then cached), PTR.
    assert.equal(await value('skydns_skydns_dns_cachemiss_count_total{cache="response"}'), 6);
    assert.equal(await value('skydns_skydns_dns_request_duration_seconds_count{system="auth"}'), 6);
    assert.equal(await value('skydns_skydns_dns_response_size_bytes_count{system="auth"}'), 6);
    assert.equal(await value('skydns_skydns_dns_response_size_bytes_bucket{system="auth",le="0"}'), 0);
    assert.equal(await value('skydns_skydns_dns_response_size_bytes_bucket{system="auth",le="512"}'), 6);
  });

  test('buckets as the original: .001, .003, then the Prometheus defaults; sizes 0…65536', async () => {
    assert.deepEqual(DURATION_BUCKETS, [0.001, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    assert.deepEqual(SIZE_BUCKETS.slice(0, 6), [0, 512, 1024, 1500, 2048, 4096]);
    assert.equal(SIZE_BUCKETS.at(-1), 65536);
    assert.equal(SIZE_BUCKETS.length, 21);
    const text = await registry.metrics();
    for (const le of [...DURATION_BUCKETS, '+Inf']) {
      assert.ok(
        text.includes(`skydns_skydns_dns_request_duration_seconds_bucket{system="auth",le="${le}"}`),
        `le=${le}`,
      );
    }
    assert.ok(text.includes('# TYPE skydns_skydns_dns_request_duration_seconds histogram'));
    assert.ok(text.includes('# TYPE skydns_skydns_dns_request_count_total counter'));
  });

  test('the SPEC additions: by type and rcode, upstream errors, store contents', async () => {
    assert.equal(await value('skydns_skydns_dns_requests_total{proto="udp",type="A"}'), 6);
    assert.equal(await value('skydns_skydns_dns_requests_total{proto="tcp",type="AXFR"}'), 1);
    assert.equal(await value('skydns_skydns_dns_responses_total{rcode="NXDOMAIN"}'), 1);
    assert.equal(await value('skydns_skydns_dns_responses_total{rcode="REFUSED"}'), 1);
    assert.equal(await value('skydns_skydns_dns_request_duration_by_type_seconds_count{type="PTR"}'), 1);
    assert.equal(await value('skydns_skydns_dns_rejected_queries_total{reason="formerr",proto="udp"}'), 1);
    assert.equal(
      await value(`skydns_skydns_forward_upstream_errors_total{to="127.0.0.1:${dead.port}",reason="timeout"}`),
      1,
    );
    assert.equal(
      await value(`skydns_skydns_forward_requests_total{to="127.0.0.1:${upstream.port}",route="upstream"}`),
      1,
    );
    assert.equal(await value(`skydns_skydns_forward_requests_total{to="127.0.0.1:${upstream.port}",route="stub"}`), 1);
    assert.equal(await value('skydns_skydns_store_objects{kind="services"}'), 22);
    assert.equal(await value('skydns_skydns_store_objects{kind="namespaces"}'), 5);
    assert.ok(((await value('skydns_skydns_answer_cache_entries')) ?? 0) >= 5);
  });

  test('promtool accepts the exposition', { skip: missingTool('promtool') }, async () => {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8' });
    // promtool lints names too; the original's names (e.g. counters without _total) are kept on purpose.
    assert.ok(!/error while linting|parse error/i.test(check.stdout + check.stderr), check.stdout + check.stderr);
  });
});
