import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  freeDnsPort,
  missingTool,
  queryDns,
  startRealDnsmasq,
  startScriptedDnsServer,
  type ScriptedDnsServer,
} from '../helpers/index.js';
import { startCacheDaemon } from './support/launch.js';

/**
 * Regression (found by the zone-transfer check: AXFR through the cache came back SERVFAIL): when every
 * upstream server refuses, dnsmasq 2.90 relays REFUSED; dnsmasq-cache answered SERVFAIL, which tells a
 * resolver to retry elsewhere instead of "no". A timeout or a SERVFAIL among them still makes it SERVFAIL.
 */
const CASES: Array<[rcodes: number[], expected: string]> = [
  [[5], 'REFUSED'],
  [[5, 5], 'REFUSED'],
  [[2], 'SERVFAIL'],
  [[5, 2], 'SERVFAIL'],
  [[2, 5], 'SERVFAIL'],
];

test('dnsmasq-cache relays REFUSED when every upstream refused, SERVFAIL otherwise (as dnsmasq 2.90)', async () => {
  for (const [rcodes, expected] of CASES) {
    const upstreams: ScriptedDnsServer[] = [];
    for (const rcode of rcodes) upstreams.push(await startScriptedDnsServer(() => ({ rcode })));
    const cache = await startCacheDaemon([...upstreams.map((u) => `--server=127.0.0.1#${u.port}`)]);
    try {
      for (const type of ['A', 'AXFR'] as const) {
        const result = await queryDns(cache.dns, 'x.example', type, { timeoutMs: 5000, tcp: type === 'AXFR' });
        assert.equal(result.rcode, expected, `upstreams answering ${rcodes.join(', ')}: ${type}`);
      }
    } finally {
      await cache.stop();
      for (const u of upstreams) await u.close();
    }
  }
});

test('real dnsmasq 2.90 agrees', { skip: missingTool('dnsmasq') }, async () => {
  for (const [rcodes, expected] of CASES) {
    const upstreams: ScriptedDnsServer[] = [];
    for (const rcode of rcodes) upstreams.push(await startScriptedDnsServer(() => ({ rcode })));
    const port = await freeDnsPort();
    const dnsmasq = await startRealDnsmasq(port, [
      '--no-resolv',
      '--no-hosts',
      ...upstreams.map((u) => `--server=127.0.0.1#${u.port}`),
    ]);
    try {
      const result = await queryDns({ host: '127.0.0.1', port }, 'x.example', 'A', { timeoutMs: 5000 });
      assert.equal(result.rcode, expected, `dnsmasq, upstreams answering ${rcodes.join(', ')}`);
    } finally {
      await dnsmasq.kill();
      for (const u of upstreams) await u.close();
    }
  }
});
