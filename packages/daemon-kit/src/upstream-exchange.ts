import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { canonicalIp } from './ip.js';
import { frameMessage, TcpFrameReader } from './tcp-framing.js';
import { Flag, HEADER_LENGTH } from './wire/constants.js';
import { readName } from './wire/names.js';

export interface UpstreamServer {
  host: string;
  port: number;
}

export type ExchangeErrorCode = 'ERR_UPSTREAM_TIMEOUT' | 'ERR_UPSTREAM_NETWORK' | 'ERR_UPSTREAM_ABORTED';

export class ExchangeError extends Error {
  readonly code: ExchangeErrorCode;
  constructor(code: ExchangeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExchangeError';
    this.code = code;
  }
}

/** Why a datagram was not taken as the answer: wrong source address or port, ID or question, or not a response. */
export type RejectReason = 'source' | 'id' | 'question' | 'malformed';

export interface ExchangeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called for each datagram that fails validation (wrong source, ID or question): spoofing attempts. */
  onRejectedResponse?: (reason: RejectReason) => void;
}

/** A fresh random 16-bit query ID (RFC 5452 §9.2). */
export function randomQueryId(): number {
  return randomInt(0, 0x10000);
}

/** `host:port` with brackets for IPv6, as dnsmasq and logs show servers. */
export function formatServer(server: UpstreamServer, separator = ':'): string {
  return net.isIPv6(server.host) && separator === ':'
    ? `[${server.host}]:${server.port}`
    : `${server.host}${separator}${server.port}`;
}

/** ERR_UPSTREAM_NETWORK naming the server: a socket's error, or what went wrong in words. */
export function upstreamNetworkError(server: UpstreamServer, error: Error | string): ExchangeError {
  return typeof error === 'string'
    ? new ExchangeError('ERR_UPSTREAM_NETWORK', `${formatServer(server)}: ${error}`)
    : new ExchangeError('ERR_UPSTREAM_NETWORK', `${formatServer(server)}: ${error.message}`, { cause: error });
}

/** ERR_UPSTREAM_TIMEOUT naming the server and the time it had. */
export function upstreamTimeoutError(server: UpstreamServer, timeoutMs: number): ExchangeError {
  return new ExchangeError('ERR_UPSTREAM_TIMEOUT', `no answer from ${formatServer(server)} in ${timeoutMs} ms`);
}

/** What both transports share: one settlement, a deadline, abort, and errors named after the server. */
interface PendingExchange {
  settle(error: Error | null, response?: Buffer): void;
  networkError(error: Error | string): void;
}

function startExchange(
  server: UpstreamServer,
  options: ExchangeOptions,
  release: () => void,
  resolve: (response: Buffer) => void,
  reject: (error: Error) => void,
): PendingExchange {
  let settled = false;
  const settle = (error: Error | null, response?: Buffer): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
    release();
    if (error) reject(error);
    else resolve(response!);
  };
  const onAbort = (): void => settle(new ExchangeError('ERR_UPSTREAM_ABORTED', 'aborted'));
  const timer = setTimeout(() => settle(upstreamTimeoutError(server, options.timeoutMs)), options.timeoutMs);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  return {
    settle,
    networkError: (error) => settle(upstreamNetworkError(server, error)),
  };
}

/**
 * Sends `query` (already carrying the ID to match) over UDP from a fresh socket on a random source port (for
 * one-off queries; a forwarder sending many uses a UdpUpstreamPool, which shares a few sockets),
 * and resolves with the first response that comes from that server and port, with the same ID and
 * question (name compared case-insensitively). Anything else is ignored, not accepted (RFC 5452).
 */
export function exchangeUdp(server: UpstreamServer, query: Buffer, options: ExchangeOptions): Promise<Buffer> {
  const expected = questionKey(query);
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new ExchangeError('ERR_UPSTREAM_ABORTED', 'aborted'));
      return;
    }
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const pending = startExchange(server, options, () => socket.close(), resolve, reject);
    socket.on('error', (error) => pending.networkError(error));
    socket.on('message', (message, rinfo) => {
      if (rinfo.port !== server.port || !sameAddress(rinfo.address, server.host)) {
        options.onRejectedResponse?.('source');
        return;
      }
      const problem = validateResponse(message, query, expected);
      if (problem) {
        options.onRejectedResponse?.(problem);
        return;
      }
      pending.settle(null, message);
    });
    socket.send(query, server.port, server.host, (error) => {
      if (error) pending.networkError(error);
    });
  });
}

/** The same over TCP: one connection, one query, one validated response. */
export function exchangeTcp(server: UpstreamServer, query: Buffer, options: ExchangeOptions): Promise<Buffer> {
  const expected = questionKey(query);
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new ExchangeError('ERR_UPSTREAM_ABORTED', 'aborted'));
      return;
    }
    const socket = net.connect({ host: server.host, port: server.port, noDelay: true });
    const reader = new TcpFrameReader();
    const pending = startExchange(server, options, () => socket.destroy(), resolve, reject);
    socket.on('error', (error) => pending.networkError(error));
    socket.on('close', () => pending.networkError('connection closed before an answer'));
    socket.on('connect', () => socket.write(frameMessage(query)));
    socket.on('data', (chunk: Buffer) => {
      for (const frame of reader.push(chunk)) {
        const problem = validateResponse(frame, query, expected);
        if (problem) {
          options.onRejectedResponse?.(problem);
          continue;
        }
        pending.settle(null, frame);
      }
    });
  });
}

interface QuestionKey {
  name: string;
  typeAndClass: number;
}

function questionKey(message: Buffer): QuestionKey | null {
  if (message.length < HEADER_LENGTH || message.readUInt16BE(4) !== 1) return null;
  const name = readName(message, HEADER_LENGTH);
  if (name === null || name.end + 4 > message.length) return null;
  return { name: name.name, typeAndClass: message.readUInt32BE(name.end) };
}

/** Why a response does not belong to our query, or null when it does. */
export function validateResponse(
  response: Buffer,
  query: Buffer,
  expected: QuestionKey | null = questionKey(query),
): 'id' | 'question' | 'malformed' | null {
  if (response.length < HEADER_LENGTH) return 'malformed';
  if (!(response.readUInt16BE(2) & Flag.QR)) return 'malformed';
  if (response.readUInt16BE(0) !== query.readUInt16BE(0)) return 'id';
  const actual = questionKey(response);
  if (expected === null) return actual === null ? null : 'question';
  if (actual === null) {
    // A question-less reply is legal only for some errors (e.g. FORMERR); we asked a question, so insist on it.
    return 'question';
  }
  return actual.name === expected.name && actual.typeAndClass === expected.typeAndClass ? null : 'question';
}

function sameAddress(a: string, b: string): boolean {
  return a === b || canonicalIp(a) === canonicalIp(b);
}
