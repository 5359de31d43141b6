import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeName, RawQuestion } from '@kube-dns/daemon-kit';
import { AnswerCache } from '@kube-dns/kubedns';
import type { EncodedAnswer } from '@kube-dns/kubedns/wire/answer-encoder';

function encoded(marker: number): EncodedAnswer {
  return {
    body: Buffer.from([marker & 0xff]),
    flags: 0,
    ancount: 0,
    nscount: 0,
    arcount: 0,
    serialOffset: -1,
    questionEnd: 0,
  };
}

/** A query for `name`/`qtype` (header, question, class IN), as the fast path sees it. */
function query(name: string, qtype: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(1, 4);
  const tail = Buffer.from([qtype >> 8, qtype & 0xff, 0, 1]);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** What the fast path finds for `name`/`qtype` (scans the query as it does). */
function findRaw(cache: AnswerCache, name: string, qtype: number): EncodedAnswer | undefined {
  const q = query(name, qtype);
  const question = new RawQuestion();
  assert.ok(question.scan(q));
  return cache.findRaw(q, question.hash, question.qtype)?.encoded;
}

describe('kube-dns answer cache', () => {
  test('bounded: a random entry makes room; what stays is found both ways, what went by neither', () => {
    let seed = 1;
    const cache = new AnswerCache({
      maxEntries: 100,
      random: () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646,
    });
    const scope = { gen: 0 };
    for (let i = 0; i < 1000; i++) cache.set(i % 2 ? 1 : 28, `svc-${i}.ns.svc.cluster.local`, encoded(i), [scope]);
    assert.equal(cache.size, 100);
    let kept = 0;
    for (let i = 0; i < 1000; i++) {
      const name = `svc-${i}.ns.svc.cluster.local`;
      const qtype = i % 2 ? 1 : 28;
      const byName = cache.get(qtype, name);
      assert.equal(findRaw(cache, name, qtype), byName, name);
      if (byName !== undefined) {
        kept++;
        assert.equal(byName.body[0], i & 0xff);
      }
    }
    assert.equal(kept, 100);
  });

  test('a replaced entry, a stale one (its scope moved on), clear()', () => {
    const cache = new AnswerCache();
    const a = { gen: 0 };
    const b = { gen: 0 };
    cache.set(1, 'web.prod.svc.cluster.local', encoded(1), [a, a, b]);
    cache.set(1, 'web.prod.svc.cluster.local', encoded(2), [a]);
    assert.equal(cache.size, 1);
    assert.equal(cache.get(1, 'web.prod.svc.cluster.local')?.body[0], 2);
    assert.equal(findRaw(cache, 'WEB.Prod.svc.cluster.local', 1)?.body[0], 2, 'any case');
    assert.equal(findRaw(cache, 'web.prod.svc.cluster.local', 28), undefined, 'another type');
    assert.equal(findRaw(cache, 'web.prod.svc.cluster.loca', 1), undefined, 'another name');
    a.gen++;
    assert.equal(findRaw(cache, 'web.prod.svc.cluster.local', 1), undefined, 'stale');
    assert.equal(cache.size, 0, 'dropped when found stale');
    cache.set(1, 'x.cluster.local', encoded(3), []);
    cache.set(33, '', encoded(4), []);
    assert.equal(findRaw(cache, '', 33)?.body[0], 4, 'the root');
    cache.clear();
    assert.equal(cache.size, 0);
    assert.equal(findRaw(cache, 'x.cluster.local', 1), undefined);
  });

  test('100,000 entries (30-bit hashes collide): every one found, drops from hash chains keep the rest', () => {
    const cache = new AnswerCache({ maxEntries: 200_000 });
    const scopes = Array.from({ length: 100_000 }, () => ({ gen: 0 }));
    for (let i = 0; i < 100_000; i++) cache.set(1, `n${i}.cluster.local`, encoded(i), [scopes[i]!]);
    for (let i = 0; i < 100_000; i += 7) assert.equal(findRaw(cache, `n${i}.cluster.local`, 1)?.body[0], i & 0xff);
    for (let i = 0; i < 100_000; i += 2) scopes[i]!.gen++;
    for (let i = 0; i < 100_000; i++) {
      const found = findRaw(cache, `n${i}.cluster.local`, 1);
      if (i % 2 === 0) assert.equal(found, undefined);
      else assert.equal(found?.body[0], i & 0xff, `n${i}`);
    }
    assert.equal(cache.size, 50_000);
  });
});
