import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import type { ExchangeError } from '@kube-dns/daemon-kit';
import {
  Flag,
  exchangeTcp,
  exchangeUdp,
  frameMessage,
  silentLogger,
  startDnsListener,
  TcpFrameReader,
  type DnsListener,
  type DnsRequest,
} from '@kube-dns/daemon-kit';
import { buildQuery, describeResponse, missingUdpBatchAddon, queryDns, UDP_IO_KINDS } from '../helpers/index.js';

/** Answers `<n>.count.test` with n A records; `slow.test` after 200 ms; `throw.test` by throwing. */
function handler(request: DnsRequest): Buffer | Promise<Buffer> {
  const question = dnsPacket.decode(request.query).questions![0]!;
  if (request.view.qname === 'throw.test') throw new Error('boom');
  const count = /^(\d+)\.count\.test$/.exec(request.view.qname);
  const n = count ? Number(count[1]) : 1;
  const response = dnsPacket.encode({
    type: 'response',
    id: request.view.id,
    flags: Flag.AA,
    questions: [question],
    answers: Array.from({ length: n }, (_, i) => ({
      type: 'A' as const,
      name: question.name,
      ttl: 30,
      data: `10.1.${i >> 8}.${i & 255}`,
    })),
    additionals: request.view.edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0 } as never] : [],
  });
  if (request.view.qname === 'slow.test') return new Promise((resolve) => setTimeout(() => resolve(response), 200));
  return response;
}

// Every test under both UDP I/O implementations (TCP is the same code either way, but runs beside each).
for (const udpIo of UDP_IO_KINDS) {
  describe(`listener, UDP I/O ${udpIo}`, { skip: udpIo === 'batched' && missingUdpBatchAddon() }, () => {
    let listener: DnsListener;
    const server = () => ({ host: '127.0.0.1', port: listener.port });

    before(async () => {
      listener = await startDnsListener({
        host: '127.0.0.1',
        port: 0,
        handler,
        logger: silentLogger,
        tcpIdleTimeoutMs: 300,
        maxTcpConnections: 4,
        udpIo,
      });
      assert.equal(listener.udpIo, udpIo);
    });
    after(() => listener.close());

    describe('UDP', () => {
      test('answers with the same ID and question', async () => {
        const result = await queryDns(server(), 'One.Count.Test', 'A');
        assert.equal(result.packet.answers?.length, 1);
        assert.equal(result.packet.questions?.[0]?.name, 'One.Count.Test');
      });

      test('truncates at 512 without EDNS, at the EDNS size with it, never above 1232', async () => {
        const plain = await queryDns(server(), '100.count.test', 'A');
        assert.ok(plain.flags.tc);
        assert.ok(plain.raw.length <= 512);
        const edns = await queryDns(server(), '60.count.test', 'A', { edns: 4096 });
        assert.ok(edns.raw.length <= 1232 && edns.raw.length > 512);
        assert.ok(edns.flags.tc);
        const fits = await queryDns(server(), '40.count.test', 'A', { edns: 4096 });
        assert.ok(!fits.flags.tc);
        assert.equal(fits.packet.answers?.length, 40);
      });

      test('a throwing handler is SERVFAIL, not a crash', async () => {
        const result = await queryDns(server(), 'throw.test', 'A');
        assert.equal(result.rcode, 'SERVFAIL');
      });

      test('garbage is dropped or FORMERR, and service continues', async () => {
        const socket = dgram.createSocket('udp4');
        const replies: Buffer[] = [];
        socket.on('message', (m) => replies.push(m));
        const bad = buildQuery('x.test', 'A');
        bad.writeUInt16BE(0, 4);
        for (const packet of [Buffer.alloc(3), bad, Buffer.alloc(12, 0xff)])
          socket.send(packet, listener.port, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 100));
        socket.close();
        assert.equal(replies.length, 1, 'only the parseable header gets an answer');
        assert.equal(describeResponse(replies[0]!).rcode, 'FORMERR');
        assert.equal((await queryDns(server(), '1.count.test', 'A')).packet.answers?.length, 1);
      });

      test('unknown opcode is NOTIMP', async () => {
        const query = buildQuery('x.test', 'A');
        query.writeUInt16BE((query.readUInt16BE(2) & ~0x7800) | (2 << 11), 2);
        const raw = await exchangeUdp(server(), query, { timeoutMs: 1000 });
        assert.equal(raw[3]! & 0xf, 4);
      });
    });

    describe('TCP', () => {
      test('carries large answers whole', async () => {
        const result = await queryDns(server(), '1000.count.test', 'A', { tcp: true });
        assert.equal(result.packet.answers?.length, 1000);
        assert.ok(!result.flags.tc);
      });

      test('several pipelined queries on one connection, answered out of order', async () => {
        const socket = net.connect(listener.port, '127.0.0.1');
        const reader = new TcpFrameReader();
        const got: string[] = [];
        const done = new Promise<void>((resolve) => {
          socket.on('data', (chunk: Buffer) => {
            for (const frame of reader.push(chunk)) {
              got.push(dnsPacket.decode(frame).questions![0]!.name);
              if (got.length === 3) resolve();
            }
          });
        });
        const all = Buffer.concat(
          ['slow.test', '1.count.test', '2.count.test'].map((n) => frameMessage(buildQuery(n, 'A'))),
        );
        // Send byte-split to exercise framing across chunks.
        socket.write(all.subarray(0, 5));
        setTimeout(() => socket.write(all.subarray(5)), 20);
        await done;
        socket.destroy();
        assert.deepEqual(got, ['1.count.test', '2.count.test', 'slow.test']);
      });

      test('idle connections are closed', async () => {
        const socket = net.connect(listener.port, '127.0.0.1');
        await new Promise((r) => socket.once('connect', r));
        const closed = await new Promise<boolean>((resolve) => {
          socket.once('close', () => resolve(true));
          setTimeout(() => resolve(false), 2000);
        });
        assert.ok(closed);
      });

      test('past the connection limit the least recently active is evicted and new clients are served', async () => {
        const idle = await Promise.all(
          Array.from({ length: 6 }, async () => {
            const s = net.connect(listener.port, '127.0.0.1');
            s.on('error', () => undefined);
            await new Promise((r) => s.once('connect', r));
            return s;
          }),
        );
        const result = await queryDns(server(), '1.count.test', 'A', { tcp: true });
        assert.equal(result.packet.answers?.length, 1);
        await new Promise((r) => setTimeout(r, 50));
        assert.ok(idle.filter((s) => s.destroyed || s.readyState === 'closed').length >= 2);
        for (const s of idle) s.destroy();
      });
    });

    describe('exchange validation', () => {
      test('ignores answers with the wrong ID or question, then times out', async () => {
        const fake = dgram.createSocket('udp4');
        await new Promise<void>((r) => fake.bind(0, '127.0.0.1', () => r()));
        const rejected: string[] = [];
        fake.on('message', (msg, rinfo) => {
          const wrongId = Buffer.from(msg);
          wrongId.writeUInt16BE((msg.readUInt16BE(0) + 1) & 0xffff, 0);
          wrongId.writeUInt16BE(0x8000, 2);
          fake.send(wrongId, rinfo.port, rinfo.address);
          const wrongQuestion = buildQuery('other.test', 'A');
          wrongQuestion.writeUInt16BE(msg.readUInt16BE(0), 0);
          wrongQuestion.writeUInt16BE(0x8000, 2);
          fake.send(wrongQuestion, rinfo.port, rinfo.address);
        });
        const port = fake.address().port;
        await assert.rejects(
          exchangeUdp({ host: '127.0.0.1', port }, buildQuery('x.test', 'A'), {
            timeoutMs: 300,
            onRejectedResponse: (reason) => rejected.push(reason),
          }),
          (error: ExchangeError) => error.code === 'ERR_UPSTREAM_TIMEOUT',
        );
        fake.close();
        assert.deepEqual(rejected.sort(), ['id', 'question']);
      });

      test('accepts a case-changed question and TCP works', async () => {
        const raw = await exchangeTcp(server(), buildQuery('1.COUNT.test', 'A'), { timeoutMs: 1000 });
        assert.equal(dnsPacket.decode(raw).answers?.length, 1);
      });
    });
  });
}
