import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordType } from 'dns-packet';
import { frameMessage, TcpFrameReader, type UpstreamServer } from '@kube-dns/daemon-kit';
import { queryDns, type QueryResult } from '../../helpers/index.js';
import { effectiveExpectation, fuzzCase, validQuery, type FuzzCase } from './fuzz-packets.js';
import { Random } from './random.js';
import { checkResponse } from './response-check.js';

/** A valid query interleaved with the garbage, and how to tell its answer is right. */
export interface Probe {
  name: string;
  type: RecordType;
  /** null when right, else what is wrong. */
  check(result: QueryResult): string | null;
}

export interface Violation {
  kind: string;
  problem: string;
  query: string;
  response?: string;
}

export interface CampaignReport {
  transport: 'udp' | 'tcp';
  seed: number;
  /** Hostile messages sent. */
  sent: number;
  responses: number;
  probes: number;
  probeFailures: string[];
  violations: Violation[];
  /** Cases per expectation, to show the mix. */
  mix: Record<string, number>;
  durationMs: number;
}

export interface CampaignOptions {
  target: UpstreamServer;
  /** Hostile messages to send. */
  count: number;
  seed: number;
  probes: Probe[];
  /** UDP: messages between two probes (the probe's answer is the pacing barrier). */
  batch?: number;
  /** TCP: connections open at once. */
  concurrency?: number;
  /** Called every ~10% with the report so far. */
  progress?: (report: CampaignReport) => void;
}

const MAX_VIOLATIONS = 50;

function newReport(transport: 'udp' | 'tcp', seed: number): CampaignReport {
  return {
    transport,
    seed,
    sent: 0,
    responses: 0,
    probes: 0,
    probeFailures: [],
    violations: [],
    mix: {},
    durationMs: 0,
  };
}

function violation(report: CampaignReport, c: FuzzCase, problem: string, query: Buffer, response?: Buffer): void {
  if (report.violations.length >= MAX_VIOLATIONS) return;
  report.violations.push({
    kind: c.kind,
    problem,
    query: query.toString('hex'),
    ...(response ? { response: response.toString('hex') } : {}),
  });
}

async function runProbe(report: CampaignReport, target: UpstreamServer, probe: Probe, tcp: boolean): Promise<void> {
  report.probes++;
  try {
    const result = await queryDns(target, probe.name, probe.type, { tcp, timeoutMs: 3000, edns: 1232 });
    const problem = probe.check(result);
    if (problem !== null && report.probeFailures.length < MAX_VIOLATIONS) {
      report.probeFailures.push(`${probe.name} ${probe.type}: ${problem}`);
    }
  } catch (error) {
    if (report.probeFailures.length < MAX_VIOLATIONS) {
      report.probeFailures.push(`${probe.name} ${probe.type}: ${(error as Error).message}`);
    }
  }
}

function withId(bytes: Buffer, id: number): Buffer {
  const out = Buffer.from(bytes);
  if (out.length >= 2) out.writeUInt16BE(id, 0);
  return out;
}

interface Pending {
  c: FuzzCase;
  query: Buffer;
  expectsAnswer: boolean;
}

/**
 * UDP: `count` hostile datagrams from one socket, IDs numbered so each answer is matched to its message,
 * a valid probe after every `batch` (its answer proves the server has read everything before it, so the
 * socket buffers never overflow and nothing is lost to pacing). Every answer is checked; a message that
 * needs one and gets none, or gets two, is a violation.
 */
export async function udpCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const { target, count, probes } = options;
  const batch = options.batch ?? 32;
  const report = newReport('udp', options.seed);
  const rng = new Random(options.seed);
  const started = performance.now();
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind({ address: '127.0.0.1', port: 0 }, () => resolve()));
  const pending = new Map<number, Pending>();
  socket.on('message', (message) => {
    report.responses++;
    const id = message.length >= 2 ? message.readUInt16BE(0) : -1;
    const entry = pending.get(id);
    if (entry === undefined) {
      if (report.violations.length < MAX_VIOLATIONS) {
        report.violations.push({
          kind: 'unknown',
          problem: 'a response no message asked for (or a second one)',
          query: '',
          response: message.toString('hex'),
        });
      }
      return;
    }
    pending.delete(id);
    const problem = checkResponse(entry.c, entry.query, message, 'udp');
    if (problem !== null) violation(report, entry.c, problem, entry.query, message);
  });
  let seq = 0;
  let nextProgress = count / 10;
  try {
    while (report.sent < count) {
      const n = Math.min(batch, count - report.sent);
      for (let i = 0; i < n; i++) {
        const c = fuzzCase(rng);
        const expect = effectiveExpectation(c);
        report.mix[expect] = (report.mix[expect] ?? 0) + 1;
        const id = seq++ & 0xffff;
        const old = pending.get(id);
        if (old?.expectsAnswer) violation(report, old.c, 'no response', old.query);
        const query = withId(c.bytes, id);
        if (query.length >= 2) pending.set(id, { c, query, expectsAnswer: expect !== 'silence' });
        socket.send(query, target.port, target.host);
        report.sent++;
      }
      await runProbe(report, target, probes[seq % probes.length]!, false);
      if (report.sent >= nextProgress) {
        nextProgress += count / 10;
        report.durationMs = performance.now() - started;
        options.progress?.(report);
      }
    }
    // Forwarded messages are answered after the upstream replies (or times out): give them time.
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline && [...pending.values()].some((p) => p.expectsAnswer)) await sleep(50);
    await sleep(300);
    for (const entry of pending.values())
      if (entry.expectsAnswer) violation(report, entry.c, 'no response', entry.query);
  } finally {
    socket.close();
  }
  report.durationMs = performance.now() - started;
  return report;
}

type Connection = {
  socket: net.Socket;
  frames: Buffer[];
  closed: Promise<void>;
  waitFrames(n: number, ms: number): Promise<void>;
};

function connect(target: UpstreamServer): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const reader = new TcpFrameReader();
    const frames: Buffer[] = [];
    let wake: (() => void) | null = null;
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('data', (chunk: Buffer) => {
      frames.push(...reader.push(chunk));
      wake?.();
    });
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({
        socket,
        frames,
        closed,
        async waitFrames(n, ms) {
          const deadline = Date.now() + ms;
          while (frames.length < n && Date.now() < deadline && !socket.destroyed) {
            await Promise.race([
              new Promise<void>((r) => (wake = r)),
              sleep(Math.max(1, deadline - Date.now())),
              closed,
            ]);
          }
        },
      }),
    );
    socket.once('error', reject);
  });
}

/** Writes `data` in a few chunks split at random points (framing must survive any split). */
function writeSplit(socket: net.Socket, data: Buffer, rng: Random): void {
  let offset = 0;
  while (offset < data.length) {
    const size = rng.bool(0.5) ? data.length - offset : rng.int(1, data.length - offset);
    socket.write(data.subarray(offset, offset + size));
    offset += size;
  }
}

async function closesAfterFin(connection: Connection, ms: number): Promise<boolean> {
  connection.socket.end();
  return Promise.race([connection.closed.then(() => true), sleep(ms).then(() => false)]);
}

/**
 * TCP: connections (several at once) each carrying one scenario: framed hostile messages then a probe
 * (checked like UDP, answers matched by ID), a length prefix that promises more than is sent, a zero
 * length, a length shorter than the message, or an unframed random stream. After our FIN the server must
 * close; it must never answer a half-received message.
 */
export async function tcpCampaign(options: CampaignOptions): Promise<CampaignReport> {
  const { target, count, probes } = options;
  const report = newReport('tcp', options.seed);
  const rng = new Random(options.seed);
  const started = performance.now();
  let nextProgress = count / 10;
  const probeQuery = (i: number): { probe: Probe; bytes: Buffer } => {
    const probe = probes[i % probes.length]!;
    const type = { A: 1, AAAA: 28, SRV: 33, PTR: 12, TXT: 16, SOA: 6, NS: 2, CNAME: 5 }[probe.type as string] ?? 1;
    return { probe, bytes: validQuery(probe.name, type) };
  };

  const scenario = async (index: number): Promise<void> => {
    const connection = await connect(target);
    const roll = rng.next();
    const expectCloseAfterFin = async (kind: string): Promise<void> => {
      if (!(await closesAfterFin(connection, 3000))) {
        report.violations.push({ kind, problem: 'connection not closed after FIN', query: '' });
      }
    };
    /** Whatever was answered must at least be a response. */
    const checkFramesAreResponses = (kind: string): void => {
      for (const frame of connection.frames) {
        report.responses++;
        if (frame.length < 12 || !(frame[2]! & 0x80)) {
          report.violations.push({
            kind,
            problem: 'malformed response frame',
            query: '',
            response: frame.toString('hex'),
          });
        }
      }
    };
    try {
      if (roll < 0.7) {
        const n = rng.int(1, 40);
        const cases: Pending[] = [];
        const parts: Buffer[] = [];
        for (let i = 0; i < n; i++) {
          const c = fuzzCase(rng);
          const expect = effectiveExpectation(c);
          report.mix[expect] = (report.mix[expect] ?? 0) + 1;
          const query = withId(c.bytes, i + 1);
          cases.push({ c, query, expectsAnswer: expect !== 'silence' });
          parts.push(frameMessage(query));
        }
        const { probe, bytes } = probeQuery(index);
        const probeId = 0xfff0;
        parts.push(frameMessage(withId(bytes, probeId)));
        report.sent += n;
        writeSplit(connection.socket, Buffer.concat(parts), rng);
        const expected = cases.filter((p) => p.expectsAnswer && p.query.length >= 2).length + 1;
        await connection.waitFrames(expected, 8000);
        report.probes++;
        let probeAnswered = false;
        const seen = new Set<number>();
        for (const frame of connection.frames) {
          report.responses++;
          const id = frame.length >= 2 ? frame.readUInt16BE(0) : -1;
          if (id === probeId) {
            probeAnswered = true;
            continue;
          }
          const entry = cases[id - 1];
          if (entry === undefined || seen.has(id)) {
            violation(report, cases[0]!.c, 'a response no message asked for (or a second one)', Buffer.alloc(0), frame);
            continue;
          }
          seen.add(id);
          const problem = checkResponse(entry.c, entry.query, frame, 'tcp');
          if (problem !== null) violation(report, entry.c, problem, entry.query, frame);
        }
        cases.forEach((entry, i) => {
          if (entry.expectsAnswer && entry.query.length >= 2 && !seen.has(i + 1)) {
            violation(report, entry.c, 'no response over TCP', entry.query);
          }
        });
        if (!probeAnswered)
          report.probeFailures.push(`${probe.name} ${probe.type}: no answer over TCP after hostile frames`);
      } else if (roll < 0.8) {
        // A length prefix promising more than ever comes, then FIN: no answer, and the server closes.
        const { bytes } = probeQuery(index);
        const claimed = rng.int(bytes.length + 1, 65535);
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(claimed, 0);
        connection.socket.write(Buffer.concat([prefix, bytes.subarray(0, rng.int(0, bytes.length))]));
        report.sent++;
        await expectCloseAfterFin('tcp-length-long');
        if (connection.frames.length > 0) {
          report.violations.push({
            kind: 'tcp-length-long',
            problem: 'answered a message that never arrived whole',
            query: '',
          });
        }
      } else if (roll < 0.85) {
        // A zero-length frame, then a valid query: the framing stays intact.
        const { probe, bytes } = probeQuery(index);
        connection.socket.write(Buffer.concat([Buffer.from([0, 0]), frameMessage(withId(bytes, 7))]));
        report.sent++;
        report.probes++;
        await connection.waitFrames(1, 3000);
        if (connection.frames.length !== 1 || connection.frames[0]!.readUInt16BE(0) !== 7) {
          report.probeFailures.push(
            `${probe.name} ${probe.type}: not answered once after a zero-length frame (${connection.frames.length} frames)`,
          );
        }
      } else if (roll < 0.9) {
        // A length shorter than the message: the rest is read as the next frame. Anything answered must be sane.
        const { bytes } = probeQuery(index);
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(rng.int(0, bytes.length - 1), 0);
        connection.socket.write(Buffer.concat([prefix, bytes, rng.bytes(rng.int(0, 64))]));
        report.sent++;
        await sleep(50);
        checkFramesAreResponses('tcp-length-short');
        await expectCloseAfterFin('tcp-length-short');
      } else {
        // An unframed random stream.
        connection.socket.write(rng.bytes(rng.int(1, 3000)));
        report.sent++;
        await sleep(20);
        await expectCloseAfterFin('tcp-random-stream');
        checkFramesAreResponses('tcp-random-stream');
      }
    } finally {
      connection.socket.destroy();
    }
  };

  const concurrency = options.concurrency ?? 4;
  let index = 0;
  const worker = async (): Promise<void> => {
    while (report.sent < count) {
      await scenario(index++);
      if (report.sent >= nextProgress) {
        nextProgress += count / 10;
        report.durationMs = performance.now() - started;
        options.progress?.(report);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  // Between connections: a probe over UDP and over TCP must still work.
  await runProbe(report, target, probes[0]!, true);
  await runProbe(report, target, probes[0]!, false);
  report.durationMs = performance.now() - started;
  return report;
}

/** A one-line summary for logs. */
export function summary(report: CampaignReport): string {
  const rate = Math.round(report.sent / (report.durationMs / 1000));
  return (
    `${report.transport}: ${report.sent} hostile messages (${Object.entries(report.mix)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}), ` +
    `${report.responses} responses, ${report.probes} probes, ${report.violations.length} violations, ` +
    `${report.probeFailures.length} probe failures, ${Math.round(report.durationMs)} ms (${rate}/s), seed ${report.seed}`
  );
}
