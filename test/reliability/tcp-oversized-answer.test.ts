import assert from 'node:assert/strict';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { silentLogger, startDnsListener } from '@kube-dns/daemon-kit';
import { queryDns } from '../helpers/index.js';

/**
 * Regression (found with a hostile apiserver's 5,000-endpoint headless service): an answer larger than a
 * TCP message can be (65535 octets) was replaced by SERVFAIL, so the name could not be resolved at all
 * (UDP said TC, TCP said SERVFAIL). Now TCP keeps the whole records that fit and sets TC, as UDP does.
 */
test('daemon-kit listener: a TCP answer over 65535 octets keeps the records that fit, with TC, instead of SERVFAIL', async (t) => {
  const listener = await startDnsListener({
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    handler: (request) => {
      const question = dnsPacket.decode(request.query).questions!;
      return dnsPacket.encode({
        type: 'response',
        id: request.view.id,
        flags: dnsPacket.AUTHORITATIVE_ANSWER,
        questions: question,
        answers: Array.from({ length: 5000 }, (_, i) => ({
          type: 'A' as const,
          name: question[0]!.name,
          ttl: 30,
          data: `10.50.${i >> 8}.${i & 255}`,
        })),
      });
    },
  });
  t.after(() => listener.close());
  const server = { host: '127.0.0.1', port: listener.port };
  const tcp = await queryDns(server, 'big.example', 'A', { tcp: true });
  assert.equal(tcp.rcode, 'NOERROR');
  assert.equal(tcp.flags.tc, true);
  assert.ok(tcp.raw.length <= 65535);
  const count = tcp.packet.answers!.length;
  assert.ok(count > 1000 && count < 5000, `${count} whole records`);
  const udp = await queryDns(server, 'big.example', 'A', { edns: 1232 });
  assert.equal(udp.rcode, 'NOERROR');
  assert.equal(udp.flags.tc, true);
  assert.ok(udp.raw.length <= 1232);
});
