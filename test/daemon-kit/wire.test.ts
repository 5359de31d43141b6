import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import {
  Flag,
  RRType,
  buildErrorResponse,
  encodeName,
  parseQuery,
  questionHash,
  RawQuestion,
  readName,
  skipName,
  truncateResponse,
  walkRecords,
} from '@kube-dns/daemon-kit';
import { buildQuery } from '../helpers/index.js';

describe('names', () => {
  test('reads lower-cased names and follows backward pointers', () => {
    const buf = Buffer.concat([
      Buffer.alloc(12),
      encodeName('Foo.Example.COM'),
      Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 16]),
    ]);
    assert.deepEqual(readName(buf, 12), { name: 'foo.example.com', end: 29 });
    assert.deepEqual(readName(buf, 29), { name: 'www.example.com', end: 35 });
  });

  test('rejects forward and self pointers, reserved label types, long labels and names', () => {
    const self = Buffer.from([0xc0, 0]);
    assert.equal(readName(self, 0), null);
    const forward = Buffer.from([0xc0, 2, 0]);
    assert.equal(readName(forward, 0), null);
    assert.equal(readName(Buffer.from([0x40, 0]), 0), null);
    assert.equal(readName(Buffer.from([64, ...Buffer.alloc(64, 0x61), 0]), 0), null);
    const long = Buffer.concat([
      ...Array.from({ length: 5 }, () => Buffer.from([60, ...Buffer.alloc(60, 0x61)])),
      Buffer.from([0]),
    ]);
    assert.equal(readName(long, 0), null);
    assert.equal(skipName(long, 0), -1);
    assert.equal(readName(Buffer.from([3, 0x61]), 0), null, 'truncated label');
  });

  test('escapes dots and non-printables inside labels', () => {
    const buf = Buffer.from([3, 0x61, 0x2e, 0x01, 0]);
    assert.equal(readName(buf, 0)?.name, 'a\\.\\001');
  });

  test('encodeName round-trips and refuses bad names', () => {
    assert.equal(readName(encodeName('a.b.'), 0)?.name, 'a.b');
    assert.deepEqual(encodeName('.'), Buffer.from([0]));
    assert.throws(() => encodeName('a..b'));
    assert.throws(() => encodeName('x'.repeat(64)));
  });
});

describe('parseQuery', () => {
  test('reads header, question and EDNS', () => {
    const query = buildQuery('Kubernetes.Default.svc.cluster.local', 'SRV', { edns: 4096 });
    const parsed = parseQuery(query);
    assert.ok(parsed.ok);
    assert.equal(parsed.view.qname, 'kubernetes.default.svc.cluster.local');
    assert.equal(parsed.view.qtype, RRType.SRV);
    assert.equal(parsed.view.qclass, 1);
    assert.deepEqual(parsed.view.edns, { udpSize: 4096, version: 0, dnssecOk: false });
  });

  test('classifies bad packets', () => {
    assert.equal(parseQuery(Buffer.alloc(5)).ok, false);
    const response = buildQuery('a.b', 'A');
    response.writeUInt16BE(response.readUInt16BE(2) | Flag.QR, 2);
    assert.deepEqual(problem(response), 'drop');
    const notify = buildQuery('a.b', 'A');
    notify.writeUInt16BE((notify.readUInt16BE(2) & ~0x7800) | (5 << 11), 2);
    assert.equal(problem(notify), 'notimp');
    const twoQuestions = buildQuery('a.b', 'A');
    twoQuestions.writeUInt16BE(2, 4);
    assert.equal(problem(twoQuestions), 'formerr');
    const noQuestion = buildQuery('a.b', 'A');
    noQuestion.writeUInt16BE(0, 4);
    assert.equal(problem(noQuestion), 'formerr');
    assert.equal(problem(buildQuery('a.b', 'A').subarray(0, 16)), 'formerr');
    const lyingArcount = buildQuery('a.b', 'A');
    lyingArcount.writeUInt16BE(3, 10);
    assert.equal(problem(lyingArcount), 'formerr');
  });

  test('EDNS version 1 is BADVERS, two OPTs are FORMERR', () => {
    const v1 = buildQuery('a.b', 'A', { edns: 1232 });
    v1[v1.length - 5] = 1; // OPT TTL byte 2 = version
    assert.equal(problem(v1), 'badvers');
    const opt = buildQuery('a.b', 'A', { edns: 1232 }).subarray(-11);
    const twice = Buffer.concat([buildQuery('a.b', 'A', { edns: 1232 }), opt]);
    twice.writeUInt16BE(2, 10);
    assert.equal(problem(twice), 'formerr');
  });

  test('NOTIMP and FORMERR for a query with EDNS keep its OPT (RFC 6891 §7, RFC 8906 §8.2), as dnsmasq does', () => {
    const withOpt = (): Buffer => buildQuery('a.b', 'A', { edns: 1232 });
    const notimp = withOpt();
    notimp.writeUInt16BE((notimp.readUInt16BE(2) & ~0x7800) | (15 << 11), 2);
    const noQuestion = Buffer.concat([withOpt().subarray(0, 12), withOpt().subarray(-11)]);
    noQuestion.writeUInt16BE(0, 4);
    const question = withOpt().subarray(12, -11);
    const twoQuestions = Buffer.concat([withOpt().subarray(0, 12), question, question, withOpt().subarray(-11)]);
    twoQuestions.writeUInt16BE(2, 4);
    for (const [query, rcode] of [
      [notimp, 4],
      [noQuestion, 1],
      [twoQuestions, 1],
    ] as const) {
      const parsed = parseQuery(query);
      assert.equal(parsed.ok, false);
      assert.deepEqual(parsed.view.edns, { udpSize: 1232, version: 0, dnssecOk: false });
      const reply = buildErrorResponse(query, parsed.view, rcode)!;
      assert.equal(reply[3]! & 0xf, rcode);
      assert.equal(reply.readUInt16BE(10), 1, 'one OPT in the additional section');
      assert.equal(dnsPacket.decode(reply).additionals?.[0]?.type, 'OPT');
    }
    // Without EDNS, or with an unreadable question before it, there is nothing to echo.
    const plain = buildQuery('a.b', 'A');
    plain.writeUInt16BE(0, 4);
    assert.equal(parseQuery(plain).view.edns ?? null, null);
    const cut = withOpt().subarray(0, 16);
    assert.equal(parseQuery(cut).view.edns ?? null, null);
  });

  function problem(buf: Buffer): string {
    const parsed = parseQuery(buf);
    return parsed.ok ? 'ok' : parsed.problem;
  }
});

describe('buildErrorResponse', () => {
  test('echoes ID, opcode, RD and question, adds OPT with extended rcode', () => {
    const query = buildQuery('Mixed.Case', 'A', { edns: 4096 });
    const parsed = parseQuery(query);
    assert.ok(parsed.ok);
    const response = buildErrorResponse(query, parsed.view, 16, { ednsUdpSize: 1232 })!;
    const decoded = dnsPacket.decode(response);
    assert.equal(decoded.id, parsed.view.id);
    assert.equal(decoded.questions?.[0]?.name, 'Mixed.Case');
    assert.equal(response[3]! & 0xf, 0);
    const opt = decoded.additionals?.[0] as unknown as { udpPayloadSize: number; extendedRcode: number };
    assert.equal(opt.udpPayloadSize, 1232);
    assert.equal(opt.extendedRcode, 1);
    assert.ok(response.readUInt16BE(2) & Flag.RD);
  });
});

describe('truncateResponse', () => {
  const answers = Array.from({ length: 40 }, (_, i) => ({
    type: 'A' as const,
    name: 'big.example',
    ttl: 30,
    data: `10.0.0.${i}`,
  }));
  const full = dnsPacket.encode({
    type: 'response',
    id: 7,
    flags: Flag.AA,
    questions: [{ type: 'A', name: 'big.example' }],
    answers,
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as never],
  });

  test('keeps whole records, the OPT, and sets TC', () => {
    const cut = truncateResponse(full, 512);
    assert.ok(cut.length <= 512);
    const decoded = dnsPacket.decode(cut);
    assert.ok(cut.readUInt16BE(2) & Flag.TC);
    assert.ok((decoded.answers?.length ?? 0) > 0 && (decoded.answers?.length ?? 0) < 40);
    assert.equal(decoded.additionals?.[0]?.type, 'OPT');
    assert.equal(walkRecords(cut)?.records.length, (decoded.answers?.length ?? 0) + 1);
  });

  test('leaves messages that fit alone, and only drops additional glue without TC', () => {
    assert.equal(truncateResponse(full, 65535), full);
    const withGlue = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'SRV', name: 's.example' }],
      answers: [{ type: 'SRV', name: 's.example', data: { priority: 0, weight: 100, port: 80, target: 't.example' } }],
      additionals: answers,
    });
    const cut = truncateResponse(withGlue, 512);
    assert.equal(cut.readUInt16BE(2) & Flag.TC, 0);
    assert.equal(dnsPacket.decode(cut).answers?.length, 1);
  });
});

describe('RawQuestion.scanQuery', () => {
  /** A query with an OPT of the given fields after the question (dns-packet cannot write every variant). */
  function withOpt(query: Buffer, fields: { udpSize: number; version?: number; dnssecOk?: boolean; rdata?: Buffer }) {
    const rdata = fields.rdata ?? Buffer.alloc(0);
    const opt = Buffer.alloc(11 + rdata.length);
    opt.writeUInt16BE(RRType.OPT, 1);
    opt.writeUInt16BE(fields.udpSize, 3);
    opt[6] = fields.version ?? 0;
    opt[7] = fields.dnssecOk === true ? 0x80 : 0;
    opt.writeUInt16BE(rdata.length, 9);
    rdata.copy(opt, 11);
    const out = Buffer.concat([query, opt]);
    out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
    return out;
  }

  const plain = buildQuery('Web.Default.svc.cluster.local', 'A');
  const plainQueries: Array<[string, Buffer]> = [
    ['no OPT', plain],
    ['the root name', buildQuery('.', 'NS')],
    ['OPT, size 4096', withOpt(plain, { udpSize: 4096 })],
    ['OPT, size below 512', withOpt(plain, { udpSize: 100 })],
    ['OPT with DO', withOpt(plain, { udpSize: 1232, dnssecOk: true })],
    ['class CH', buildQuery('version.bind', 'TXT', { qclass: 'CH' })],
    ['RD clear', buildQuery('a.b', 'AAAA', { recursionDesired: false })],
  ];
  const otherQueries: Array<[string, Buffer]> = [
    ['OPT version 1', withOpt(plain, { udpSize: 4096, version: 1 })],
    ['OPT with an option', withOpt(plain, { udpSize: 4096, rdata: Buffer.from([0, 10, 0, 0]) })],
    ['trailing octets', Buffer.concat([plain, Buffer.from([0])])],
    ['a response', Buffer.from(plain.map((octet, i) => (i === 2 ? octet | 0x80 : octet)))],
    ['opcode STATUS', Buffer.from(plain.map((octet, i) => (i === 2 ? octet | 0x10 : octet)))],
    ['a label with a dot', Buffer.concat([plain.subarray(0, 12), Buffer.from([3, 0x61, 0x2e, 0x62, 0, 0, 1, 0, 1])])],
    ['a compressed name', Buffer.concat([plain.subarray(0, 12), Buffer.from([1, 0x61, 0xc0, 12, 0, 1, 0, 1])])],
    ['shorter than a question', plain.subarray(0, 16)],
  ];

  /** What the slow path says of `query`, in RawQuestion's terms, or null where scanQuery must decline. */
  function slowPath(query: Buffer, listenerUdpSize: number) {
    const parsed = parseQuery(query);
    if (!parsed.ok) return null;
    const { view } = parsed;
    return {
      hash: questionHash(view.qname, view.qtype),
      questionEnd: view.questionEnd,
      qtype: view.qtype,
      qclass: view.qclass,
      hasOpt: view.edns !== null,
      dnssecOk: view.edns?.dnssecOk ?? false,
      maxReplySize: view.edns ? Math.min(Math.max(view.edns.udpSize, 512), Math.max(listenerUdpSize, 512)) : 512,
    };
  }

  function fastPath(question: RawQuestion, query: Buffer, listenerUdpSize: number) {
    if (!question.scanQuery(query)) return null;
    return {
      hash: question.hash,
      questionEnd: question.nameEnd + 4,
      qtype: question.qtype,
      qclass: question.qclass,
      hasOpt: question.hasOpt,
      dnssecOk: question.dnssecOk,
      maxReplySize: question.maxReplySize(listenerUdpSize),
    };
  }

  test('takes plain queries, reading what parseQuery reads', () => {
    const question = new RawQuestion();
    for (const [label, query] of plainQueries) {
      for (const listener of [0, 1232, 4096]) {
        const fast = fastPath(question, query, listener);
        assert.notEqual(fast, null, label);
        assert.deepEqual(fast, slowPath(query, listener), label);
      }
    }
  });

  test('declines the rest: what parseQuery rejects, and valid queries that are not plain', () => {
    const question = new RawQuestion();
    for (const [label, query] of otherQueries) assert.equal(question.scanQuery(query), false, label);
  });

  test('never disagrees with parseQuery on mutated queries', () => {
    const question = new RawQuestion();
    let seed = 12345;
    const next = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed >>> 8;
    };
    let taken = 0;
    for (const [, base] of plainQueries) {
      for (let round = 0; round < 500; round++) {
        const query = Buffer.from(base);
        for (let flips = 1 + (next() % 3); flips > 0; flips--) query[next() % query.length] = next() & 0xff;
        const fast = fastPath(question, query, 4096);
        if (fast === null) continue;
        taken++;
        assert.deepEqual(fast, slowPath(query, 4096), query.toString('hex'));
      }
    }
    assert.ok(taken > 100, `only ${taken} mutated queries were plain`);
  });
});
