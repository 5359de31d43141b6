import dgram from 'node:dgram';
import type net from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer } from 'dns-packet';
import { frameMessage, TcpFrameReader } from '@kube-dns/daemon-kit';
import { bindSamePort } from '../helpers/index.js';

/**
 * A small upstream DNS server on 127.0.0.1 (UDP and TCP on one port 0) whose behaviour a test scripts per
 * query: answer, stay silent, answer late, send spoofed datagrams first, truncate over UDP.
 */
export interface UpstreamQuery {
  raw: Buffer;
  id: number;
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
}

export type UpstreamBehaviour = (query: UpstreamQuery) => UpstreamAction;

export type UpstreamAction =
  | {
      kind: 'answer';
      answers?: Answer[];
      rcode?: number;
      truncated?: boolean;
      delayMs?: number;
      authorities?: Answer[];
    }
  | { kind: 'silent' }
  /** UDP only: first a reply from another port, then one with a wrong ID, then the real answer. */
  | { kind: 'spoof-then-answer'; answers: Answer[] };

export interface FakeUpstream {
  readonly port: number;
  readonly server: { host: string; port: number };
  readonly queries: UpstreamQuery[];
  behaviour: UpstreamBehaviour;
  close(): Promise<void>;
}

export function reply(
  query: UpstreamQuery,
  action: Extract<UpstreamAction, { kind: 'answer' }>,
  id = query.id,
): Buffer {
  const decoded = dnsPacket.decode(query.raw);
  const flags =
    dnsPacket.RECURSION_AVAILABLE |
    ((decoded.flags ?? 0) & dnsPacket.RECURSION_DESIRED) |
    (action.truncated ? dnsPacket.TRUNCATED_RESPONSE : 0) |
    (action.rcode ?? 0);
  return dnsPacket.encode({
    type: 'response',
    id,
    flags,
    questions: decoded.questions!,
    answers: action.truncated ? [] : (action.answers ?? []),
    authorities: action.authorities ?? [],
  });
}

export async function startFakeUpstream(behaviour: UpstreamBehaviour): Promise<FakeUpstream> {
  const queries: UpstreamQuery[] = [];
  const { tcp: server, udp, port } = await bindSamePort('127.0.0.1', { tcp: true });
  const tcp = server!;
  const spoofer = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => spoofer.bind(0, '127.0.0.1', resolve));
  const sockets = new Set<net.Socket>();
  const state: FakeUpstream = {
    port,
    server: { host: '127.0.0.1', port },
    queries,
    behaviour,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => spoofer.close(() => resolve()));
    },
  };

  const parse = (raw: Buffer, transport: 'udp' | 'tcp'): UpstreamQuery => {
    const decoded = dnsPacket.decode(raw);
    const q = decoded.questions![0]!;
    const query = { raw, id: decoded.id ?? 0, name: q.name, type: q.type, transport };
    queries.push(query);
    return query;
  };

  udp.on('message', (raw, rinfo) => {
    const query = parse(raw, 'udp');
    const action = state.behaviour(query);
    if (action.kind === 'silent') return;
    if (action.kind === 'spoof-then-answer') {
      const good = reply(query, { kind: 'answer', answers: action.answers });
      const evil = reply(query, {
        kind: 'answer',
        answers: [{ type: 'A', name: query.name, ttl: 1, data: '6.6.6.6' }],
      });
      spoofer.send(evil, rinfo.port, rinfo.address);
      udp.send(
        reply(
          query,
          { kind: 'answer', answers: [{ type: 'A', name: query.name, ttl: 1, data: '6.6.6.7' }] },
          (query.id + 1) & 0xffff,
        ),
        rinfo.port,
        rinfo.address,
      );
      setTimeout(() => udp.send(good, rinfo.port, rinfo.address), 20);
      return;
    }
    const send = () => udp.send(reply(query, action), rinfo.port, rinfo.address);
    if (action.delayMs) setTimeout(send, action.delayMs);
    else send();
  });

  tcp.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const reader = new TcpFrameReader();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        const query = parse(frame, 'tcp');
        const action = state.behaviour(query);
        if (action.kind === 'silent') continue;
        const answers = action.kind === 'answer' ? action : { kind: 'answer' as const, answers: action.answers };
        const send = () => socket.write(frameMessage(reply(query, { ...answers, truncated: false })));
        if (action.kind === 'answer' && action.delayMs) setTimeout(send, action.delayMs);
        else send();
      }
    });
  });
  return state;
}

/** One A record for the queried name. */
export function aRecord(name: string, address: string, ttl = 300): Answer {
  return { type: 'A', name, ttl, data: address };
}
