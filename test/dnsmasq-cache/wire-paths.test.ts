import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, RecordType } from 'dns-packet';
import { parseQuery, RRType } from '@kube-dns/daemon-kit';
import {
  answerFromCache,
  makeOptRecords,
  ResponseCache,
  storeAnswer,
  type CachePolicy,
  type StoredAnswer,
} from '@kube-dns/dnsmasq-cache';

/**
 * The hot path (stored wire bytes, patched in place) against a slow path written with dns-packet (decode the
 * upstream answer, pick what dnsmasq would serve, set ID/flags/question/TTLs, encode), on the same inputs.
 */

const policy: CachePolicy = { negativeCache: true, negTtl: 0, maxCacheTtl: 0, minCacheTtl: 0 };
const T0 = 1_000_000;

/** A small deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 0x1_0000_0000;
  };
}

function scramble(name: string, random: () => number): string {
  return [...name].map((c) => (random() < 0.5 ? c.toUpperCase() : c.toLowerCase())).join('');
}

interface Case {
  label: string;
  upstream: Packet;
  qtype: RecordType;
  qname: string;
}

const soaData = {
  mname: 'ns.example.',
  rname: 'hostmaster.example.',
  serial: 7,
  refresh: 1,
  retry: 2,
  expire: 3,
  minimum: 60,
};

function cases(random: () => number): Case[] {
  const out: Case[] = [];
  const response = (
    qname: string,
    qtype: RecordType,
    answers: Answer[],
    rcode = 0,
    authorities: Answer[] = [],
  ): Packet => ({
    type: 'response',
    id: 4242,
    flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED | rcode,
    questions: [{ name: qname, type: qtype, class: 'IN' }],
    answers,
    authorities,
    additionals: [{ name: 'ns.example', type: 'A', ttl: 99, data: '192.0.2.53' }],
  });
  for (let i = 0; i < 40; i++) {
    const name = `host${i}.Zone${i % 3}.example`;
    const ttl = 1 + Math.floor(random() * 5000);
    const count = 1 + Math.floor(random() * 4);
    out.push({
      label: `A ×${count}`,
      qname: name,
      qtype: 'A',
      upstream: response(
        name,
        'A',
        Array.from({ length: count }, (_, k) => ({ name, type: 'A', ttl: ttl + k, data: `10.${i}.${k}.1` })),
      ),
    });
    out.push({
      label: 'AAAA',
      qname: name,
      qtype: 'AAAA',
      upstream: response(name, 'AAAA', [{ name, type: 'AAAA', ttl, data: `fd00::${i + 1}` }]),
    });
    const target = `target${i}.other.example`;
    out.push({
      label: 'CNAME chain',
      qname: `www${i}.example`,
      qtype: 'A',
      upstream: response(`www${i}.example`, 'A', [
        { name: `www${i}.example`, type: 'CNAME', ttl: ttl + 7, data: `mid${i}.example` },
        { name: `mid${i}.example`, type: 'CNAME', ttl: ttl + 3, data: target },
        { name: target, type: 'A', ttl, data: '192.0.2.7' },
        { name: 'unrelated.example', type: 'A', ttl, data: '192.0.2.8' },
      ]),
    });
    out.push({
      label: 'SRV',
      qname: `_http._tcp.svc${i}.example`,
      qtype: 'SRV',
      upstream: response(`_http._tcp.svc${i}.example`, 'SRV', [
        {
          name: `_http._tcp.svc${i}.example`,
          type: 'SRV',
          ttl,
          data: { priority: 0, weight: 50, port: 80, target: `svc${i}.example` },
        },
      ]),
    });
    out.push({
      label: 'PTR',
      qname: `${i}.2.0.192.in-addr.arpa`,
      qtype: 'PTR',
      upstream: response(`${i}.2.0.192.in-addr.arpa`, 'PTR', [
        { name: `${i}.2.0.192.in-addr.arpa`, type: 'PTR', ttl, data: `host${i}.example` },
      ]),
    });
    out.push({
      label: 'NODATA',
      qname: `nodata${i}.example`,
      qtype: 'AAAA',
      upstream: response(`nodata${i}.example`, 'AAAA', [], 0, [
        { name: 'example', type: 'SOA', ttl: ttl + 100, data: soaData },
      ]),
    });
    out.push({
      label: 'NXDOMAIN',
      qname: `nx${i}.example`,
      qtype: 'A',
      upstream: response(`nx${i}.example`, 'A', [], 3, [
        { name: 'example', type: 'SOA', ttl: ttl + 100, data: soaData },
      ]),
    });
  }
  return out;
}

/** What dnsmasq serves from its cache for this upstream answer, built with dns-packet. */
function slowPath(
  upstream: DecodedPacket,
  query: DecodedPacket,
  queryHasEdns: boolean,
  dnssecOk: boolean,
  elapsedMs: number,
  maxTtl: number,
): Buffer {
  const qname = query.questions![0]!.name;
  const qtype = query.questions![0]!.type;
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const served: Answer[] = [];
  let current = qname;
  for (let guard = 0; guard < 12; guard++) {
    const cname = (upstream.answers ?? []).find((a) => a.type === 'CNAME' && same(a.name, current));
    if (!cname) break;
    served.push(cname);
    current = (cname as { data: string }).data;
  }
  served.push(...(upstream.answers ?? []).filter((a) => a.type === qtype && same(a.name, current)));
  const ttl = (t: number) => {
    let v = Math.ceil((t * 1000 - elapsedMs) / 1000);
    if (maxTtl && v > maxTtl) v = maxTtl;
    return v;
  };
  const rename = (a: Answer): Answer =>
    ({ ...a, name: same(a.name, qname) ? qname : a.name, ttl: ttl((a as { ttl: number }).ttl) }) as Answer;
  const rcode = (upstream.flags ?? 0) & 0xf;
  const negative = served.filter((a) => a.type === qtype).length === 0;
  const flags = 0x8000 | 0x80 | ((query.flags ?? 0) & (0x7800 | 0x100 | 0x10)) | rcode;
  const packet: Packet = {
    type: 'response',
    id: query.id,
    flags,
    questions: query.questions,
    answers: served.map(rename),
    authorities: negative ? (upstream.authorities ?? []).filter((a) => a.type === 'SOA').map(rename) : [],
    additionals: queryHasEdns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0 } as never]
      : [],
  };
  return dnsPacket.encode(packet);
}

function comparable(buf: Buffer): unknown {
  const p = dnsPacket.decode(buf);
  return {
    id: p.id,
    flags: p.flags,
    questions: p.questions,
    answers: p.answers,
    authorities: p.authorities,
    additionals: p.additionals,
  };
}

describe('dnsmasq-cache wire fast path', () => {
  test('cached answers equal the dns-packet slow path (IDs, flags, question case, TTLs, --max-ttl, OPT)', () => {
    const random = prng(7);
    const opt = makeOptRecords(1232);
    let compared = 0;
    for (const c of cases(random)) {
      const raw = dnsPacket.encode(c.upstream);
      const stored = storeAnswer(raw, policy);
      assert.ok(stored !== null && stored !== 'malformed', `${c.label} ${c.qname} is cacheable`);
      const cache = new ResponseCache(100);
      // The CNAME chain's target is an entry of its own (dnsmasq caches record by record): check it too.
      const qtype = RRType[c.qtype as keyof typeof RRType];
      const entries = [{ entry: cache.set(c.qname, qtype, stored.primary, T0)!, name: c.qname }];
      if (stored.target) {
        const target = stored.target;
        entries.push({ entry: cache.set(target.name, qtype, target.answer, T0)!, name: target.name });
      }
      for (let round = 0; round < 8; round++) {
        const { entry, name } = entries[round % entries.length]!;
        const qname = scramble(name, random);
        const edns = random() < 0.5;
        const dnssecOk = edns && random() < 0.3;
        const rd = random() < 0.8;
        const cd = random() < 0.2;
        const query = dnsPacket.encode({
          type: 'query',
          id: Math.floor(random() * 65536),
          flags: (rd ? dnsPacket.RECURSION_DESIRED : 0) | (cd ? dnsPacket.CHECKING_DISABLED : 0),
          questions: [{ name: qname, type: c.qtype, class: 'IN' }],
          additionals: edns
            ? [{ type: 'OPT', name: '.', udpPayloadSize: 4096, flags: dnssecOk ? dnsPacket.DNSSEC_OK : 0 } as never]
            : [],
        });
        const parsed = parseQuery(query);
        assert.ok(parsed.ok);
        const elapsed = Math.floor(random() * entry.lifetime * 1000);
        const maxTtl = random() < 0.3 ? 1 + Math.floor(random() * 100) : 0;
        const fast = answerFromCache(
          entry,
          query,
          parsed.view.flags,
          parsed.view.questionEnd,
          parsed.view.edns === null ? null : parsed.view.edns.dnssecOk ? opt.dnssecOk : opt.plain,
          T0 + elapsed,
          maxTtl,
        );
        const slow = slowPath(dnsPacket.decode(raw), dnsPacket.decode(query), edns, dnssecOk, elapsed, maxTtl);
        assert.deepEqual(comparable(fast), comparable(slow), `${c.label} ${qname} +${elapsed} ms max-ttl ${maxTtl}`);
        compared++;
      }
    }
    assert.ok(compared >= 2000, `${compared} comparisons`);
  });

  test('the stored form is smaller or equal: owner names point at the question', () => {
    const random = prng(11);
    for (const c of cases(random).slice(0, 20)) {
      const raw = dnsPacket.encode(c.upstream);
      const stored = storeAnswer(raw, policy) as { primary: StoredAnswer };
      assert.ok(stored.primary.wire.length <= raw.length, c.label);
    }
  });

  test('malformed upstream answers are reported, not cached', () => {
    const raw = dnsPacket.encode(cases(prng(1))[0]!.upstream);
    assert.equal(storeAnswer(raw.subarray(0, raw.length - 3), policy), 'malformed');
    const pointerLoop = Buffer.from(raw);
    // The first answer's owner name (a pointer in dns-packet's output? no: written in full) made to point forward.
    pointerLoop.writeUInt16BE(0xc000 | (raw.length - 2), pointerLoop.indexOf(Buffer.from([0, 1, 0, 1]), 12) + 4);
    assert.equal(storeAnswer(pointerLoop, policy), 'malformed');
  });
});
