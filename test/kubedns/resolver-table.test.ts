import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rcodeToString, RRType } from '@kube-dns/daemon-kit';
import { resolve } from '@kube-dns/kubedns';
import { checkResolution, recordLine, specFixture, SPEC_ROWS, typeNumber } from './answers-fixture.js';

describe('resolver: every SPEC row and K-check (dns-spec-and-peers.md §A.0 fixture)', () => {
  const store = specFixture('insecure');
  for (const row of SPEC_ROWS) {
    test(`${row.why}: ${row.name} ${row.type}`, () => {
      checkResolution(row, resolve(store, { name: row.name, type: typeNumber(row.type) }));
    });
  }

  test('every record made from cluster data carries --ttl; negative answers carry the SOA with --negative-ttl', () => {
    for (const row of SPEC_ROWS) {
      const result = resolve(store, { name: row.name, type: typeNumber(row.type) });
      if (result.kind !== 'answer') continue;
      for (const rr of [...result.message.answer, ...result.message.additional]) {
        if (rr.type === RRType.TXT || rr.type === RRType.SOA || rr.type === RRType.NS) continue;
        assert.equal(rr.ttl, 30, `${row.name}: ${recordLine(rr)}`);
      }
      for (const rr of result.message.authority) {
        assert.equal(rr.type, RRType.SOA);
        assert.equal(rr.ttl, 5);
      }
    }
  });

  test('no duplicate records in any section', () => {
    for (const row of SPEC_ROWS) {
      const result = resolve(store, { name: row.name, type: typeNumber(row.type) });
      if (result.kind === 'forward') continue;
      for (const section of [result.message.answer, result.message.authority, result.message.additional]) {
        const lines = section.map(recordLine);
        assert.equal(new Set(lines).size, lines.length, `${row.name} ${row.type}: ${lines.join(' | ')}`);
      }
    }
  });

  test('CHAOS and other classes are REFUSED; class ANY is answered like IN', () => {
    const chaos = resolve(store, { name: 'version.bind', type: RRType.TXT, class: 3 });
    assert.equal(chaos.kind === 'answer' && rcodeToString(chaos.message.rcode), 'REFUSED');
    const inZone = resolve(store, { name: 'web.prod.svc.cluster.local', type: RRType.A, class: 3 });
    assert.equal(inZone.kind === 'answer' && inZone.message.authoritative, false);
    const any = resolve(store, { name: 'web.prod.svc.cluster.local', type: RRType.A, class: 255 });
    assert.deepEqual(any.kind === 'answer' && any.message.answer.map(recordLine), [
      'web.prod.svc.cluster.local. 30 IN A 10.3.0.20',
    ]);
  });
});
