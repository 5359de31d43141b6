import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TcpFrameReader, frameMessage } from '@kube-dns/daemon-kit';

const a = Buffer.from('first message');
const b = Buffer.from('second');
const stream = Buffer.concat([frameMessage(a), frameMessage(b)]);

test('one chunk with two messages', () => {
  assert.deepEqual(new TcpFrameReader().push(stream), [a, b]);
});

test('split at every possible point, including inside the length prefix', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const reader = new TcpFrameReader();
    const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
    assert.deepEqual(frames, [a, b], `cut at ${cut}`);
    assert.equal(reader.buffered, 0);
  }
});

test('one byte at a time', () => {
  const reader = new TcpFrameReader();
  const frames: Buffer[] = [];
  for (const byte of stream) frames.push(...reader.push(Buffer.from([byte])));
  assert.deepEqual(frames, [a, b]);
});

test('a length that lies waits for more data', () => {
  const reader = new TcpFrameReader();
  assert.deepEqual(reader.push(Buffer.from([0xff, 0xff, 1, 2, 3])), []);
  assert.equal(reader.buffered, 5);
});
