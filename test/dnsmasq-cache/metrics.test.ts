import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rr, startFakeUpstream } from '../helpers/index.js';
import { startCache } from './support.js';

test('--metrics-port serves Prometheus metrics (off by default)', async () => {
  const upstream = await startFakeUpstream((q) => ({ answers: [rr(q.name, 'A', '10.0.0.1', 60)] }));
  const off = await startCache(['--no-hosts', '--no-resolv', `--server=${upstream.label}`]);
  assert.equal(off.handle.ports.metrics, null);
  await off.close();
  const cache = await startCache([
    '--no-hosts',
    '--no-resolv',
    `--server=${upstream.label}`,
    '--metrics-port=0',
    '--metrics-address=127.0.0.1',
  ]);
  try {
    await cache.query('m.test', 'A');
    await cache.query('m.test', 'A');
    const text = await (await fetch(`http://127.0.0.1:${cache.handle.ports.metrics}/metrics`)).text();
    assert.match(text, /^dnsmasq_cache_answers_total\{source="forwarded"\} 1$/m);
    assert.match(text, /^dnsmasq_cache_answers_total\{source="cache"\} 1$/m);
    assert.match(text, /^dnsmasq_cache_hits_total 1$/m);
    assert.match(text, /^dnsmasq_cache_misses_total 1$/m);
    assert.match(text, /^dnsmasq_cache_insertions_total 1$/m);
    assert.match(text, /^dnsmasq_cache_evictions_total 0$/m);
    assert.match(text, /^dnsmasq_cache_records 1$/m);
    assert.match(text, /^dnsmasq_cache_size_records 150$/m);
    assert.match(text, /^dnsmasq_cache_responses_total\{transport="udp",rcode="NOERROR"\} 2$/m);
    assert.match(text, /^dnsmasq_cache_request_duration_seconds_count\{transport="udp"\} 2$/m);
    const post = await fetch(`http://127.0.0.1:${cache.handle.ports.metrics}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405, 'read-only');
    // SIGHUP starts insertions.bind again from 0 (as dnsmasq); the Prometheus counter keeps counting.
    cache.handle.reload();
    await cache.query('m2.test', 'A');
    assert.equal((await cache.chaos('insertions.bind'))[0], '1');
    const after = await (await fetch(`http://127.0.0.1:${cache.handle.ports.metrics}/metrics`)).text();
    assert.match(after, /^dnsmasq_cache_insertions_total 2$/m);
  } finally {
    await cache.close();
    await upstream.close();
  }
});
