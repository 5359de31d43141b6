import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQuery, silentLogger, type DnsRequest, type QueryView, type Transport } from '@kube-dns/daemon-kit';
import { createKubeDnsHandler, RecordStore, type DnsForwarder } from '@kube-dns/kubedns';
import { header, question, wireName } from './support/fuzz-packets.js';

/**
 * Regression (found by the fuzz campaign): a question whose labels hold octets above 0x7f took the
 * dns-packet slow path, which reads labels as UTF-8 and wrote each such octet back as EF BF BD, so the
 * answer's question differed from the query's and resolvers dropped it.
 */

const neverForward: DnsForwarder = {
  routingVersion: 0,
  stubFor: () => null,
  forward: (_query: Buffer, _view: QueryView, _transport: Transport) => Promise.reject(new Error('not forwarded')),
  lookup: () => Promise.resolve(null),
};

function request(query: Buffer): DnsRequest {
  const parsed = parseQuery(query);
  assert.ok(parsed.ok);
  return { query, view: parsed.view, transport: 'udp', remoteAddress: '127.0.0.1', remotePort: 5353, maxSize: 512 };
}

test('kube-dns echoes a question with binary and escaped labels octet for octet (slow path)', async () => {
  const store = new RecordStore({ zone: 'cluster.local', ttl: 30, negativeTtl: 5, podRecords: 'insecure' });
  store.upsertNamespace('default');
  store.markSynced();
  const handler = createKubeDnsHandler({
    store,
    forwarder: neverForward,
    zone: 'cluster.local',
    ttl: 30,
    negativeTtl: 5,
    logger: silentLogger,
  });
  const labels = [
    [Buffer.from([0x46, 0xbf, 0x39, 0xff, 0x80]), 'default', 'svc', 'cluster', 'local'],
    [Buffer.from('a.b', 'latin1'), 'Default', 'SVC', 'cluster', 'local'],
    [Buffer.from([0x00, 0x20, 0x7f]), 'cluster', 'local'],
  ];
  for (const name of labels) {
    const query = Buffer.concat([header({ id: 0x1234 }), question(wireName(name), 1)]);
    const response = await handler(request(query));
    assert.ok(response !== null);
    assert.equal(response.readUInt16BE(4), 1, 'one question');
    assert.deepEqual(response.subarray(12, query.length), query.subarray(12), 'question echoed octet for octet');
    assert.equal(response[3]! & 0xf, 3, 'NXDOMAIN: no such name in the zone');
  }
});
