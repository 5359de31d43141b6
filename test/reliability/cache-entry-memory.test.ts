import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { storeAnswer } from '@kube-dns/dnsmasq-cache/cache/stored-answer';

/**
 * Regression (found by the fuzz soak: the cache's external memory grew by ~8 KiB per cached answer): a cached
 * answer's bytes were a slice of Buffer's shared 8 KiB allocation pool, so every entry kept a whole slab
 * alive — up to 8 MB for the manifest's --cache-size=1000, 80 MB for 10,000. Each entry now owns its bytes.
 */
test('dnsmasq-cache: a cached answer owns its bytes (no pinned 8 KiB pool slab)', () => {
  const policy = { negativeCache: true, negTtl: 0, maxCacheTtl: 0, minCacheTtl: 0 };
  for (let i = 0; i < 50; i++) {
    const name = `host-${i}.example.org`;
    const response = dnsPacket.encode({
      type: 'response',
      id: 1,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'A', name }],
      answers: [{ type: 'A', name, ttl: 300, data: `192.0.2.${i}` }],
    });
    const stored = storeAnswer(response, policy);
    assert.ok(stored !== null && stored !== 'malformed');
    const { wire } = stored.primary;
    assert.ok(wire.length > 0 && wire.length < 200);
    assert.equal(wire.byteOffset, 0, 'not an offset into a shared slab');
    assert.equal(wire.buffer.byteLength, wire.length, 'an ArrayBuffer of its own size');
  }
});
