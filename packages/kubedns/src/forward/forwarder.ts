import dnsPacket from 'dns-packet';
import {
  buildErrorResponse,
  DEFAULT_EDNS_UDP_SIZE,
  encodeName,
  encodeOpt,
  ExchangeError,
  exchangeTcp,
  Flag,
  formatServer,
  HEADER_LENGTH,
  randomQueryId,
  Rcode,
  RRClass,
  RRType,
  UdpUpstreamPool,
  type ExchangeOptions,
  type Logger,
  type QueryView,
  type RejectReason,
  type StubDomain,
  type Transport,
  type UpstreamServer,
} from '@kube-dns/daemon-kit';
import { StubTable, type StubRoute } from './stub-table.js';

export type UpstreamErrorReason = 'timeout' | 'network' | 'servfail' | 'refused';
export type RouteKind = 'upstream' | 'stub';

/** What a forwarder reports, for metrics. All optional. */
export interface ForwarderObserver {
  onUpstreamRequest?(server: UpstreamServer, route: RouteKind): void;
  onUpstreamError?(server: UpstreamServer, reason: UpstreamErrorReason): void;
  /** A datagram that failed validation (wrong source, ID or question): a spoofing attempt or a late reply. */
  onRejectedResponse?(reason: RejectReason): void;
  /** A query refused because `maxConcurrent` were already in flight. */
  onOverflow?(): void;
}

export interface ForwarderOptions {
  logger: Logger;
  /** Per server: after this long the next server is asked (kube-dns: 2 s). */
  timeoutMs?: number;
  /** Forwarded queries in flight at most; beyond it queries are REFUSED at once. */
  maxConcurrent?: number;
  /** How often stub servers given as host names are resolved again. */
  stubRefreshMs?: number;
  /**
   * Addresses of a host name inside the cluster zone from our own records, or null when the name is not
   * in the zone (it is then resolved through the upstream servers).
   */
  resolveLocal?: (hostname: string) => string[] | null;
  /** The EDNS UDP size we advertise to clients (on our own SERVFAIL/REFUSED replies). */
  ednsUdpSize?: number;
  observer?: ForwarderObserver;
}

/** A list of servers and the one that answered last, tried first next time. */
export interface ServerRoute {
  servers: readonly UpstreamServer[];
  preferred: number;
}

/**
 * Sends queries kube-dns does not answer itself to other servers: stub domains (longest suffix wins) for
 * their names, the upstream servers for everything else. Each server gets `timeoutMs`, then the next one is
 * tried, starting with the last server that answered; SERVFAIL when none answers. The transport follows the
 * client's (a truncated UDP reply is retried over TCP), every upstream query has a fresh random ID (over UDP from
 * one of a few sockets on random ports that keep changing: daemon-kit UdpUpstreamPool), replies are accepted
 * only from the server and port asked with that ID and question, and the client's ID is restored.
 */
export class Forwarder {
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly maxConcurrent: number;
  private readonly ednsUdpSize: number;
  private readonly observer: ForwarderObserver;
  private upstream: ServerRoute = { servers: [], preferred: 0 };
  private readonly stubs: StubTable;
  private readonly pool: UdpUpstreamPool;
  private readonly exchangeOptions: { timeoutMs: number };
  private inFlight = 0;
  private version = 0;

  constructor(options: ForwarderOptions) {
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxConcurrent = options.maxConcurrent ?? 1000;
    this.ednsUdpSize = options.ednsUdpSize ?? DEFAULT_EDNS_UDP_SIZE;
    this.observer = options.observer ?? {};
    // Every rejected datagram reaches the observer once, through the pool (none is tied to a query's options).
    this.pool = new UdpUpstreamPool({ onRejectedResponse: (reason) => this.observer.onRejectedResponse?.(reason) });
    this.exchangeOptions = { timeoutMs: this.timeoutMs };
    this.stubs = new StubTable({
      logger: this.logger,
      refreshMs: options.stubRefreshMs ?? 30_000,
      resolveLocal: options.resolveLocal ?? (() => null),
      resolveUpstream: (hostname) => this.resolveAddresses(hostname),
    });
  }

  /** Changes whenever the routing changes (stub domains set): answers cached for names a stub now owns go stale. */
  get routingVersion(): number {
    return this.version;
  }

  get upstreams(): readonly UpstreamServer[] {
    return this.upstream.servers;
  }

  /** Queries in flight right now. */
  get pending(): number {
    return this.inFlight;
  }

  setUpstreams(servers: readonly UpstreamServer[]): void {
    const same =
      servers.length === this.upstream.servers.length &&
      servers.every((s, i) => s.host === this.upstream.servers[i]!.host && s.port === this.upstream.servers[i]!.port);
    if (same) return;
    this.upstream = { servers: [...servers], preferred: 0 };
    this.logger.info('upstream nameservers set', { servers: servers.map((s) => formatServer(s)) });
  }

  setStubDomains(stubs: readonly StubDomain[]): void {
    if (this.stubs.set(stubs)) this.version++;
  }

  /** The stub domain that owns `name` (longest suffix), or null: stub domains win over everything. */
  stubFor(name: string): StubRoute | null {
    return this.stubs.match(name);
  }

  /** The servers in force: the upstreams, and each stub domain's (resolved) servers. For logs and tests. */
  routing(): { upstreams: UpstreamServer[]; stubs: Array<{ domain: string; servers: UpstreamServer[] }> } {
    return { upstreams: [...this.upstream.servers], stubs: this.stubs.describe() };
  }

  /** Resolves stub servers given as host names again now (e.g. once the store has synced). */
  refreshStubs(): Promise<void> {
    return this.stubs.refreshAll();
  }

  /**
   * Forwards a client's query and resolves with the reply to send it: the upstream's reply with the
   * client's ID, or our own SERVFAIL (no server answered) or REFUSED (too many queries in flight).
   */
  async forward(query: Buffer, view: QueryView, transport: Transport): Promise<Buffer> {
    const stub = this.stubs.match(view.qname);
    const route = stub ? await this.stubs.route(stub) : this.upstream;
    if (this.inFlight >= this.maxConcurrent) {
      this.observer.onOverflow?.();
      return this.errorReply(query, view, Rcode.REFUSED);
    }
    this.inFlight++;
    try {
      const upstreamQuery = Buffer.from(query);
      const response = await this.exchange(route, upstreamQuery, transport, stub ? 'stub' : 'upstream');
      if (response === null) return this.errorReply(query, view, Rcode.SERVFAIL);
      response.writeUInt16BE(view.id, 0);
      return response;
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Asks the routed servers `name`/`qtype` with RD and EDNS (for chasing an ExternalName target). Resolves
   * with the validated reply (our ID), or null when no server answered.
   */
  async lookup(name: string, qtype: number, transport: Transport = 'udp'): Promise<Buffer | null> {
    const stub = this.stubs.match(name);
    const route = stub ? await this.stubs.route(stub) : this.upstream;
    if (this.inFlight >= this.maxConcurrent) {
      this.observer.onOverflow?.();
      return null;
    }
    this.inFlight++;
    try {
      return await this.exchange(route, buildQuery(name, qtype), transport, stub ? 'stub' : 'upstream');
    } finally {
      this.inFlight--;
    }
  }

  /** Stops refreshing stub servers and closes the upstream sockets (queries in flight fail: SERVFAIL). */
  close(): void {
    this.stubs.close();
    this.pool.close();
  }

  /** Tries each server of `route` in turn, the last good one first. Null when all failed. */
  private async exchange(
    route: ServerRoute,
    query: Buffer,
    transport: Transport,
    kind: RouteKind,
  ): Promise<Buffer | null> {
    const servers = route.servers;
    for (let attempt = 0; attempt < servers.length; attempt++) {
      const index = (route.preferred + attempt) % servers.length;
      const server = servers[index]!;
      this.observer.onUpstreamRequest?.(server, kind);
      try {
        const response = await this.exchangeOne(server, query, transport);
        const rcode = response[3]! & 0xf;
        if (rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED) {
          this.observer.onUpstreamError?.(server, rcode === Rcode.SERVFAIL ? 'servfail' : 'refused');
          continue;
        }
        route.preferred = index;
        return response;
      } catch (error) {
        const reason = error instanceof ExchangeError && error.code === 'ERR_UPSTREAM_TIMEOUT' ? 'timeout' : 'network';
        this.observer.onUpstreamError?.(server, reason);
        this.logger.debug('upstream failed', { server: formatServer(server), reason, error: String(error) });
      }
    }
    return null;
  }

  private async exchangeOne(server: UpstreamServer, query: Buffer, transport: Transport): Promise<Buffer> {
    if (transport === 'tcp') return exchangeTcp(server, withRandomId(query), this.tcpOptions());
    // The pool writes its own random ID into the query.
    const response = await this.pool.exchange(server, query, this.exchangeOptions);
    if (!(response.readUInt16BE(2) & Flag.TC)) return response;
    return exchangeTcp(server, withRandomId(query), this.tcpOptions());
  }

  private tcpOptions(): ExchangeOptions {
    return { timeoutMs: this.timeoutMs, onRejectedResponse: (reason) => this.observer.onRejectedResponse?.(reason) };
  }

  private errorReply(query: Buffer, view: QueryView, rcode: number): Buffer {
    return buildErrorResponse(query, view, rcode, { recursionAvailable: true, ednsUdpSize: this.ednsUdpSize })!;
  }

  /** A, else AAAA, addresses of `hostname` through the upstream servers. */
  private async resolveAddresses(hostname: string): Promise<string[]> {
    for (const qtype of [RRType.A, RRType.AAAA]) {
      const response = await this.exchange(this.upstream, buildQuery(hostname, qtype), 'udp', 'upstream');
      if (response === null) continue;
      const packet = dnsPacket.decode(response);
      const addresses = (packet.answers ?? []).flatMap((rr) =>
        rr.type === 'A' || rr.type === 'AAAA' ? [rr.data] : [],
      );
      if (addresses.length > 0) return addresses;
    }
    return [];
  }
}

function withRandomId(query: Buffer): Buffer {
  query.writeUInt16BE(randomQueryId(), 0);
  return query;
}

/** A recursive query with EDNS for `name`/`qtype`. */
export function buildQuery(name: string, qtype: number): Buffer {
  const qname = encodeName(name);
  const opt = encodeOpt(DEFAULT_EDNS_UDP_SIZE);
  const out = Buffer.alloc(HEADER_LENGTH + qname.length + 4 + opt.length);
  out.writeUInt16BE(randomQueryId(), 0);
  out.writeUInt16BE(Flag.RD, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(1, 10);
  qname.copy(out, HEADER_LENGTH);
  out.writeUInt16BE(qtype, HEADER_LENGTH + qname.length);
  out.writeUInt16BE(RRClass.IN, HEADER_LENGTH + qname.length + 2);
  opt.copy(out, HEADER_LENGTH + qname.length + 4);
  return out;
}
