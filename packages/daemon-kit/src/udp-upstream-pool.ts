import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { canonicalIp } from './ip.js';
import {
  ExchangeError,
  upstreamNetworkError,
  upstreamTimeoutError,
  validateResponse,
  type ExchangeOptions,
  type RejectReason,
  type UpstreamServer,
} from './upstream-exchange.js';
import { Flag, HEADER_LENGTH } from './wire/constants.js';
import { RawQuestion } from './wire/raw-question.js';
import { literalLookup } from './udp-io/dgram-endpoint.js';

export interface UdpUpstreamPoolOptions {
  /** Sockets taking new queries at once, per address family, each on its own OS-chosen random port. */
  socketsPerFamily?: number;
  /** Queries one socket sends before it is retired (it takes no new ones and closes once its last is settled). */
  maxQueriesPerSocket?: number;
  /** How long (ms) a socket takes new queries before it is retired, however few it sent. */
  maxSocketAgeMs?: number;
  /** Timeout resolution (ms): one timer for the whole pool checks deadlines this often; never early. */
  tickMs?: number;
  /**
   * Every datagram no pending query accepts (wrong source, ID or question; malformed), unless the query it
   * names by ID has its own `onRejectedResponse`: each datagram is reported once.
   */
  onRejectedResponse?: (reason: RejectReason) => void;
  /** Milliseconds, monotonic (tests). */
  now?: () => number;
}

/**
 * Defaults and why. RFC 5452 §9.2 asks for unpredictable source ports from a range as large as practicable,
 * several ports at once when several queries are outstanding, and unpredictable IDs over the full 16 bits.
 * Each socket is bound to port 0 (Linux picks a random free port of ip_local_port_range, ~28k ports), each query
 * goes to one of the sockets picked at random with a random ID from `crypto`, so a blind attacker still has to
 * guess port and ID of the one query for a question (single-flight keeps identical questions to one in flight,
 * the birthday attack of §8), exactly as with a fresh socket per query.
 *
 * What a shared socket changes (§10: the protection holds only while the port is unknown to the attacker): a
 * port lives longer than one query, so one found by probing (e.g. an ICMP rate-limit side channel) could be
 * aimed at by the next queries. Hence: a socket sends at most 200 queries and takes new ones for at most 10 s,
 * and a socket that receives any datagram its queries do not accept is retired at once (§9.3, a spoofing attempt
 * detected: that port gets nothing new). dnsmasq keeps a random socket for as long as it has a query in flight
 * (unbounded under steady load, up to 64 sockets); this is stricter. The cost that remains: one socket
 * creation, bind and close per 200 forwarded queries under load instead of per query.
 */
export const UDP_POOL_DEFAULTS = {
  socketsPerFamily: 16,
  maxQueriesPerSocket: 200,
  maxSocketAgeMs: 10_000,
  tickMs: 10,
} as const;

type Family = 4 | 6;

/** One upstream socket on its own random port, carrying many queries keyed by ID. */
class PooledSocket {
  readonly socket: dgram.Socket;
  readonly family: Family;
  readonly openedAt: number;
  /** Queries in flight by ID: an ID is never given twice while in flight on one socket (whatever the server). */
  readonly pending = new Map<number, PendingQuery>();
  sent = 0;
  retired = false;
  closed = false;

  constructor(socket: dgram.Socket, family: Family, openedAt: number) {
    this.socket = socket;
    this.family = family;
    this.openedAt = openedAt;
  }
}

/** One query waiting for its answer. */
class PendingQuery {
  readonly socket: PooledSocket;
  readonly id: number;
  readonly server: UpstreamServer;
  readonly query: Buffer;
  /** End of the question when it is a plain name (compared octet by octet), else 0 (validateResponse decides). */
  readonly questionEnd: number;
  readonly options: ExchangeOptions;
  readonly resolve: (response: Buffer) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
  /** The timer wheel bucket holding it, and where in it (swap-removed when settled). */
  bucket: PendingQuery[] | null = null;
  slot = 0;
  onAbort: (() => void) | null = null;
  settled = false;

  constructor(
    socket: PooledSocket,
    id: number,
    server: UpstreamServer,
    query: Buffer,
    questionEnd: number,
    options: ExchangeOptions,
    deadline: number,
    resolve: (response: Buffer) => void,
    reject: (error: Error) => void,
  ) {
    this.socket = socket;
    this.id = id;
    this.server = server;
    this.query = query;
    this.questionEnd = questionEnd;
    this.options = options;
    this.deadline = deadline;
    this.resolve = resolve;
    this.reject = reject;
  }
}

/** What the pool holds right now (tests, metrics). */
export interface UdpUpstreamPoolStats {
  /** Sockets open, taking new queries or draining. */
  sockets: number;
  /** Queries awaiting an answer. */
  pending: number;
  /** Sockets opened since the pool was created. */
  opened: number;
}

/**
 * Upstream queries over UDP from a bounded set of sockets on random source ports (dnsmasq's random sockets,
 * RFC 5452): `exchange` has exchangeUdp's contract (the first response from that server and port with the same
 * ID and question, name compared case-insensitively; anything else ignored and reported as rejected; a timeout,
 * abort or network error rejects with an ExchangeError) without a socket per query, and without a timer per
 * query (one tick for all). The pool picks the query's ID itself: it writes a fresh random one into `query`.
 *
 * Idle sockets do not keep the process alive; pending queries do, as their timers did. `close()` rejects what is
 * pending and closes every socket.
 */
export class UdpUpstreamPool {
  private readonly socketsPerFamily: number;
  private readonly maxQueriesPerSocket: number;
  private readonly maxSocketAgeMs: number;
  private readonly tickMs: number;
  private readonly onRejected: ((reason: RejectReason) => void) | undefined;
  private readonly now: () => number;
  /** Sockets taking new queries, per family; null: the slot opens a socket on its next use. */
  private readonly slots4: Array<PooledSocket | null>;
  private readonly slots6: Array<PooledSocket | null>;
  /** Every open socket (taking queries or draining). */
  private readonly open = new Set<PooledSocket>();
  /** Deadline tick → the queries due then: the timer wheel. */
  private readonly buckets = new Map<number, PendingQuery[]>();
  private sweptTick = 0;
  private pendingCount = 0;
  private opened = 0;
  private ticker: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly question = new RawQuestion();
  /** IP literals seen as servers and their version (4 or 6): checked once, not on every send. */
  private readonly literals = new Map<string, number>();
  /** Servers are IP literals (as a rule): dgram's default lookup would cost a tick per send. */
  private readonly lookup = literalLookup((address) => this.ipVersion(address));
  private closed = false;

  constructor(options: UdpUpstreamPoolOptions = {}) {
    this.socketsPerFamily = Math.max(1, options.socketsPerFamily ?? UDP_POOL_DEFAULTS.socketsPerFamily);
    this.maxQueriesPerSocket = Math.max(1, options.maxQueriesPerSocket ?? UDP_POOL_DEFAULTS.maxQueriesPerSocket);
    this.maxSocketAgeMs = Math.max(1, options.maxSocketAgeMs ?? UDP_POOL_DEFAULTS.maxSocketAgeMs);
    this.tickMs = Math.max(1, options.tickMs ?? UDP_POOL_DEFAULTS.tickMs);
    this.onRejected = options.onRejectedResponse;
    this.now = options.now ?? (() => performance.now());
    this.slots4 = new Array<PooledSocket | null>(this.socketsPerFamily).fill(null);
    this.slots6 = new Array<PooledSocket | null>(this.socketsPerFamily).fill(null);
  }

  stats(): UdpUpstreamPoolStats {
    return { sockets: this.open.size, pending: this.pendingCount, opened: this.opened };
  }

  /** The local ports of the sockets open now (tests: they rotate). */
  ports(): number[] {
    const ports: number[] = [];
    for (const pooled of this.open) {
      try {
        ports.push(pooled.socket.address().port);
      } catch {
        // Not bound yet.
      }
    }
    return ports;
  }

  /** Sends `query` (its ID replaced by the pool's) to `server` and resolves with the validated response. */
  exchange(server: UpstreamServer, query: Buffer, options: ExchangeOptions): Promise<Buffer> {
    if (this.closed) return Promise.reject(new ExchangeError('ERR_UPSTREAM_ABORTED', 'upstream socket pool closed'));
    if (options.signal?.aborted) return Promise.reject(new ExchangeError('ERR_UPSTREAM_ABORTED', 'aborted'));
    if (query.length < HEADER_LENGTH) {
      return Promise.reject(upstreamNetworkError(server, 'query too short'));
    }
    const now = this.now();
    const socket = this.socketFor(this.ipVersion(server.host) === 6 ? 6 : 4, now);
    let id = randomInt(0, 0x10000);
    while (socket.pending.has(id)) id = randomInt(0, 0x10000);
    query[0] = id >> 8;
    query[1] = id & 0xff;
    const question = this.question;
    const questionEnd = query[4] === 0 && query[5] === 1 && question.scan(query) ? question.nameEnd + 4 : 0;
    return new Promise<Buffer>((resolve, reject) => {
      const pending = new PendingQuery(
        socket,
        id,
        server,
        query,
        questionEnd,
        options,
        now + options.timeoutMs,
        resolve,
        reject,
      );
      socket.pending.set(id, pending);
      socket.sent++;
      this.pendingCount++;
      this.schedule(pending);
      const signal = options.signal;
      if (signal !== undefined) {
        pending.onAbort = () => this.settle(pending, new ExchangeError('ERR_UPSTREAM_ABORTED', 'aborted'));
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      socket.socket.send(query, server.port, server.host, (error) => {
        if (error) this.settle(pending, upstreamNetworkError(server, error));
      });
    });
  }

  /** Rejects every pending query (ERR_UPSTREAM_ABORTED) and closes every socket. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new ExchangeError('ERR_UPSTREAM_ABORTED', 'upstream socket pool closed');
    for (const pooled of [...this.open]) {
      for (const pending of [...pooled.pending.values()]) this.settle(pending, error);
      this.closeSocket(pooled);
    }
    this.slots4.fill(null);
    this.slots6.fill(null);
    this.stopTicker();
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** A socket of `family` taking new queries: a random slot, opening a socket there if it is empty or spent. */
  private socketFor(family: Family, now: number): PooledSocket {
    const slots = family === 4 ? this.slots4 : this.slots6;
    const index = slots.length === 1 ? 0 : randomInt(0, slots.length);
    let pooled = slots[index]!;
    if (pooled !== null && !pooled.retired && this.spent(pooled, now)) this.retire(pooled);
    if (pooled === null || pooled.retired) {
      pooled = this.openSocket(family, now);
      slots[index] = pooled;
    }
    return pooled;
  }

  /** 4 or 6 for an IP literal, 0 for a host name (dgram resolves it; it goes out over IPv4 as exchangeUdp's would). */
  private ipVersion(host: string): number {
    let version = this.literals.get(host);
    if (version === undefined) {
      version = net.isIP(host);
      if (version !== 0 && this.literals.size < 256) this.literals.set(host, version);
    }
    return version;
  }

  private spent(pooled: PooledSocket, now: number): boolean {
    return pooled.sent >= this.maxQueriesPerSocket || now - pooled.openedAt >= this.maxSocketAgeMs;
  }

  private openSocket(family: Family, now: number): PooledSocket {
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', lookup: this.lookup });
    const pooled = new PooledSocket(socket, family, now);
    socket.on('message', (message, rinfo) => this.receive(pooled, message, rinfo));
    socket.on('error', (error) => this.socketFailed(pooled, error));
    // Port 0: the OS picks a random free port. Binding now (not on the first send) lets unref() apply at once.
    socket.bind(0);
    socket.unref();
    this.open.add(pooled);
    this.opened++;
    this.armIdleTimer();
    return pooled;
  }

  /** No new queries for this socket; it closes once the last one it carries is settled. */
  private retire(pooled: PooledSocket): void {
    if (pooled.retired) return;
    pooled.retired = true;
    const slots = pooled.family === 4 ? this.slots4 : this.slots6;
    const index = slots.indexOf(pooled);
    if (index >= 0) slots[index] = null;
    if (pooled.pending.size === 0) this.closeSocket(pooled);
  }

  private closeSocket(pooled: PooledSocket): void {
    if (pooled.closed) return;
    pooled.closed = true;
    pooled.retired = true;
    this.open.delete(pooled);
    try {
      pooled.socket.close();
    } catch {
      // Already closed by an error.
    }
  }

  private receive(pooled: PooledSocket, message: Buffer, rinfo: dgram.RemoteInfo): void {
    if (message.length < HEADER_LENGTH) {
      this.rejected(pooled, null, 'malformed');
      return;
    }
    const pending = pooled.pending.get((message[0]! << 8) | message[1]!);
    if (pending === undefined) {
      this.rejected(pooled, null, 'id');
      return;
    }
    const server = pending.server;
    if (rinfo.port !== server.port || !sameAddress(rinfo.address, server.host)) {
      this.rejected(pooled, pending, 'source');
      return;
    }
    const problem = sameQuestion(message, pending.query, pending.questionEnd)
      ? null
      : validateResponse(message, pending.query);
    if (problem !== null) {
      this.rejected(pooled, pending, problem);
      return;
    }
    this.settle(pending, null, message);
  }

  /**
   * A datagram nobody accepts: reported once, and the socket retired (RFC 5452 §9.3): whoever found its port
   * gets no new query there. Its queries in flight still take their genuine answers.
   */
  private rejected(pooled: PooledSocket, pending: PendingQuery | null, reason: RejectReason): void {
    const report = pending?.options.onRejectedResponse ?? this.onRejected;
    report?.(reason);
    this.retire(pooled);
  }

  private socketFailed(pooled: PooledSocket, error: Error): void {
    for (const pending of [...pooled.pending.values()])
      this.settle(pending, upstreamNetworkError(pending.server, error));
    this.retire(pooled);
    this.closeSocket(pooled);
  }

  private settle(pending: PendingQuery, error: Error | null, response?: Buffer): void {
    if (pending.settled) return;
    pending.settled = true;
    const pooled = pending.socket;
    pooled.pending.delete(pending.id);
    this.pendingCount--;
    this.unschedule(pending);
    if (pending.onAbort !== null) pending.options.signal?.removeEventListener('abort', pending.onAbort);
    if (pooled.pending.size === 0 && pooled.retired) this.closeSocket(pooled);
    if (error === null) pending.resolve(response!);
    else pending.reject(error);
  }

  /** Files the query under its deadline's tick (rounded up: a timeout never fires early). */
  private schedule(pending: PendingQuery): void {
    if (this.ticker === null) {
      this.sweptTick = Math.floor(this.now() / this.tickMs);
      this.ticker = setInterval(() => this.sweep(), this.tickMs);
    }
    const tick = Math.max(Math.ceil(pending.deadline / this.tickMs), this.sweptTick + 1);
    let bucket = this.buckets.get(tick);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(tick, bucket);
    }
    pending.bucket = bucket;
    pending.slot = bucket.length;
    bucket.push(pending);
  }

  private unschedule(pending: PendingQuery): void {
    const bucket = pending.bucket;
    if (bucket === null) return;
    pending.bucket = null;
    const last = bucket.pop()!;
    if (last !== pending) {
      bucket[pending.slot] = last;
      last.slot = pending.slot;
    }
  }

  /** Times out every query whose deadline tick has passed; stops ticking when nothing is pending. */
  private sweep(): void {
    const nowTick = Math.floor(this.now() / this.tickMs);
    for (let tick = this.sweptTick + 1; tick <= nowTick; tick++) {
      const bucket = this.buckets.get(tick);
      if (bucket === undefined) continue;
      this.buckets.delete(tick);
      while (bucket.length > 0) {
        const pending = bucket[bucket.length - 1]!;
        this.settle(pending, upstreamTimeoutError(pending.server, pending.options.timeoutMs));
      }
    }
    this.sweptTick = Math.max(this.sweptTick, nowTick);
    if (this.pendingCount === 0) this.stopTicker();
  }

  private stopTicker(): void {
    if (this.ticker !== null) clearInterval(this.ticker);
    this.ticker = null;
    this.buckets.clear();
  }

  /** While sockets are open, one unref'd timer retires and closes those past their age (nothing else would). */
  private armIdleTimer(): void {
    if (this.idleTimer !== null) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const now = this.now();
      for (const pooled of [...this.open]) if (!pooled.retired && this.spent(pooled, now)) this.retire(pooled);
      if (this.open.size > 0 && !this.closed) this.armIdleTimer();
    }, this.maxSocketAgeMs);
    this.idleTimer.unref();
  }
}

/**
 * Whether `response` answers the plain question of `query` (ending at `questionEnd`, 0 when not plain): a
 * response (QR), one question, the same name octets but for ASCII case (label lengths never fold), the same
 * type and class. True only where validateResponse says null; false leaves the verdict to it.
 */
export function sameQuestion(response: Buffer, query: Buffer, questionEnd: number): boolean {
  if (questionEnd === 0 || response.length < questionEnd) return false;
  if (!(response[2]! & (Flag.QR >> 8)) || response[4] !== 0 || response[5] !== 1) return false;
  const nameEnd = questionEnd - 4;
  for (let i = HEADER_LENGTH; i < nameEnd; i++) {
    const a = response[i]!;
    const b = query[i]!;
    if (a === b) continue;
    // Octets that differ must be the two cases of one ASCII letter.
    const folded = a | 0x20;
    if (folded !== (b | 0x20) || folded < 0x61 || folded > 0x7a) return false;
  }
  for (let i = nameEnd; i < questionEnd; i++) if (response[i] !== query[i]) return false;
  return true;
}

function sameAddress(a: string, b: string): boolean {
  return a === b || canonicalIp(a) === canonicalIp(b);
}
