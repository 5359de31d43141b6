import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { describe, test } from 'node:test';
import { loadUdpBatchAddon, type UdpBatchSocket, type UdpBatchSocketOptions } from '@kube-dns/daemon-kit';
import { missingUdpBatchAddon, waitUntil } from '../helpers/index.js';

// The addon on its own (native/udp_batch.c): batches, the shared memory protocol, queueing, lifetime, bad input.
const skip = missingUdpBatchAddon();
const loaded = loadUdpBatchAddon();
const addon = loaded.addon;

interface Received {
  data: Buffer;
  port: number;
  address: string;
}

/**
 * A socket that records every datagram of every batch and answers each with `reply(datagram)` (null: no reply),
 * through the shared memory exactly as the listener does.
 */
function open(options: Partial<UdpBatchSocketOptions> & { reply?: (datagram: Received) => Buffer | null } = {}): {
  socket: UdpBatchSocket;
  received: Received[];
  batches: number[];
  errors: number[];
} {
  const received: Received[] = [];
  const batches: number[] = [];
  const errors: number[] = [];
  const reply = options.reply ?? ((d: Received) => d.data);
  const self: { socket?: UdpBatchSocket } = {};
  const onBatch = (count: number): number => {
    const s = self.socket!;
    batches.push(count);
    const meta = new Int32Array(s.memory, s.inputMetaOffset, s.batchSize * 2);
    const outMeta = new Int32Array(s.memory, s.outputMetaOffset, s.batchSize * 3);
    const output = Buffer.from(s.memory, s.outputOffset, s.outputSize);
    let listed = 0;
    let used = 0;
    for (let slot = 0; slot < count; slot++) {
      const length = meta[slot * 2]!;
      const data = Buffer.from(Buffer.from(s.memory, s.inputOffset + slot * s.slotSize, length));
      const datagram = { data, port: meta[slot * 2 + 1]!, address: s.address(slot) };
      received.push(datagram);
      const answer = reply(datagram);
      if (answer === null) continue;
      if (used + answer.length > s.outputSize) {
        s.flush(listed);
        listed = 0;
        used = 0;
      }
      output.set(answer, used);
      outMeta.set([used, answer.length, slot], listed * 3);
      used += answer.length;
      listed++;
    }
    return listed;
  };
  const socket = new addon!.UdpBatchSocket({
    address: '127.0.0.1',
    port: 0,
    onBatch,
    onError: (code) => errors.push(code),
    ...options,
  });
  self.socket = socket;
  socket.start();
  return { socket, received, batches, errors };
}

/** A dgram client that collects what comes back. */
async function client(type: 'udp4' | 'udp6' = 'udp4'): Promise<{ socket: dgram.Socket; got: Buffer[] }> {
  const socket = dgram.createSocket(type);
  const got: Buffer[] = [];
  socket.on('message', (message) => got.push(message));
  await new Promise<void>((resolve) => socket.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve));
  return { socket, got };
}

/** Sends `count` datagrams to `port` within one tick (sendTo is a synchronous sendto), so they arrive as a batch. */
function burst(from: UdpBatchSocket, port: number, count: number, host = '127.0.0.1'): void {
  for (let i = 0; i < count; i++) assert.equal(from.sendTo(Buffer.from(`q${i}`), host, port), 0);
}

describe('udp_batch addon', { skip }, () => {
  test('a burst is read in a few recvmmsg calls and answered in a few sendmmsg calls', async () => {
    const server = open({ batchSize: 32, reply: (d) => Buffer.from(`a:${d.data.toString()}`) });
    const sender = open({ reply: () => null });
    try {
      burst(sender.socket, server.socket.port, 100);
      await waitUntil('100 answers', () => sender.received.length === 100);
      const answers = sender.received.map((d) => d.data.toString()).sort();
      assert.deepEqual(answers, Array.from({ length: 100 }, (_, i) => `a:q${i}`).sort());
      assert.ok(sender.received.every((d) => d.port === server.socket.port && d.address === '127.0.0.1'));
      assert.ok(server.received.every((d) => d.port === sender.socket.port && d.address === '127.0.0.1'));
      const stats = server.socket.stats();
      assert.equal(stats.received, 100);
      assert.equal(stats.sent, 100);
      assert.ok(stats.receiveCalls <= 8, `100 datagrams in ${stats.receiveCalls} recvmmsg calls`);
      assert.ok(stats.sendCalls <= 8, `100 replies in ${stats.sendCalls} sendmmsg calls`);
      assert.ok(Math.max(...server.batches) > 1, `batches: ${server.batches.join(',')}`);
      assert.deepEqual(server.errors, []);
    } finally {
      server.socket.close();
      sender.socket.close();
    }
  });

  test('replies the kernel does not take are queued, reading pauses, and all go out in order', async () => {
    const server = open({ batchSize: 64, testPartialSends: true });
    const sender = open({ reply: () => null });
    try {
      burst(sender.socket, server.socket.port, 40);
      await waitUntil('40 answers', () => sender.received.length === 40);
      const stats = server.socket.stats();
      assert.ok(stats.queued > 0, 'some replies were queued');
      assert.equal(stats.queuedNow, 0);
      assert.equal(stats.sent, 40);
      // One sender, one receiver on loopback: the queue keeps the order the replies were listed in.
      assert.deepEqual(
        sender.received.map((d) => d.data.toString()),
        server.received.map((d) => d.data.toString()),
      );
      // Reading resumes once the queue has drained.
      burst(sender.socket, server.socket.port, 5);
      await waitUntil('45 answers', () => sender.received.length === 45);
    } finally {
      server.socket.close();
      sender.socket.close();
    }
  });

  test('flush sends early when the output is full; one reply can be as large as a datagram gets', async () => {
    const big = Buffer.alloc(65507, 0xab);
    const server = open({ outputSize: 65536, reply: (d) => (d.data.length === 1 ? big : d.data) });
    const { socket, got } = await client();
    try {
      for (let i = 0; i < 3; i++) socket.send(Buffer.from('x'), server.socket.port, '127.0.0.1');
      await waitUntil('three 65507-octet answers', () => got.length === 3);
      assert.ok(got.every((m) => m.equals(big)));
      socket.send(big, server.socket.port, '127.0.0.1');
      await waitUntil('a 65507-octet query, echoed', () => got.length === 4);
      assert.equal(server.received.at(-1)!.data.length, 65507);
      assert.ok(got[3]!.equals(big));
    } finally {
      server.socket.close();
      socket.close();
    }
  });

  test('zero-length datagrams are read and can be answered with zero octets', async () => {
    const server = open();
    const { socket, got } = await client();
    try {
      socket.send(Buffer.alloc(0), server.socket.port, '127.0.0.1');
      await waitUntil('an empty answer', () => got.length === 1);
      assert.equal(got[0]!.length, 0);
      assert.equal(server.received[0]!.data.length, 0);
      assert.equal(server.socket.sendTo(Buffer.alloc(0), '127.0.0.1', socket.address().port), 0);
      await waitUntil('an empty sendTo', () => got.length === 2);
    } finally {
      server.socket.close();
      socket.close();
    }
  });

  test('sendTo sends later answers on their own', async () => {
    const server = open({ reply: () => null });
    const { socket, got } = await client();
    try {
      socket.send(Buffer.from('later'), server.socket.port, '127.0.0.1');
      await waitUntil('the query', () => server.received.length === 1);
      const { address, port } = server.received[0]!;
      assert.equal(server.socket.sendTo(Buffer.from('answer'), address, port), 0);
      await waitUntil('the answer', () => got.length === 1);
      assert.equal(got[0]!.toString(), 'answer');
      assert.equal(server.socket.sendTo(Buffer.alloc(70_000), address, port), -90 /* EMSGSIZE */);
    } finally {
      server.socket.close();
      socket.close();
    }
  });

  test('IPv6: binds ::1, reads sources, answers them', async () => {
    const server = open({ address: '::1' });
    const { socket, got } = await client('udp6');
    try {
      socket.send(Buffer.from('six'), server.socket.port, '::1');
      await waitUntil('the answer', () => got.length === 1);
      assert.equal(got[0]!.toString(), 'six');
      assert.equal(server.received[0]!.address, '::1');
      assert.equal(server.received[0]!.port, socket.address().port);
      assert.equal(server.socket.sendTo(Buffer.from('v4?'), '127.0.0.1', socket.address().port), -22 /* EINVAL */);
      const big = Buffer.alloc(65527, 6);
      socket.send(big, server.socket.port, '::1');
      await waitUntil('a 65527-octet answer', () => got.length === 2);
      assert.ok(got[1]!.equals(big));
    } finally {
      server.socket.close();
      socket.close();
    }
  });

  test('close while datagrams wait: nothing more is read, nothing crashes, later calls are harmless', async () => {
    const server = open();
    const sender = open({ reply: () => null });
    burst(sender.socket, server.socket.port, 10);
    server.socket.close();
    server.socket.close();
    server.socket.start();
    server.socket.flush(3);
    assert.equal(server.socket.sendTo(Buffer.from('x'), '127.0.0.1', sender.socket.port), -9 /* EBADF */);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(server.batches, []);
    assert.equal(server.socket.stats().received, 0);
    sender.socket.close();
  });

  test('close from inside a batch: the batch is not answered and nothing crashes', async () => {
    const self: { socket?: UdpBatchSocket } = {};
    const server = open({
      reply: (d) => {
        self.socket!.close();
        return d.data;
      },
    });
    self.socket = server.socket;
    const { socket: c, got } = await client();
    try {
      c.send(Buffer.from('one'), server.socket.port, '127.0.0.1');
      c.send(Buffer.from('two'), server.socket.port, '127.0.0.1');
      await waitUntil('the first datagram', () => server.received.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(got.length, 0);
      assert.equal(server.socket.stats().sent, 0);
    } finally {
      c.close();
    }
  });

  test('bad arguments throw or are refused; nothing crashes', () => {
    const Socket = addon!.UdpBatchSocket;
    const onBatch = (): number => 0;
    const onError = (): void => undefined;
    const base = { address: '127.0.0.1', port: 0, onBatch, onError };
    assert.throws(() => new (Socket as unknown as new () => unknown)(), TypeError);
    assert.throws(() => new Socket({ ...base, address: 'localhost' }), TypeError);
    assert.throws(() => new Socket({ ...base, address: `127.0.0.1${' '.repeat(100)}` }), TypeError);
    assert.throws(() => new Socket({ ...base, address: 7 as unknown as string }), TypeError);
    assert.throws(() => new Socket({ ...base, port: 70000 }), RangeError);
    assert.throws(() => new Socket({ ...base, batchSize: 0 }), RangeError);
    assert.throws(() => new Socket({ ...base, batchSize: 5000 }), RangeError);
    assert.throws(() => new Socket({ ...base, outputSize: 100 }), RangeError);
    assert.throws(() => new Socket({ ...base, onBatch: undefined as unknown as () => number }), RangeError);
    assert.throws(
      () => Reflect.apply(Reflect.get(Socket.prototype as object, 'stats') as () => unknown, {}, []),
      TypeError,
    );
    const s = new Socket(base);
    try {
      assert.throws(
        () => new Socket({ ...base, port: s.port }),
        (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE' && error.syscall === 'bind',
      );
      assert.throws(() => s.address(0), RangeError, 'no batch');
      assert.throws(() => s.address(-1), RangeError);
      assert.throws(() => s.sendTo('text' as unknown as Uint8Array, '127.0.0.1', 53), TypeError);
      assert.throws(() => s.sendTo(new Uint16Array(2) as unknown as Uint8Array, '127.0.0.1', 53), TypeError);
      assert.equal(s.sendTo(Buffer.from('x'), 'not an address', 53), -22);
      assert.equal(s.sendTo(Buffer.from('x'), '127.0.0.1', 0), -22);
      assert.equal(s.sendTo(Buffer.from('x'), '127.0.0.1', 65536), -22);
      s.flush(1_000_000);
      assert.equal(s.stats().sent, 0);
    } finally {
      s.close();
    }
  });

  test('what onBatch returns and lists is checked: bogus replies are skipped, good ones still go', async () => {
    let mode = 0;
    const self: { socket?: UdpBatchSocket } = {};
    const onBatch = (count: number): number => {
      const s = self.socket!;
      const outMeta = new Int32Array(s.memory, s.outputMetaOffset, s.batchSize * 3);
      Buffer.from(s.memory, s.outputOffset, 2).write('ok');
      // Every entry invalid (offset -1), so that a count past those listed finds nothing to send.
      outMeta.fill(-1);
      if (mode === 0) return -5;
      if (mode === 1) return 1e9;
      if (mode === 2) return 'three' as unknown as number;
      // Offsets, lengths and slots out of range, then one good reply.
      outMeta.set([-1, 2, 0, s.outputSize - 1, 2, 0, 0, -2, 0, 0, 2, count, 0, 2, -1, 0, 2, 0]);
      return 6;
    };
    const socket = new addon!.UdpBatchSocket({ address: '127.0.0.1', port: 0, onBatch, onError: () => undefined });
    self.socket = socket;
    socket.start();
    const { socket: c, got } = await client();
    try {
      for (mode = 0; mode < 3; mode++) {
        c.send(Buffer.from('q'), socket.port, '127.0.0.1');
        await waitUntil(`datagram ${mode + 1}`, () => socket.stats().received === mode + 1);
      }
      c.send(Buffer.from('q'), socket.port, '127.0.0.1');
      await waitUntil('the one good reply', () => got.length === 1);
      assert.equal(got[0]!.toString(), 'ok');
      assert.equal(socket.stats().sent, 1);
    } finally {
      socket.close();
      c.close();
    }
  });

  test('a throw in onBatch is an uncaughtException (as in a dgram listener); the socket keeps serving', () => {
    // In a process of its own: node:test would take the uncaught exception as this test's failure.
    const script = `
      const { UdpBatchSocket } = require(${JSON.stringify(loaded.addon === null ? '' : loaded.path)});
      const dgram = require('node:dgram');
      let batches = 0;
      const caught = [];
      process.on('uncaughtException', (error) => caught.push(error.message));
      const s = new UdpBatchSocket({ address: '127.0.0.1', port: 0, onError: () => {},
        onBatch: () => { if (++batches === 1) throw new Error('boom'); return 0; } });
      s.start();
      const c = dgram.createSocket('udp4');
      c.send('a', s.port, '127.0.0.1', () => setTimeout(() => c.send('b', s.port, '127.0.0.1'), 50));
      setTimeout(() => { console.log(JSON.stringify({ batches, caught })); s.close(); c.close(); }, 300);
    `;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { batches: 2, caught: ['boom'] });
  });

  test('the shared memory outlives the socket for as long as JS holds it', () => {
    const s = open().socket;
    const view = new Uint8Array(s.memory, s.outputOffset, 16);
    s.close();
    view.fill(7);
    assert.equal(view[15], 7);
  });
});

test('without the addon the loader says why, and never throws', () => {
  const missing = loadUdpBatchAddon('/nonexistent/udp_batch.node');
  assert.equal(missing.addon, null);
  assert.match((missing as { reason: string }).reason, /not built|not a/);
});
