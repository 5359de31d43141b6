import dgram from 'node:dgram';
import { skipName } from '@kube-dns/daemon-kit';

export interface StubUpstream {
  port: number;
  /** Queries answered so far. */
  readonly answered: number;
  close(): Promise<void>;
}

/** One A record for the question's name: 192.0.2.1, TTL one day (nothing expires during a run). */
const A_RECORD = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 1, 0x51, 0x80, 0, 4, 192, 0, 2, 1]);

/**
 * The upstream the two caches share in the cache-hit benchmark: answers every question with NOERROR and one
 * A record (RD/RA set, the question echoed). Runs in the benchmark's process; it only serves the warm-up.
 */
export async function startStubUpstream(): Promise<StubUpstream> {
  const socket = dgram.createSocket('udp4');
  let answered = 0;
  socket.on('message', (query, remote) => {
    const nameEnd = skipName(query, 12);
    if (query.length < 12 || nameEnd < 0 || nameEnd + 4 > query.length) return;
    const questionEnd = nameEnd + 4;
    const out = Buffer.concat([query.subarray(0, questionEnd), A_RECORD]);
    out[2] = 0x81 | (query[2]! & 0x78); // QR, opcode, RD
    out[3] = 0x80; // RA, NOERROR
    out.writeUInt16BE(1, 6);
    out.writeUInt16BE(0, 8);
    out.writeUInt16BE(0, 10);
    answered++;
    socket.send(out, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    get answered() {
      return answered;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
