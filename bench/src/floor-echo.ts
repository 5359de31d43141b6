/**
 * The floor under any Node DNS server: a raw `dgram` server that answers every query with the bytes a cache hit
 * sends (the question echoed, QR/RD/RA, one A record) and does nothing else: no parsing, no lookup, no metrics.
 * Run as a process of its own (`node bench/dist/floor-echo.js <port>`), beside dnsmasq and dnsmasq-cache in the
 * cache-hit benchmark, so the table shows how much of the gap to dnsmasq is Node itself.
 * With a second argument `batched` the same replies go through daemon-kit's batched UDP I/O (recvmmsg/sendmmsg,
 * the listener's default when the addon is built) instead: the floor under dnsmasq-cache as it runs now.
 */
import dgram from 'node:dgram';
import { BatchedUdpEndpoint, loadUdpBatchAddon } from '@kube-dns/daemon-kit';

const A_RECORD = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 1, 0x51, 0x80, 0, 4, 192, 0, 2, 1]);
const port = Number(process.argv[2]);

function reply(query: Buffer): Buffer {
  const out = Buffer.allocUnsafe(query.length + A_RECORD.length);
  query.copy(out);
  A_RECORD.copy(out, query.length);
  out[2] = 0x80 | (query[2]! & 0x79);
  out[3] = 0x80;
  out[7] = 1;
  return out;
}

if (process.argv[3] === 'batched') {
  const loaded = loadUdpBatchAddon();
  if (loaded.addon === null) throw new Error(`floor-echo: batched UDP I/O ${loaded.reason}`);
  new BatchedUdpEndpoint(loaded.addon, {
    host: '127.0.0.1',
    port,
    handlers: { fast: reply, normal: () => undefined, error: () => undefined },
  });
} else {
  // Replies go back to the IP the query came from: no dns.lookup (and no extra tick) per send, as daemon-kit.
  const socket = dgram.createSocket({
    type: 'udp4',
    lookup: (address: string, _family: unknown, callback: (e: null, a: string, f: number) => void) =>
      callback(null, address, 4),
  });
  socket.on('message', (query, remote) => socket.send(reply(query), remote.port, remote.address));
  socket.bind(port, '127.0.0.1');
}
