import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { silentLogger } from '@kube-dns/daemon-kit';
import {
  createDnsProbe,
  createMetricsRegistry,
  createProbeMetrics,
  parseProbeOption,
  PROBE_HISTORY_SIZE,
  systemClock,
  systemResolver,
  WAITING_FOR_FIRST_PROBE,
  type Clock,
  type DnsProbe,
  type HostResolver,
} from '@kube-dns/sidecar';
import {
  answerEverything,
  RCODE,
  startScriptedDnsServer,
  waitUntil,
  type DnsScript,
  type ScriptedDnsServer,
} from '../helpers/index.js';
import { FakeClock } from './support.js';

const registry = createMetricsRegistry();
let server: ScriptedDnsServer;
let seen: { name: string; type: string; class: string; rd: boolean }[] = [];

/** What the server does per name: `ok.test` answers, `nx.test` NXDOMAIN, and so on. */
const byName: DnsScript = (question, request) => {
  seen.push({
    name: question.name,
    type: question.type,
    class: question.class ?? 'IN',
    rd: (request.view.flags & dnsPacket.RECURSION_DESIRED) !== 0,
  });
  switch (question.name.toLowerCase()) {
    case 'nx.test':
      return { rcode: RCODE.NXDOMAIN };
    case 'nodata.test':
      return { rcode: RCODE.NOERROR };
    case 'refused.test':
      return { rcode: RCODE.REFUSED };
    case 'servfail.test':
      return { rcode: RCODE.SERVFAIL };
    case 'silent.test':
      return { silent: true };
    case 'cname.test':
      return { answers: [{ type: 'CNAME', name: question.name, ttl: 5, data: 'elsewhere.test' }] };
    case 'malformed.test': {
      // ANCOUNT says 1 but no record follows.
      const raw = dnsPacket.encode({ type: 'response', id: request.view.id, flags: 0, questions: [question] });
      raw.writeUInt16BE(1, 6);
      return { raw };
    }
    default:
      return answerEverything(question, request);
  }
};

before(async () => {
  server = await startScriptedDnsServer(byName);
});
after(() => server.close());

let probeCount = 0;
function makeProbe(
  target: string,
  options: { clock?: Clock; resolveHost?: HostResolver; random?: () => number; timeoutMs?: number } = {},
): DnsProbe {
  const option = parseProbeOption(target);
  return createDnsProbe(option, {
    clock: options.clock ?? systemClock,
    random: options.random ?? (() => 0),
    resolveHost: options.resolveHost ?? systemResolver,
    timeoutMs: options.timeoutMs ?? 300,
    metrics: createProbeMetrics(registry, 'test', `${option.label}_${probeCount++}`),
    logger: silentLogger,
  });
}

const at = (name: string, extra = '') => `p,127.0.0.1:${server.port},${name}${extra}`;

describe('DNS probe outcome', () => {
  test('an answer with records succeeds and records the latency', async () => {
    const probe = makeProbe(at('ok.test', ',1,A'));
    const result = await probe.runOnce();
    assert.equal(result.ok, true);
    assert.equal(result.error, null);
    assert.ok(result.latencyMs > 0 && result.latencyMs < 300, `latency ${result.latencyMs}`);
    const status = probe.status();
    assert.equal(status.ok, true);
    assert.equal(status.error, null);
    assert.ok(status.latencySeconds > 0 && status.latencySeconds < 0.3);
    probe.stop();
  });

  test('any answer record counts, even a CNAME for an A question (the original only counts records)', async () => {
    const result = await makeProbe(at('cname.test', ',1,A')).runOnce();
    assert.equal(result.ok, true);
  });

  for (const [name, rcode] of [
    ['nx.test', 'NXDOMAIN'],
    ['nodata.test', 'NODATA'],
    ['refused.test', 'REFUSED'],
    ['servfail.test', 'SERVFAIL'],
  ] as const) {
    test(`${rcode} fails with the original's "no RRs" error and zero latency`, async () => {
      const probe = makeProbe(at(name, ',1,A'));
      const result = await probe.runOnce();
      assert.equal(result.ok, false);
      assert.equal(result.latencyMs, 0);
      assert.equal(result.error, `no RRs for domain "${name}."`);
      assert.equal(probe.status().latencySeconds, 0);
      assert.equal(probe.status().error, `no RRs for domain "${name}."`);
    });
  }

  test('silence fails with a timeout after --dns-timeout-ms', async () => {
    const started = Date.now();
    const result = await makeProbe(at('silent.test', ',1,A'), { timeoutMs: 150 }).runOnce();
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', /^no answer from 127\.0\.0\.1:\d+ in 150 ms$/);
    assert.ok(Date.now() - started >= 140);
  });

  test('nothing listening fails too', async () => {
    const gone = await startScriptedDnsServer(answerEverything);
    await gone.close();
    const result = await makeProbe(`p,127.0.0.1:${gone.port},ok.test,1,A`, { timeoutMs: 150 }).runOnce();
    assert.equal(result.ok, false);
    assert.ok(result.error);
  });

  test('a malformed answer fails', async () => {
    const result = await makeProbe(at('malformed.test', ',1,A')).runOnce();
    assert.equal(result.ok, false);
    assert.match(result.error ?? '', /malformed response/);
  });

  test('the query: class IN, RD set, the type asked for (ANY by default)', async () => {
    seen = [];
    await makeProbe(at('ok.test')).runOnce();
    await makeProbe(at('ok.test', ',1,SRV')).runOnce();
    await makeProbe(at('ok.test', ',1,AAAA')).runOnce();
    assert.deepEqual(seen, [
      { name: 'ok.test', type: 'ANY', class: 'IN', rd: true },
      { name: 'ok.test', type: 'SRV', class: 'IN', rd: true },
      { name: 'ok.test', type: 'AAAA', class: 'IN', rd: true },
    ]);
  });

  test('a host name is resolved on each probe; a failed lookup fails the probe', async () => {
    let lookups = 0;
    const resolveHost: HostResolver = (host) => {
      lookups++;
      if (host === 'dns.test') return Promise.resolve('127.0.0.1');
      return Promise.reject(new Error('getaddrinfo ENOTFOUND'));
    };
    const probe = makeProbe(`p,dns.test:${server.port},ok.test,1,A`, { resolveHost });
    assert.equal((await probe.runOnce()).ok, true);
    assert.equal((await probe.runOnce()).ok, true);
    assert.equal(lookups, 2);
    const missing = await makeProbe(`p,missing.test:${server.port},ok.test,1,A`, { resolveHost }).runOnce();
    assert.equal(missing.error, 'lookup missing.test: getaddrinfo ENOTFOUND');
  });
});

describe('DNS probe state and metrics', () => {
  test('before the first result: not ok, "waiting for first probe"', () => {
    const status = makeProbe(at('ok.test')).status();
    assert.equal(status.ok, false);
    assert.equal(status.error, WAITING_FOR_FIRST_PROBE);
    assert.equal(WAITING_FOR_FIRST_PROBE, 'waiting for first probe');
    assert.equal(status.latencySeconds, 0);
  });

  test('the last result decides; failures and history are counted; history is bounded', async () => {
    const probe = makeProbe(at('ok.test', ',1,A'));
    await probe.runOnce();
    server.script = () => ({ rcode: RCODE.NXDOMAIN });
    await probe.runOnce();
    assert.equal(probe.status().ok, false);
    server.script = byName;
    await probe.runOnce();
    const status = probe.status();
    assert.equal(status.ok, true);
    assert.equal(status.probes, 3);
    assert.equal(status.failures, 1);
    assert.deepEqual(
      status.history.map((r) => r.ok),
      [true, false, true],
    );
    for (let i = 0; i < PROBE_HISTORY_SIZE + 5; i++) await probe.runOnce();
    assert.equal(probe.status().history.length, PROBE_HISTORY_SIZE);
  });

  test('success observes the latency histogram in ms, failure counts an error', async () => {
    const option = parseProbeOption(at('ok.test', ',1,A'));
    const metrics = createProbeMetrics(registry, 'm', 'histo');
    const probe = createDnsProbe(option, {
      clock: systemClock,
      random: () => 0,
      resolveHost: systemResolver,
      timeoutMs: 300,
      metrics,
      logger: silentLogger,
    });
    const result = await probe.runOnce();
    const histogram = await metrics.latency.get();
    const count = histogram.values.find((v) => v.metricName === 'm_probe_histo_latency_ms_count');
    const sum = histogram.values.find((v) => v.metricName === 'm_probe_histo_latency_ms_sum');
    assert.equal(count?.value, 1);
    assert.ok(Math.abs((sum?.value ?? 0) - result.latencyMs) < 1e-9);
    server.script = () => ({ rcode: RCODE.REFUSED });
    await probe.runOnce();
    server.script = byName;
    assert.equal((await metrics.errors.get()).values[0]?.value, 1);
  });
});

describe('DNS probe schedule', () => {
  test('first probe after random·interval, then one per interval minus the time the probe took', async () => {
    const clock = new FakeClock();
    const queriesBefore = server.queries;
    const probe = makeProbe(at('ok.test', ',1,A'), { clock, random: () => 0.25 });
    probe.start();
    assert.equal(clock.nextAt(), 250);
    clock.advance(249);
    assert.equal(server.queries, queriesBefore);
    clock.advance(1);
    await waitUntil('first probe', () => probe.status().probes === 1);
    assert.equal(server.queries, queriesBefore + 1);
    // The fake clock stood still while the probe ran: the next one is a full interval later.
    assert.equal(clock.nextAt(), 1250);
    clock.advance(999);
    assert.equal(server.queries, queriesBefore + 1);
    clock.advance(1);
    await waitUntil('second probe', () => probe.status().probes === 2);
    probe.stop();
    assert.equal(clock.pending(), 0);
    clock.advance(10_000);
    assert.equal(probe.status().probes, 2);
  });

  test('time spent probing is taken off the wait; a slow probe is followed at once', async () => {
    const clock = new FakeClock();
    server.script = async (question, request) => {
      clock.advance(400);
      return byName(question, request);
    };
    try {
      const probe = makeProbe(at('ok.test', ',1,A'), { clock, random: () => 0 });
      probe.start();
      clock.advance(0);
      await waitUntil('first probe', () => probe.status().probes === 1);
      assert.equal(clock.nextAt(), 1000);
      probe.stop();

      server.script = async (question, request) => {
        clock.advance(1500);
        return byName(question, request);
      };
      const slow = makeProbe(at('ok.test', ',1,A'), { clock, random: () => 0 });
      slow.start();
      const startedAt = clock.now();
      clock.advance(0);
      await waitUntil('slow probe', () => slow.status().probes === 1);
      assert.equal(clock.nextAt(), startedAt + 1500);
      slow.stop();
    } finally {
      server.script = byName;
    }
  });

  test('a random source of 1 or more still starts within the interval', () => {
    const clock = new FakeClock();
    const probe = makeProbe(at('ok.test', ',1,A'), { clock, random: () => 1 });
    probe.start();
    assert.equal(clock.nextAt(), 999);
    probe.stop();
  });
});
