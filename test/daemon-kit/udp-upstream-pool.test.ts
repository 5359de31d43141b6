import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import type { RecordType } from 'dns-packet';
import {
  ExchangeError,
  HEADER_LENGTH,
  RawQuestion,
  sameQuestion,
  UdpUpstreamPool,
  validateResponse,
  type RejectReason,
  type UdpUpstreamPoolOptions,
  type UpstreamServer,
} from '@kube-dns/daemon-kit';
import {
  buildQuery,
  rr,
  startFakeUpstream,
  type FakeReply,
  type FakeUpstream,
  type FakeUpstreamHandler,
  type ReceivedQuery,
} from '../helpers/index.js';

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function newPool(options: UdpUpstreamPoolOptions = {}): { pool: UdpUpstreamPool; rejected: RejectReason[] } {
  const rejected: RejectReason[] = [];
  const pool = new UdpUpstreamPool({ onRejectedResponse: (reason) => rejected.push(reason), ...options });
  cleanups.push(() => pool.close());
  return { pool, rejected };
}

async function upstream(handler: FakeUpstreamHandler, host = '127.0.0.1'): Promise<FakeUpstream> {
  const server = await startFakeUpstream(handler, { host, tcp: false });
  cleanups.push(() => server.close());
  return server;
}

const answering = (q: ReceivedQuery): FakeReply => ({ answers: [rr(q.name, 'A', '192.0.2.1', 60)] });

function answerOf(raw: Buffer): string[] {
  return (dnsPacket.decode(raw).answers ?? []).map(
    (a) => `${a.name} ${a.type} ${String((a as { data: unknown }).data)}`,
  );
}

/** A bare UDP socket bound on loopback: a scripted upstream or an attacker. */
async function bareSocket(address = '127.0.0.1', port = 0): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address, port }, () => resolve());
  });
  cleanups.push(() => socket.close());
  return socket;
}

function nextDatagram(socket: dgram.Socket): Promise<{ message: Buffer; rinfo: dgram.RemoteInfo }> {
  return new Promise((resolve) => socket.once('message', (message, rinfo) => resolve({ message, rinfo })));
}

/** A response to `query` (its ID, its question unless overridden), with one A record. */
function responseTo(query: Buffer, overrides: { id?: number; name?: string; type?: RecordType; qr?: boolean } = {}) {
  const question = dnsPacket.decode(query).questions![0]!;
  const name = overrides.name ?? question.name;
  const bytes = dnsPacket.encode({
    type: 'response',
    id: overrides.id ?? query.readUInt16BE(0),
    flags: dnsPacket.RECURSION_AVAILABLE | dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: overrides.type ?? question.type, class: 'IN' }],
    answers: [{ name, type: 'A', ttl: 60, data: '192.0.2.99' }],
  });
  if (overrides.qr === false) bytes[2]! &= 0x7f;
  return bytes;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof ExchangeError && error.code === code);
}

describe('UdpUpstreamPool: sockets, ports and IDs', () => {
  test('answers come back; source ports rotate after N queries per socket and after T ms', async () => {
    const server = await upstream(answering);
    const { pool } = newPool({ socketsPerFamily: 2, maxQueriesPerSocket: 5 });
    for (let i = 0; i < 40; i++) {
      const raw = await pool.exchange(server.server, buildQuery(`n${i}.example.com`, 'A'), { timeoutMs: 2000 });
      assert.deepEqual(answerOf(raw), [`n${i}.example.com A 192.0.2.1`]);
    }
    const ports = new Set(server.queries.map((q) => q.remotePort));
    assert.ok(pool.stats().opened >= 8, `opened ${pool.stats().opened} sockets for 40 queries at 5 each`);
    assert.ok(ports.size >= 6, `source ports ${[...ports].join(',')}`);
    assert.ok(pool.stats().sockets <= 2, 'spent sockets are closed once drained');

    const aged = newPool({ socketsPerFamily: 1, maxSocketAgeMs: 40 }).pool;
    await aged.exchange(server.server, buildQuery('age1.example.com', 'A'), { timeoutMs: 2000 });
    await aged.exchange(server.server, buildQuery('age2.example.com', 'A'), { timeoutMs: 2000 });
    assert.equal(aged.stats().opened, 1, 'young socket reused');
    await new Promise((resolve) => setTimeout(resolve, 60));
    await aged.exchange(server.server, buildQuery('age3.example.com', 'A'), { timeoutMs: 2000 });
    assert.equal(aged.stats().opened, 2, 'a socket older than maxSocketAgeMs takes no new query');
    const [age2, age3] = [server.queriesFor('age2.example.com')[0]!, server.queriesFor('age3.example.com')[0]!];
    assert.notEqual(age2.remotePort, age3.remotePort);
  });

  test('IDs never repeat on one socket while in flight; at most socketsPerFamily ports at once', async () => {
    // 1,000 queries in flight on one socket: random IDs without the uniqueness check would collide (p ≈ 0.9995).
    // The server holds every answer until all queries are in, then answers in small batches (no buffer overflows).
    const server = await bareSocket();
    const target: UpstreamServer = { host: '127.0.0.1', port: server.address().port };
    const received: Array<{ message: Buffer; rinfo: dgram.RemoteInfo }> = [];
    server.on('message', (message, rinfo) => received.push({ message, rinfo }));
    const { pool, rejected } = newPool({ socketsPerFamily: 1, maxQueriesPerSocket: 100_000 });
    const names = Array.from({ length: 1000 }, (_, i) => `id${i}.example.com`);
    const answers: Array<Promise<Buffer>> = [];
    for (let i = 0; i < names.length; i += 50) {
      for (const name of names.slice(i, i + 50)) {
        answers.push(pool.exchange(target, buildQuery(name, 'A'), { timeoutMs: 10_000 }));
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    for (let i = 0; i < 500 && received.length < names.length; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(received.length, names.length);
    assert.equal(pool.stats().pending, names.length, 'all in flight at once');
    assert.equal(new Set(received.map((r) => r.rinfo.port)).size, 1);
    assert.equal(new Set(received.map((r) => r.message.readUInt16BE(0))).size, 1000, 'every query had its own ID');
    for (let i = 0; i < received.length; i += 25) {
      for (const { message, rinfo } of received.slice(i, i + 25))
        server.send(responseTo(message), rinfo.port, rinfo.address);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    (await Promise.all(answers)).forEach((raw, i) => assert.deepEqual(answerOf(raw), [`${names[i]} A 192.0.2.99`]));
    assert.deepEqual(rejected, []);

    const slow = await upstream((q) => ({ ...answering(q), delayMs: 100 }));
    const three = newPool({ socketsPerFamily: 3, maxQueriesPerSocket: 100_000 }).pool;
    await Promise.all(
      names.slice(0, 60).map((name) => three.exchange(slow.server, buildQuery(name, 'A'), { timeoutMs: 5000 })),
    );
    const ports = new Set(slow.queries.map((q) => q.remotePort));
    assert.ok(ports.size >= 1 && ports.size <= 3, `ports ${[...ports].join(',')}`);
    assert.ok(three.stats().opened <= 3);
  });
});

describe('UdpUpstreamPool: forged answers', () => {
  test('wrong port, wrong address, wrong ID, wrong question, not a response: rejected; the real answer taken', async () => {
    const server = await bareSocket();
    const port = server.address().port;
    const otherPort = await bareSocket();
    // The same port on another loopback address.
    const otherAddress = await bareSocket('127.0.0.2', port).catch(() => null);
    const { pool, rejected } = newPool({ socketsPerFamily: 1 });
    const target: UpstreamServer = { host: '127.0.0.1', port };
    const arrived = nextDatagram(server);
    const answer = pool.exchange(target, buildQuery('Victim.Example.com', 'A'), { timeoutMs: 3000 });
    const { message: query, rinfo } = await arrived;
    const id = query.readUInt16BE(0);
    const send = (socket: dgram.Socket, bytes: Buffer) =>
      new Promise<void>((resolve) => socket.send(bytes, rinfo.port, rinfo.address, () => resolve()));
    await send(otherPort, responseTo(query));
    if (otherAddress !== null) await send(otherAddress, responseTo(query));
    await send(server, responseTo(query, { id: (id + 1) & 0xffff }));
    await send(server, responseTo(query, { name: 'other.example.com' }));
    await send(server, responseTo(query, { type: 'AAAA' }));
    await send(server, responseTo(query, { qr: false }));
    await send(server, Buffer.from([query[0]!, query[1]!, 0x81]));
    // The genuine answer, its name in other letter case (0x20 randomisation is legal).
    await send(server, responseTo(query, { name: 'vICTIM.example.COM' }));
    assert.deepEqual(answerOf(await answer), ['vICTIM.example.COM A 192.0.2.99']);
    const expected: RejectReason[] = ['source', 'id', 'question', 'question', 'malformed', 'malformed'];
    if (otherAddress !== null) expected.splice(1, 0, 'source');
    assert.deepEqual(rejected, expected);
    // A socket that saw forgeries takes no new query: the next one goes out from another port.
    const next = nextDatagram(server);
    const second = pool.exchange(target, buildQuery('next.example.com', 'A'), { timeoutMs: 3000 });
    const { message: secondQuery, rinfo: secondFrom } = await next;
    assert.notEqual(secondFrom.port, rinfo.port);
    server.send(responseTo(secondQuery), secondFrom.port, secondFrom.address);
    assert.equal(answerOf(await second).length, 1);
    assert.equal(pool.stats().sockets, 1, 'the retired socket closed once drained');
  });

  test('a right ID with another in-flight query’s question is rejected; both queries get their own answers', async () => {
    const server = await bareSocket();
    const target: UpstreamServer = { host: '127.0.0.1', port: server.address().port };
    const { pool, rejected } = newPool({ socketsPerFamily: 1 });
    const received: Array<{ message: Buffer; rinfo: dgram.RemoteInfo }> = [];
    server.on('message', (message, rinfo) => received.push({ message, rinfo }));
    const a = pool.exchange(target, buildQuery('a.example.com', 'A'), { timeoutMs: 3000 });
    const b = pool.exchange(target, buildQuery('b.example.com', 'A'), { timeoutMs: 3000 });
    while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    const [qa, qb] = received.map((r) => r.message) as [Buffer, Buffer];
    const to = received[0]!.rinfo;
    // A's ID with B's question, then B's ID with A's question.
    server.send(responseTo(qa, { name: 'b.example.com' }), to.port, to.address);
    server.send(responseTo(qb, { name: 'a.example.com' }), to.port, to.address);
    server.send(responseTo(qb), to.port, to.address);
    server.send(responseTo(qa), to.port, to.address);
    assert.deepEqual(answerOf(await a), ['a.example.com A 192.0.2.99']);
    assert.deepEqual(answerOf(await b), ['b.example.com A 192.0.2.99']);
    assert.deepEqual(rejected, ['question', 'question']);
  });

  test('a flood of forgeries during a pending query: only the genuine answer is taken', async () => {
    // 2,000 forgeries with other IDs from the server's port, a right one from another port, a right ID with
    // another question; sent in batches (pool and server share this process: one burst would overflow the buffer).
    const server = await bareSocket();
    const attacker = await bareSocket();
    const target: UpstreamServer = { host: '127.0.0.1', port: server.address().port };
    const { pool, rejected } = newPool({ socketsPerFamily: 1 });
    const arrived = nextDatagram(server);
    const answer = pool.exchange(target, buildQuery('flood.example.com', 'A'), { timeoutMs: 10_000 });
    const { message: query, rinfo } = await arrived;
    const id = query.readUInt16BE(0);
    for (let i = 1; i <= 2000; i++) {
      server.send(responseTo(query, { id: (id + i) & 0xffff }), rinfo.port, rinfo.address);
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    attacker.send(responseTo(query), rinfo.port, rinfo.address);
    server.send(responseTo(query, { name: 'x.example.com' }), rinfo.port, rinfo.address);
    await new Promise((resolve) => setTimeout(resolve, 5));
    server.send(responseTo(query, { name: 'FLOOD.example.com' }), rinfo.port, rinfo.address);
    assert.deepEqual(answerOf(await answer), ['FLOOD.example.com A 192.0.2.99']);
    assert.ok(rejected.length > 1000 && rejected.length <= 2002, `${rejected.length} rejected`);
    assert.ok(rejected.includes('source') && rejected.includes('question'));
    assert.equal(pool.stats().pending, 0);
  });

  test('a late answer after the timeout is rejected, not taken by a later query', async () => {
    const server = await bareSocket();
    const target: UpstreamServer = { host: '127.0.0.1', port: server.address().port };
    const { pool, rejected } = newPool({ socketsPerFamily: 1 });
    const arrived = nextDatagram(server);
    const first = pool.exchange(target, buildQuery('late.example.com', 'A'), { timeoutMs: 30 });
    const { message, rinfo } = await arrived;
    await rejectsWith(first, 'ERR_UPSTREAM_TIMEOUT');
    await new Promise<void>((resolve) => server.send(responseTo(message), rinfo.port, rinfo.address, () => resolve()));
    for (let i = 0; i < 100 && rejected.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(rejected, ['id']);
  });
});

describe('UdpUpstreamPool: timeouts, aborts, close', () => {
  test('a timeout rejects after timeoutMs (never early) and frees the query', async () => {
    const silent = await upstream(() => ({ drop: true }));
    const { pool } = newPool();
    const started = performance.now();
    await rejectsWith(
      pool.exchange(silent.server, buildQuery('t.example.com', 'A'), { timeoutMs: 120 }),
      'ERR_UPSTREAM_TIMEOUT',
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 119 && elapsed < 400, `timed out after ${Math.round(elapsed)} ms`);
    assert.equal(pool.stats().pending, 0);
    // Different timeouts in flight at once each fire on time.
    const times = await Promise.all(
      [60, 180, 30].map(async (timeoutMs, i) => {
        const t0 = performance.now();
        await rejectsWith(
          pool.exchange(silent.server, buildQuery(`t${i}.example.com`, 'A'), { timeoutMs }),
          'ERR_UPSTREAM_TIMEOUT',
        );
        return [timeoutMs, performance.now() - t0] as const;
      }),
    );
    for (const [timeoutMs, ms] of times) assert.ok(ms >= timeoutMs - 1 && ms < timeoutMs + 250, `${timeoutMs}: ${ms}`);
  });

  test('an abort rejects at once and frees the query; an already aborted signal sends nothing', async () => {
    const silent = await upstream(() => ({ drop: true }));
    const { pool } = newPool();
    const controller = new AbortController();
    const pending = pool.exchange(silent.server, buildQuery('a.example.com', 'A'), {
      timeoutMs: 5000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    const started = performance.now();
    await rejectsWith(pending, 'ERR_UPSTREAM_ABORTED');
    assert.ok(performance.now() - started < 1000);
    assert.equal(pool.stats().pending, 0);
    const sent = silent.queries.length;
    await rejectsWith(
      pool.exchange(silent.server, buildQuery('b.example.com', 'A'), { timeoutMs: 5000, signal: controller.signal }),
      'ERR_UPSTREAM_ABORTED',
    );
    assert.equal(silent.queries.length, sent);
  });

  test('close() rejects pending queries and closes every socket; later exchanges are refused', async () => {
    const silent = await upstream(() => ({ drop: true }));
    const { pool } = newPool();
    const pending = [1, 2, 3].map((i) =>
      pool.exchange(silent.server, buildQuery(`c${i}.example.com`, 'A'), { timeoutMs: 5000 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(pool.stats().sockets >= 1);
    pool.close();
    for (const p of pending) await rejectsWith(p, 'ERR_UPSTREAM_ABORTED');
    assert.deepEqual(pool.stats().sockets, 0);
    await rejectsWith(
      pool.exchange(silent.server, buildQuery('late.example.com', 'A'), { timeoutMs: 100 }),
      'ERR_UPSTREAM_ABORTED',
    );
  });

  test('IPv6 servers get udp6 sockets', async (t) => {
    let server: FakeUpstream;
    try {
      server = await upstream(answering, '::1');
    } catch {
      t.skip('no IPv6 loopback (::1)');
      return;
    }
    const { pool } = newPool();
    const raw = await pool.exchange(server.server, buildQuery('v6.example.com', 'A'), { timeoutMs: 2000 });
    assert.deepEqual(answerOf(raw), ['v6.example.com A 192.0.2.1']);
    assert.equal(server.queries[0]!.remoteAddress, '::1');
  });
});

describe('sameQuestion: the pool’s octet comparison agrees with validateResponse', () => {
  test('on genuine answers in any letter case and on thousands of mutated ones', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
    const question = new RawQuestion();
    let accepted = 0;
    for (let round = 0; round < 3000; round++) {
      const labels = Array.from({ length: 1 + random(4) }, () =>
        Array.from({ length: 1 + random(12) }, () => alphabet[random(alphabet.length)]).join(''),
      );
      const name = labels.join('.');
      const query = buildQuery(name, random(2) === 0 ? 'A' : 'AAAA');
      assert.ok(question.scan(query));
      const questionEnd = question.nameEnd + 4;
      const response = responseTo(query, {
        name: [...name].map((c) => (random(2) === 0 ? c.toUpperCase() : c.toLowerCase())).join(''),
      });
      assert.equal(sameQuestion(response, query, questionEnd), true, name);
      assert.equal(validateResponse(response, query), null);
      // Mutations in the header and question: whatever sameQuestion accepts, validateResponse accepts too.
      // (The ID is not sameQuestion's business: the pool found the query by it.)
      for (let m = 0; m < 8; m++) {
        const mutated = Buffer.from(response);
        const at = 2 + random(Math.min(questionEnd + 2, mutated.length) - 2);
        mutated[at] = random(256);
        if (random(4) === 0) mutated[HEADER_LENGTH + random(questionEnd - HEADER_LENGTH)]! ^= 0x20;
        if (sameQuestion(mutated, query, questionEnd)) {
          accepted++;
          assert.equal(validateResponse(mutated, query), null, `${name}: ${mutated.toString('hex')}`);
        }
      }
      assert.equal(sameQuestion(response.subarray(0, questionEnd - 1), query, questionEnd), false);
      assert.equal(sameQuestion(response, query, 0), false, 'not plain: left to validateResponse');
    }
    assert.ok(accepted > 1000, `${accepted} mutations accepted (case changes, answer bytes, header flags)`);
  });
});
