import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '@kube-dns/daemon-kit';
import { healthcheckReply, main, parseProbeOption, type SidecarHandle } from '@kube-dns/sidecar';
import {
  answerEverything,
  chaosStatsScript,
  RCODE,
  startScriptedDnsServer,
  waitUntil,
  type DnsScript,
  type ScriptedDnsServer,
} from '../helpers/index.js';
import { configFrom, httpGet, withProbeInterval } from './support.js';

const XSS = '<script>alert(1)</script>';
const stats = { hits: 7, misses: 3, evictions: 0, insertions: 3, cachesize: 150 };
let dns: ScriptedDnsServer;
let sidecar: SidecarHandle;

const script: DnsScript = (question, request) => {
  if (question.class === 'CH') return chaosStatsScript(stats)(question, request);
  if (question.name.toLowerCase() === 'ok.test') return answerEverything(question, request);
  return { rcode: RCODE.NXDOMAIN };
};

before(async () => {
  dns = await startScriptedDnsServer(script);
  const config = configFrom([
    `--dnsmasq-port=${dns.port}`,
    '--dnsmasq-poll-interval-ms=50',
    `--probe=ok,127.0.0.1:${dns.port},ok.test,1,A`,
    `--probe=nx,127.0.0.1:${dns.port},nx.test,1,A`,
    `--probe=xss,127.0.0.1:${dns.port},${XSS},1,A`,
  ]);
  sidecar = await main(withProbeInterval(config, 50), { logger: silentLogger, random: () => 0 });
  await waitUntil('every probe to have a result', () =>
    ['ok', 'nx', 'xss'].every((label) => (sidecar.probeStatus(label)?.probes ?? 0) > 0),
  );
  await waitUntil('a statistics poll', () => sidecar.cacheStatus().last !== null);
});
after(async () => {
  await sidecar.close();
  await dns.close();
});

describe('/healthcheck/<label>', () => {
  test('200 with the original JSON when the last probe succeeded', async () => {
    const reply = await httpGet(sidecar.port, '/healthcheck/ok');
    assert.equal(reply.status, 200);
    assert.equal(reply.type, 'application/json');
    assert.match(reply.body, /^\{"IsOk":true,"LatencySeconds":\d+(\.\d+)?(e-\d+)?,"Err":""\}$/);
    const body = JSON.parse(reply.body) as { LatencySeconds: number };
    assert.ok(body.LatencySeconds > 0 && body.LatencySeconds < 1);
  });

  test('503 with IsOk false, zero latency and the error when it failed', async () => {
    const reply = await httpGet(sidecar.port, '/healthcheck/nx');
    assert.equal(reply.status, 503);
    assert.equal(reply.type, 'application/json');
    assert.equal(reply.body, '{"IsOk":false,"LatencySeconds":0,"Err":"no RRs for domain \\"nx.test.\\""}');
  });

  test("the JSON escapes <, > and & as Go's encoding/json does", async () => {
    const reply = await httpGet(sidecar.port, '/healthcheck/xss');
    assert.equal(reply.status, 503);
    assert.equal(
      reply.body,
      '{"IsOk":false,"LatencySeconds":0,"Err":"no RRs for domain \\"\\u003cscript\\u003ealert(1)\\u003c/script\\u003e.\\""}',
    );
    assert.equal((JSON.parse(reply.body) as { Err: string }).Err, `no RRs for domain "${XSS}."`);
  });

  test('before the first probe: 503 "waiting for first probe"', () => {
    const option = parseProbeOption('w,127.0.0.1,w.test');
    const reply = healthcheckReply({
      option,
      ok: false,
      latencySeconds: 0,
      error: 'waiting for first probe',
      probes: 0,
      failures: 0,
      history: [],
    });
    assert.equal(reply.status, 503);
    assert.equal(reply.body, '{"IsOk":false,"LatencySeconds":0,"Err":"waiting for first probe"}');
  });

  test('an unknown label, or none, is 404', async () => {
    assert.equal((await httpGet(sidecar.port, '/healthcheck/unknown')).status, 404);
    assert.equal((await httpGet(sidecar.port, '/healthcheck/')).status, 404);
    assert.equal((await httpGet(sidecar.port, '/healthcheck/ok/more')).status, 404);
    assert.equal((await httpGet(sidecar.port, '/nothing')).status, 404);
  });

  test('read-only: other methods are refused', async () => {
    assert.equal((await httpGet(sidecar.port, '/healthcheck/ok', 'POST')).status, 405);
    assert.equal((await httpGet(sidecar.port, '/', 'DELETE')).status, 405);
  });
});

describe('/healthz and /metrics', () => {
  test('/healthz is 200 "ok (<time>)"', async () => {
    const reply = await httpGet(sidecar.port, '/healthz');
    assert.equal(reply.status, 200);
    assert.match(reply.body, /^ok \(\d{4}-\d\d-\d\dT[\d:.]+Z\)\n$/);
  });

  test('/metrics is the Prometheus text format with the cache and probe metrics', async () => {
    const reply = await httpGet(sidecar.port, '/metrics');
    assert.equal(reply.status, 200);
    assert.match(reply.type, /^text\/plain; version=0\.0\.4/);
    for (const line of [
      '# TYPE kubedns_dnsmasq_hits counter',
      'kubedns_dnsmasq_hits 7',
      'kubedns_dnsmasq_max_size 150',
      '# TYPE kubedns_probe_ok_latency_ms histogram',
      '# TYPE kubedns_probe_nx_errors counter',
      '# TYPE process_cpu_user_seconds_total counter',
    ]) {
      assert.ok(reply.body.includes(`${line}\n`), line);
    }
  });
});

describe('the status page', () => {
  test('renders each probe, its state and history, and the cache counters', async () => {
    const reply = await httpGet(sidecar.port, '/');
    assert.equal(reply.status, 200);
    assert.equal(reply.type, 'text/html; charset=utf-8');
    const page = reply.body;
    assert.match(page, /^<!DOCTYPE html>/);
    assert.ok(page.includes('<strong>ok</strong>') && page.includes('<strong>nx</strong>'));
    assert.ok(page.includes('<span class="badge ok">OK</span>'));
    assert.ok(page.includes('<span class="badge fail">FAILING</span>'));
    assert.ok(page.includes('<svg') && page.includes('<polyline'));
    assert.ok(page.includes('no RRs for domain &#34;nx.test.&#34;'));
    assert.match(page, /<td>hits<\/td><td class="num">7<\/td><td class="num">7<\/td>/);
    assert.match(page, /<td>hit ratio<\/td><td class="num">70\.0 %<\/td>/);
  });

  test('is self-contained: no script, no external asset, a CSP that forbids loading anything', async () => {
    const page = (await httpGet(sidecar.port, '/')).body;
    assert.ok(page.includes(`content="default-src 'none'; style-src 'unsafe-inline'"`));
    assert.doesNotMatch(page, /<script|<link|<img|src=|https?:\/\//i);
  });

  test('escapes everything it prints', async () => {
    const page = (await httpGet(sidecar.port, '/')).body;
    assert.ok(!page.includes(XSS));
    assert.ok(page.includes('&#60;script&#62;alert(1)&#60;/script&#62;.'));
  });
});
