import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AnswerCache, type EncodedAnswer } from '@kube-dns/kubedns';

/**
 * Regression (found by the fuzz soak: kube-dns's live memory kept creeping up with its answer cache full):
 * the cache keeps one map per query type, and a type whose answers had all been evicted kept its empty map.
 * Clients choose the types, so a stream of queries for random types left up to 65536 maps behind.
 */
test('kube-dns answer cache: a type with no answers left keeps no map; replacing the last answer of a type works', () => {
  const cache = new AnswerCache({ maxEntries: 10, random: () => 0.5 });
  const encoded = (n: number): EncodedAnswer => ({ n }) as unknown as EncodedAnswer;
  for (let qtype = 100; qtype < 10_100; qtype++) cache.set(qtype, `name-${qtype}.cluster.local`, encoded(qtype), []);
  assert.equal(cache.size, 10);
  const types = (cache as unknown as { byType: Map<number, Map<string, unknown>> }).byType;
  assert.ok(types.size <= 10, `${types.size} per-type maps for 10 answers`);
  assert.ok(
    [...types.values()].every((names) => names.size > 0),
    'no empty map',
  );

  // The only answer of a type replaced by a new one for the same name: still found.
  cache.set(7, 'only.cluster.local', encoded(1), []);
  cache.set(7, 'only.cluster.local', encoded(2), []);
  assert.deepEqual(cache.get(7, 'only.cluster.local'), encoded(2));
  assert.equal(cache.size, 10);
});
