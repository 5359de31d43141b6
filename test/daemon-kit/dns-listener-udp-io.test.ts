import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import {
  chooseUdpIo,
  Flag,
  parseUdpIoMode,
  silentLogger,
  startDnsListener,
  type DnsListener,
  type DnsRequest,
} from '@kube-dns/daemon-kit';
import { buildQuery, captureLog, missingUdpBatchAddon, UDP_IO_KINDS, waitUntil } from '../helpers/index.js';

// The listener's UDP paths under both UDP I/O implementations: the fast path, the handler answering at once and
// later, in one burst from one client, over IPv6; which implementation is chosen and how it is said.

/** A response to `query` with `flags` (AA marks the fast path's answers, so each can be told apart). */
function respond(query: Buffer, flags: number): Buffer {
  const decoded = dnsPacket.decode(query);
  return dnsPacket.encode({ type: 'response', id: decoded.id!, flags, questions: decoded.questions! });
}

function handler(request: DnsRequest): Buffer | Promise<Buffer> {
  const response = respond(request.query, 0);
  if (request.view.qname.startsWith('later')) return new Promise((resolve) => setImmediate(() => resolve(response)));
  return response;
}

/** Answers `fast-*` names only; must not keep `query` (UdpFastPath's contract). */
function fastPath(query: Buffer): Buffer | null {
  return query.includes('fast') ? respond(query, Flag.AA) : null;
}

for (const udpIo of UDP_IO_KINDS) {
  describe(`UDP paths, UDP I/O ${udpIo}`, { skip: udpIo === 'batched' && missingUdpBatchAddon() }, () => {
    let listener: DnsListener;
    after(() => listener?.close());

    test('fast, at-once and later answers to one client over IPv6: every query answered, each by its path', async () => {
      listener = await startDnsListener({
        host: '::1',
        port: 0,
        handler,
        udpFastPath: fastPath,
        logger: silentLogger,
        udpIo,
      });
      assert.equal(listener.udpIo, udpIo);
      const client = dgram.createSocket('udp6');
      const answers = new Map<number, Buffer>();
      client.on('message', (message) => answers.set(message.readUInt16BE(0), message));
      await new Promise<void>((resolve) => client.bind(0, '::1', resolve));
      const sent = new Map<number, string>();
      const kinds = ['fast', 'now', 'later'];
      // Waves of 50: a burst much larger overflows the socket's receive buffer (about 256 small datagrams).
      try {
        for (let i = 0; sent.size < 300; i++) {
          const name = `${kinds[i % 3]}-${i}.test`;
          const query = buildQuery(name, 'A');
          const id = query.readUInt16BE(0);
          if (sent.has(id)) continue;
          sent.set(id, name);
          client.send(query, listener.port, '::1');
          if (sent.size % 50 === 0) {
            const wave = sent.size;
            await waitUntil(`${wave} answers`, () => answers.size === wave);
          }
        }
      } finally {
        client.close();
      }
      for (const [id, name] of sent) {
        const answer = dnsPacket.decode(answers.get(id)!);
        assert.equal(answer.questions![0]!.name, name);
        assert.equal(answer.flags! & Flag.AA ? 'fast' : 'normal', name.startsWith('fast') ? 'fast' : 'normal', name);
      }
    });
  });
}

describe('choosing the UDP I/O', () => {
  const built = () => ({ addon: {} as never, path: '/x/udp_batch.node' });
  const notBuilt = () => ({ addon: null, reason: 'not built (no /x/udp_batch.node)' });

  test('DNS_UDP_IO values', () => {
    assert.equal(parseUdpIoMode('dgram'), 'dgram');
    assert.equal(parseUdpIoMode('batched'), 'batched');
    assert.equal(parseUdpIoMode('auto'), 'auto');
    assert.equal(parseUdpIoMode('Batched'), undefined);
    assert.equal(parseUdpIoMode(undefined), undefined);
  });

  test('auto is batched when the addon loads and the host is an IP literal, else dgram with the reason', () => {
    assert.equal(chooseUdpIo('auto', '127.0.0.1', built).kind, 'batched');
    assert.equal(chooseUdpIo('auto', '::', built).kind, 'batched');
    const missing = chooseUdpIo('auto', '127.0.0.1', notBuilt);
    assert.deepEqual(missing, { kind: 'dgram', why: 'batched UDP I/O not built (no /x/udp_batch.node)' });
    assert.equal(chooseUdpIo('auto', 'localhost', built).kind, 'dgram');
    assert.equal(chooseUdpIo('dgram', '127.0.0.1', built).kind, 'dgram');
  });

  test('batched asked for and not available: dgram, marked as refused', () => {
    const choice = chooseUdpIo('batched', '127.0.0.1', notBuilt);
    assert.equal(choice.kind, 'dgram');
    assert.match((choice as { refused?: string }).refused ?? '', /not built/);
  });

  test('one startup line says which is used; DNS_UDP_IO is read when udpIo is not given', async () => {
    const previous = process.env['DNS_UDP_IO'];
    try {
      process.env['DNS_UDP_IO'] = 'dgram';
      const log = captureLog('info');
      const listener = await startDnsListener({ host: '127.0.0.1', port: 0, handler, logger: log.logger });
      await listener.close();
      assert.equal(listener.udpIo, 'dgram');
      assert.equal(log.matching('UDP I/O').length, 1);
      assert.equal(log.matching('UDP I/O: node:dgram')[0]!['reason'], 'DNS_UDP_IO=dgram');

      process.env['DNS_UDP_IO'] = 'sideways';
      const bad = captureLog('info');
      const other = await startDnsListener({ host: '127.0.0.1', port: 0, handler, logger: bad.logger });
      await other.close();
      assert.equal(bad.matching('DNS_UDP_IO must be').length, 1);
      assert.equal(other.udpIo, missingUdpBatchAddon() ? 'dgram' : 'batched');
      assert.equal(bad.matching(other.udpIo === 'batched' ? 'UDP I/O: batched' : 'UDP I/O: node:dgram').length, 1);
    } finally {
      if (previous === undefined) delete process.env['DNS_UDP_IO'];
      else process.env['DNS_UDP_IO'] = previous;
    }
  });
});
