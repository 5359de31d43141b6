import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from './logger.js';
import { createRateLimitedLog } from './logger.js';
import { frameMessage, TcpFrameReader } from './tcp-framing.js';
import { DEFAULT_EDNS_UDP_SIZE, MAX_MESSAGE_SIZE, MIN_UDP_SIZE, Rcode } from './wire/constants.js';
import { maxUdpReplySize, parseQuery, type QueryProblem, type QueryView } from './wire/query-view.js';
import { buildErrorResponse } from './wire/response.js';
import { truncateResponse } from './wire/truncate.js';
import { BatchedUdpEndpoint } from './udp-io/batched-endpoint.js';
import { chooseUdpIo, parseUdpIoMode, type UdpIoChoice } from './udp-io/choose-udp-io.js';
import { openDgramEndpoint } from './udp-io/dgram-endpoint.js';
import type { UdpDatagramHandlers, UdpEndpoint, UdpIoKind, UdpIoMode } from './udp-io/udp-endpoint.js';

export type Transport = 'udp' | 'tcp';

export interface DnsRequest {
  /** The query exactly as received. */
  query: Buffer;
  view: QueryView;
  transport: Transport;
  remoteAddress: string;
  remotePort: number;
  /** The largest response this client can take: 65535 on TCP, else 512 or the negotiated EDNS size. */
  maxSize: number;
}

/**
 * Answers one query with a complete response message, or null to stay silent. Oversized UDP answers are
 * truncated by the listener; a throw becomes SERVFAIL.
 */
export type DnsHandler = (request: DnsRequest) => Buffer | null | Promise<Buffer | null>;

export interface DnsListenerObserver {
  /** Called once per answered query (never for dropped ones). `seconds` is handler time. */
  onResponse?(request: DnsRequest, response: Buffer, seconds: number, truncated: boolean): void;
  /** Called for packets refused before reaching the handler (`drop`, `formerr`, `notimp`, `badvers`). */
  onRejected?(problem: QueryProblem, transport: Transport): void;
}

/**
 * Answers a UDP datagram straight from its bytes, before the listener parses anything, or returns null to let
 * the datagram take the normal path (parse, handler, truncation, observer). For answers that can be found by
 * the raw question (pre-encoded ones). The reply must be complete, fit the client's UDP size, and be exactly
 * what the normal path would send; the fast path does its own accounting (the observer is not called for it).
 * `query` is valid only during the call (with batched UDP I/O it is a view into memory the next batch overwrites):
 * the fast path must not keep it, nor return it or a view of it.
 */
export type UdpFastPath = (query: Buffer) => Buffer | null;

export interface DnsListenerOptions {
  host: string;
  /** 0 picks a free port, the same for UDP and TCP. */
  port: number;
  handler: DnsHandler;
  /** Tried first for every UDP datagram (see UdpFastPath). */
  udpFastPath?: UdpFastPath;
  logger: Logger;
  observer?: DnsListenerObserver;
  /** The UDP payload size we advertise and accept at most (RFC 6891 §6.2.5). */
  ednsUdpSize?: number;
  /** Idle TCP connections are closed after this long (RFC 7766 §6.2.3). */
  tcpIdleTimeoutMs?: number;
  /** Past this many TCP connections the least recently active one is closed to make room. */
  maxTcpConnections?: number;
  /** Queries one TCP connection may have in flight before reading from it pauses. */
  maxTcpPipeline?: number;
  /** Extra rcode flags for errors the listener answers itself (e.g. RA on a recursive server). */
  recursionAvailable?: boolean;
  /** How the UDP socket is served (src/udp-io); default: the DNS_UDP_IO environment variable, else `auto`. */
  udpIo?: UdpIoMode;
}

export interface DnsListener {
  readonly host: string;
  readonly port: number;
  /** Which UDP I/O serves the socket (DNS_UDP_IO, and whether the batched addon was built). */
  readonly udpIo: UdpIoKind;
  /** Stops accepting, closes the UDP socket and every TCP connection. */
  close(): Promise<void>;
}

interface TcpConnection {
  socket: net.Socket;
  lastActive: number;
  inFlight: number;
}

/** Serves DNS on UDP and TCP on one address and port. */
export async function startDnsListener(options: DnsListenerOptions): Promise<DnsListener> {
  const ednsUdpSize = Math.max(options.ednsUdpSize ?? DEFAULT_EDNS_UDP_SIZE, MIN_UDP_SIZE);
  const tcpIdleTimeoutMs = options.tcpIdleTimeoutMs ?? 10_000;
  const maxTcpConnections = options.maxTcpConnections ?? 1024;
  const maxTcpPipeline = options.maxTcpPipeline ?? 64;
  const { handler, logger, observer } = options;
  const rateLimited = createRateLimitedLog(logger);
  const errorOptions = { recursionAvailable: options.recursionAvailable ?? false, ednsUdpSize };
  const connections = new Set<TcpConnection>();
  let closing = false;
  // Handler time is measured only for an observer that wants it.
  const timed = observer?.onResponse !== undefined;

  /**
   * Runs the handler; `reply` gets the final bytes (with the client's address and port) or is never called for
   * silence. Allocation-light on purpose: this is every query's path, and UDP passes one shared `reply`.
   */
  function dispatch(
    query: Buffer,
    transport: Transport,
    remoteAddress: string,
    remotePort: number,
    reply: (response: Buffer, remoteAddress: string, remotePort: number) => void,
    done?: () => void,
  ): void {
    const parsed = parseQuery(query);
    if (!parsed.ok) {
      observer?.onRejected?.(parsed.problem, transport);
      if (parsed.problem !== 'drop') {
        const rcode =
          parsed.problem === 'notimp' ? Rcode.NOTIMP : parsed.problem === 'badvers' ? Rcode.BADVERS : Rcode.FORMERR;
        const response = buildErrorResponse(query, parsed.view, rcode, errorOptions);
        if (response) reply(response, remoteAddress, remotePort);
      }
      done?.();
      return;
    }
    const view = parsed.view;
    const request: DnsRequest = {
      query,
      view,
      transport,
      remoteAddress,
      remotePort,
      maxSize: transport === 'tcp' ? MAX_MESSAGE_SIZE : maxUdpReplySize(view.edns?.udpSize ?? null, ednsUdpSize),
    };
    const started = timed ? performance.now() : 0;
    let result: Buffer | null | Promise<Buffer | null>;
    try {
      result = handler(request);
    } catch (error) {
      failed(request, error, started, reply, done);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (response) => finish(request, response, started, reply, done),
        (error: unknown) => failed(request, error, started, reply, done),
      );
    } else {
      finish(request, result, started, reply, done);
    }
  }

  /** Truncates an oversized answer, reports it to the observer, sends it. */
  function finish(
    request: DnsRequest,
    response: Buffer | null,
    started: number,
    reply: (response: Buffer, remoteAddress: string, remotePort: number) => void,
    done: (() => void) | undefined,
  ): void {
    if (response !== null) {
      let out = response;
      let truncated = false;
      if (out.length > request.maxSize) {
        // UDP: to the client's size. TCP: a message cannot exceed 65535 octets, so an answer too big for that
        // (a headless service with thousands of endpoints) keeps the whole records that fit, with TC set,
        // rather than turning into SERVFAIL and leaving the name unresolvable.
        out = truncateResponse(out, request.maxSize);
        truncated = true;
      }
      observer?.onResponse?.(request, out, (performance.now() - started) / 1000, truncated);
      reply(out, request.remoteAddress, request.remotePort);
    }
    done?.();
  }

  function failed(
    request: DnsRequest,
    error: unknown,
    started: number,
    reply: (response: Buffer, remoteAddress: string, remotePort: number) => void,
    done: (() => void) | undefined,
  ): void {
    rateLimited('error', 'handler', 'handler failed; answered SERVFAIL', { error: String(error) });
    finish(request, serverFailure(request), started, reply, done);
  }

  function serverFailure(request: DnsRequest): Buffer {
    return buildErrorResponse(request.query, request.view, Rcode.SERVFAIL, errorOptions)!;
  }

  const fastPath = options.udpFastPath;
  const udpHandlers: UdpDatagramHandlers = {
    fast:
      fastPath === undefined
        ? null
        : (query) => {
            try {
              return fastPath(query);
            } catch (error) {
              rateLimited('error', 'fast-path', 'UDP fast path failed; taking the normal path', {
                error: String(error),
              });
              return null;
            }
          },
    normal: (query, remoteAddress, remotePort) => dispatch(query, 'udp', remoteAddress, remotePort, replyUdp),
    error: (error) => rateLimited('warn', 'udp-socket', 'UDP socket error', { error: error.message }),
  };
  const envMode = process.env['DNS_UDP_IO'];
  const envUdpIo = parseUdpIoMode(envMode);
  const udpIoMode = options.udpIo ?? envUdpIo ?? 'auto';
  if (options.udpIo === undefined && envMode !== undefined && envMode !== '' && envUdpIo === undefined)
    logger.warn('DNS_UDP_IO must be dgram, batched or auto; using auto', { value: envMode });
  const choice = chooseUdpIo(udpIoMode, options.host);

  // TCP first on the requested port (possibly 0), then UDP on the port TCP got.
  const tcpServer = net.createServer({ noDelay: true });
  let udpEndpoint: UdpEndpoint | null = null;
  let port = options.port;
  for (let attempt = 0; ; attempt++) {
    await listenTcp(tcpServer, options.host, port);
    const tcpPort = (tcpServer.address() as net.AddressInfo).port;
    try {
      udpEndpoint = await openUdpEndpoint(choice, options.host, tcpPort, udpHandlers);
      port = tcpPort;
      break;
    } catch (error) {
      await new Promise<void>((resolve) => tcpServer.close(() => resolve()));
      if (options.port !== 0 || attempt >= 10) throw error;
    }
  }
  const udp = udpEndpoint;
  logUdpIo(logger, choice, options.host, port);

  // One reply function for every UDP query. Errors of sends are reported through udpHandlers.error.
  function replyUdp(response: Buffer, remoteAddress: string, remotePort: number): void {
    // An answer that was still being worked out when close() ran has no socket left to go out on.
    if (closing) return;
    udp.send(response, remoteAddress, remotePort);
  }

  tcpServer.on('connection', (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    if (connections.size >= maxTcpConnections) evictLeastRecentlyActive();
    const connection: TcpConnection = { socket, lastActive: performance.now(), inFlight: 0 };
    connections.add(connection);
    const reader = new TcpFrameReader();
    const remoteAddress = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    socket.setTimeout(tcpIdleTimeoutMs, () => socket.destroy());
    socket.on('error', (error) => rateLimited('debug', 'tcp-socket', 'TCP connection error', { error: error.message }));
    socket.on('close', () => connections.delete(connection));
    socket.on('data', (chunk: Buffer) => {
      connection.lastActive = performance.now();
      for (const frame of reader.push(chunk)) {
        connection.inFlight++;
        if (connection.inFlight >= maxTcpPipeline) socket.pause();
        dispatch(
          frame,
          'tcp',
          remoteAddress,
          remotePort,
          (response: Buffer) => {
            if (!socket.destroyed && socket.writable) socket.write(frameMessage(response));
          },
          () => {
            connection.inFlight--;
            connection.lastActive = performance.now();
            if (connection.inFlight < maxTcpPipeline && socket.isPaused() && !socket.destroyed) socket.resume();
          },
        );
      }
    });
  });
  tcpServer.on('error', (error) => rateLimited('warn', 'tcp-server', 'TCP server error', { error: error.message }));

  function evictLeastRecentlyActive(): void {
    let oldest: TcpConnection | null = null;
    for (const connection of connections) {
      if (oldest === null || connection.lastActive < oldest.lastActive) oldest = connection;
    }
    if (oldest) {
      oldest.socket.destroy();
      connections.delete(oldest);
    }
  }

  return {
    host: options.host,
    port,
    udpIo: udp.kind,
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      const tcpClosed = new Promise<void>((resolve) => tcpServer.close(() => resolve()));
      for (const connection of connections) connection.socket.destroy();
      connections.clear();
      await udp.close();
      await tcpClosed;
    },
  };
}

function listenTcp(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function openUdpEndpoint(
  choice: UdpIoChoice,
  host: string,
  port: number,
  handlers: UdpDatagramHandlers,
): Promise<UdpEndpoint> {
  if (choice.kind === 'batched') return new BatchedUdpEndpoint(choice.addon, { host, port, handlers });
  return openDgramEndpoint({ host, port, handlers });
}

/** One line per listener: which UDP I/O serves it, and why (a refused DNS_UDP_IO=batched is a warning). */
function logUdpIo(logger: Logger, choice: UdpIoChoice, host: string, port: number): void {
  const meta = { udpIo: choice.kind, host, port, reason: choice.why };
  if (choice.kind === 'dgram' && choice.refused !== undefined)
    logger.warn('DNS_UDP_IO=batched, but batched UDP I/O is not available; using node:dgram', meta);
  else logger.info(`UDP I/O: ${choice.kind === 'batched' ? 'batched (recvmmsg/sendmmsg)' : 'node:dgram'}`, meta);
}
