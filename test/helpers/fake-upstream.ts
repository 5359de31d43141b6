import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import { frameMessage, TcpFrameReader, type UpstreamServer } from '@kube-dns/daemon-kit';
import { bindSamePort } from './same-port-sockets.js';

/** A query the fake upstream received. */
export interface ReceivedQuery {
  raw: Buffer;
  packet: DecodedPacket;
  /** Lower-cased question name, type and class, for quick assertions. */
  name: string;
  type: string;
  qclass: string;
  transport: 'udp' | 'tcp';
  remoteAddress: string;
  remotePort: number;
  /** performance.now() at arrival. */
  at: number;
}

/**
 * What the fake upstream does with one query. By default it answers NOERROR with RA set, the query's ID and
 * question, and the given sections. Everything can be broken on purpose: delays, silence, truncation, wrong IDs,
 * wrong source ports, wrong questions, raw bytes, forged datagrams sent before the real answer.
 */
export interface FakeReply {
  rcode?: 'NOERROR' | 'SERVFAIL' | 'NXDOMAIN' | 'REFUSED' | 'NOTIMP' | 'FORMERR';
  answers?: Answer[];
  authorities?: Answer[];
  additionals?: Answer[];
  /** Recursion available (default true), authoritative (default false), truncated (default false). */
  ra?: boolean;
  aa?: boolean;
  tc?: boolean;
  /** Answer after this long. */
  delayMs?: number;
  /** Never answer. */
  drop?: boolean;
  /** Answer with this ID instead of the query's (a forgery). */
  id?: number;
  /** Answer with this question name instead of the query's (a forgery). */
  questionName?: string;
  /** Send the answer from another socket, so from another source port (a forgery). */
  fromOtherPort?: boolean;
  /** Send these bytes instead of an encoded answer (`{id}` bytes 0–1 are patched to the query's ID unless `keepId`). */
  raw?: Buffer;
  keepId?: boolean;
  /** Datagrams to send (UDP only) before the real answer: forgeries racing it. */
  before?: FakeReply[];
}

export type FakeUpstreamHandler = (query: ReceivedQuery) => FakeReply | Promise<FakeReply>;

export interface FakeUpstream {
  readonly host: string;
  readonly port: number;
  /** `{ host, port }` for daemon-kit and configuration. */
  readonly server: UpstreamServer;
  /** `host#port`, dnsmasq's spelling. */
  readonly label: string;
  readonly queries: ReceivedQuery[];
  /** Queries for one name (lower case), any type. */
  queriesFor(name: string): ReceivedQuery[];
  setHandler(handler: FakeUpstreamHandler): void;
  close(): Promise<void>;
}

export interface FakeUpstreamOptions {
  host?: string;
  /** Serve TCP too (default true). */
  tcp?: boolean;
}

/** Encodes the reply to `query` as `reply` asks (tests use this to build raw forgeries too). */
export function encodeReply(query: ReceivedQuery, reply: FakeReply): Buffer {
  if (reply.raw) {
    const out = Buffer.from(reply.raw);
    if (!reply.keepId && out.length >= 2) out.writeUInt16BE(reply.id ?? query.packet.id ?? 0, 0);
    return out;
  }
  const rcode = reply.rcode ?? 'NOERROR';
  const rcodeNumber = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 }[rcode];
  let flags = rcodeNumber | ((query.packet.flags ?? 0) & dnsPacket.RECURSION_DESIRED);
  if (reply.ra !== false) flags |= dnsPacket.RECURSION_AVAILABLE;
  if (reply.aa) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (reply.tc) flags |= dnsPacket.TRUNCATED_RESPONSE;
  const questions = (query.packet.questions ?? []).map((q) =>
    reply.questionName === undefined ? q : { ...q, name: reply.questionName },
  );
  const packet: Packet = {
    type: 'response',
    id: reply.id ?? query.packet.id,
    flags,
    questions,
    answers: reply.answers ?? [],
    authorities: reply.authorities ?? [],
    additionals: reply.additionals ?? [],
  };
  return dnsPacket.encode(packet);
}

/** Starts a fake authoritative/recursive server on UDP and TCP (same port) on loopback. */
export async function startFakeUpstream(
  handler: FakeUpstreamHandler,
  options: FakeUpstreamOptions = {},
): Promise<FakeUpstream> {
  const host = options.host ?? '127.0.0.1';
  const family = net.isIPv6(host) ? 'udp6' : 'udp4';
  let current = handler;
  const queries: ReceivedQuery[] = [];
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const { tcp: tcpServer, udp, port } = await bindSamePort(host, { tcp: options.tcp !== false });
  const other = dgram.createSocket(family);
  await new Promise<void>((resolve) => other.bind({ address: host, port: 0 }, () => resolve()));

  const later = (ms: number, fn: () => void): void => {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const receive = async (
    raw: Buffer,
    transport: 'udp' | 'tcp',
    remoteAddress: string,
    remotePort: number,
    send: (reply: FakeReply, bytes: Buffer) => void,
  ): Promise<void> => {
    let packet: DecodedPacket;
    try {
      packet = dnsPacket.decode(raw);
    } catch {
      return;
    }
    const q = packet.questions?.[0];
    const query: ReceivedQuery = {
      raw,
      packet,
      name: (q?.name ?? '').toLowerCase(),
      type: q?.type ?? '',
      qclass: q?.class ?? '',
      transport,
      remoteAddress,
      remotePort,
      at: performance.now(),
    };
    queries.push(query);
    let reply: FakeReply;
    try {
      reply = await current(query);
    } catch {
      reply = { rcode: 'SERVFAIL' };
    }
    if (closed || reply.drop) return;
    later(reply.delayMs ?? 0, () => {
      if (closed) return;
      for (const forged of reply.before ?? []) send(forged, encodeReply(query, forged));
      send(reply, encodeReply(query, reply));
    });
  };

  udp.on('message', (raw, rinfo) => {
    void receive(raw, 'udp', rinfo.address, rinfo.port, (reply, bytes) => {
      const socket = reply.fromOtherPort ? other : udp;
      if (!closed) socket.send(bytes, rinfo.port, rinfo.address, () => undefined);
    });
  });

  tcpServer?.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new TcpFrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        void receive(frame, 'tcp', socket.remoteAddress ?? '', socket.remotePort ?? 0, (_reply, bytes) => {
          if (!socket.destroyed) socket.write(frameMessage(bytes));
        });
      }
    });
  });

  return {
    host,
    port,
    server: { host, port },
    label: `${host}#${port}`,
    queries,
    queriesFor: (name) => queries.filter((q) => q.name === name.toLowerCase()),
    setHandler(next) {
      current = next;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => other.close(() => resolve())),
        tcpServer ? new Promise<void>((resolve) => tcpServer.close(() => resolve())) : Promise.resolve(),
      ]);
    },
  };
}

/** A record for `FakeReply.answers`: `rr('a.example.', 'A', '1.2.3.4', 300)`. */
export function rr(name: string, type: string, data: unknown, ttl = 300, rrclass = 'IN'): Answer {
  return { name, type, class: rrclass, ttl, data } as Answer;
}

/** An SOA for negative answers. */
export function soa(zone: string, ttl = 300, minimum = 60): Answer {
  return rr(
    zone,
    'SOA',
    { mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum },
    ttl,
  );
}
