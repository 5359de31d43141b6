import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { encodeName, Flag, randomQueryId, RRClass, RRType, type UpstreamServer } from '@kube-dns/daemon-kit';
import { serverLabel } from './routing.js';

/** dnsmasq LOOP_TEST_DOMAIN / LOOP_TEST_TYPE: `<8 hex digits>.test` TXT (RFC 2606 reserves `test`). */
const PROBE = /^([0-9a-f]{8})\.test$/;

/**
 * `--dns-loop-detect` as dnsmasq does it (loop.c): each time the default servers change, every one of them gets a
 * `<uid>.test` TXT query whose uid names that server. If such a query ever arrives at our own listener, that server
 * forwards our queries back to us: it is disabled (until the next server change re-tests all) and the query dropped.
 */
export class LoopDetector {
  private uids = new Map<string, string>();
  private readonly disabledLabels = new Set<string>();

  /** Server labels (`ip#port`) found looping. */
  get disabled(): ReadonlySet<string> {
    return this.disabledLabels;
  }

  /** Forgets earlier findings and probes each server with a fresh uid. Probe answers are not read. */
  probe(servers: readonly UpstreamServer[]): void {
    this.disabledLabels.clear();
    this.uids = new Map();
    for (const server of servers) {
      const uid = randomBytes(4).toString('hex');
      this.uids.set(uid, serverLabel(server));
      sendProbe(server, probeQuery(uid));
    }
  }

  /**
   * Checks an incoming query: if it is one of our probes, marks its server looping and returns the server's label
   * (the caller drops the query and reroutes); null for anything else.
   */
  check(qname: string, qtype: number): string | null {
    if (qtype !== RRType.TXT || qname.length !== 13) return null;
    const match = PROBE.exec(qname);
    if (match === null) return null;
    const label = this.uids.get(match[1]!);
    if (label === undefined || this.disabledLabels.has(label)) return null;
    this.disabledLabels.add(label);
    return label;
  }
}

/** The probe message for one uid. */
export function probeQuery(uid: string): Buffer {
  const name = encodeName(`${uid}.test`);
  const query = Buffer.alloc(12 + name.length + 4);
  query.writeUInt16BE(randomQueryId(), 0);
  query.writeUInt16BE(Flag.RD, 2);
  query.writeUInt16BE(1, 4);
  name.copy(query, 12);
  query.writeUInt16BE(RRType.TXT, 12 + name.length);
  query.writeUInt16BE(RRClass.IN, 14 + name.length);
  return query;
}

function sendProbe(server: UpstreamServer, query: Buffer): void {
  const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    socket.close();
  };
  // An unreachable server is no loop: the error only ends the probe.
  socket.on('error', close);
  socket.send(query, server.port, server.host, (error) => {
    if (error) {
      close();
      return;
    }
    // The answer does not matter; give a looping path time to bring the query back, then let go of the port.
    setTimeout(close, 2000).unref();
  });
}
