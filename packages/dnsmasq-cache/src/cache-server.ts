import {
  createRateLimitedLog,
  encodeName,
  Flag,
  HEADER_LENGTH,
  RawQuestion,
  Rcode,
  RRClass,
  RRType,
  typeToString,
  walkRecords,
  type DnsHandler,
  type DnsRequest,
  type Logger,
  type UdpFastPath,
  type UpstreamServer,
} from '@kube-dns/daemon-kit';
import { answerFromCache, makeOptRecords, type OptRecords } from './cache/cached-answer.js';
import { cacheKey, ResponseCache } from './cache/response-cache.js';
import { storeAnswer, type CachePolicy } from './cache/stored-answer.js';
import type { DnsmasqCacheConfig, ServerDirective } from './config.js';
import type { HostsTable } from './hosts.js';
import { buildLocalAnswer, txtRdata, type LocalRecord } from './local-answer.js';
import { chaosTxt, isChaosReserved, newQueryCounters, type QueryCounters } from './statistics.js';
import { Forwarder, type Exchange, type ForwardOutcome } from './upstream/forwarder.js';
import { LoopDetector } from './upstream/loop-detect.js';
import { buildRoutingTable, serverLabel, serverOrder, type GroupState, type RoutingTable } from './upstream/routing.js';
import { ServerStats } from './upstream/server-stats.js';

/** How a query was answered, for `--log-queries` and metrics. */
export type AnswerSource = 'cache' | 'hosts' | 'chaos' | 'local' | 'forwarded' | 'joined' | 'refused';

export interface CacheServerObserver {
  onAnswer?(request: DnsRequest, source: AnswerSource, response: Buffer): void;
  onUpstreamFailure?(server: UpstreamServer, reason: string): void;
  onRejectedResponse?(reason: string): void;
}

export interface CacheServerOptions {
  config: DnsmasqCacheConfig;
  logger: Logger;
  /** Milliseconds; drives TTL countdown and expiry (tests inject a fake). */
  clock: () => number;
  hosts: HostsTable;
  version: string;
  observer?: CacheServerObserver;
  exchangeUdp?: Exchange;
  exchangeTcp?: Exchange;
}

/**
 * The caching forwarder: answers a query from hosts files, the CHAOS statistics or the cache, else forwards it
 * (single-flight per question, at most --dns-forward-max per server group) and caches what dnsmasq would cache.
 * `handle` is the daemon-kit listener handler; a cache hit is answered synchronously from stored wire bytes.
 */
export class CacheServer {
  readonly cache: ResponseCache;
  readonly counters: QueryCounters = newQueryCounters();
  readonly serverStats = new ServerStats();
  readonly handle: DnsHandler;
  /**
   * For the listener (daemon-kit UdpFastPath): a UDP cache hit answered from the query's bytes, exactly as `handle`
   * answers it; null (no fast path) when every answer must be seen by an observer or logged (--log-queries).
   */
  readonly udpFastPath: UdpFastPath | null;
  private readonly question = new RawQuestion();
  private routing: RoutingTable;
  private directives: ServerDirective[] = [];
  private readonly groupStates = new Map<string, GroupState>();
  private readonly flights = new Map<string, Promise<ForwardOutcome>>();
  private readonly forwarder: Forwarder;
  private readonly loop: LoopDetector | null;
  private hosts: HostsTable;
  private readonly opt: OptRecords;
  private readonly policy: CachePolicy;
  private readonly clock: () => number;
  private readonly maxTtl: number;
  private readonly cacheEnabled: boolean;
  private readonly logQueries: boolean;
  private readonly rateLimited: ReturnType<typeof createRateLimitedLog>;
  private listening = false;

  private readonly options: CacheServerOptions;

  constructor(options: CacheServerOptions) {
    this.options = options;
    const { config } = options;
    this.cache = new ResponseCache(config.cacheSize);
    this.cacheEnabled = config.cacheSize > 0;
    this.hosts = options.hosts;
    this.clock = options.clock;
    this.maxTtl = config.maxTtl;
    this.logQueries = config.logQueries;
    this.opt = makeOptRecords(config.ednsPacketMax);
    this.policy = {
      negativeCache: config.negativeCache,
      negTtl: config.negTtl,
      maxCacheTtl: config.maxCacheTtl,
      minCacheTtl: config.minCacheTtl,
    };
    this.loop = config.dnsLoopDetect ? new LoopDetector() : null;
    this.rateLimited = createRateLimitedLog(options.logger, 5000);
    this.forwarder = new Forwarder({
      upstreamTimeoutMs: config.upstreamTimeoutMs,
      forwardDeadlineMs: config.forwardDeadlineMs,
      strictOrder: config.strictOrder,
      stats: this.serverStats,
      onRejectedResponse: (reason) => {
        this.rateLimited('warn', 'forged', 'ignored an answer that did not match the query sent', { reason });
        options.observer?.onRejectedResponse?.(reason);
      },
      onServerFailure: (server, reason) => options.observer?.onUpstreamFailure?.(server, reason),
      exchangeUdp: options.exchangeUdp,
      exchangeTcp: options.exchangeTcp,
    });
    this.routing = buildRoutingTable([], this.groupStates);
    this.handle = (request) => this.answer(request);
    this.udpFastPath =
      options.observer === undefined && !config.logQueries && this.cacheEnabled
        ? (query) => this.answerFast(query)
        : null;
  }

  /**
   * The cache-hit branch of `answer` read off the bytes of a UDP query: a QUERY with RD, one plain question of class
   * IN, no records but at most a plain OPT (version 0, no options, DO clear: dnsmasq never answers DO from its cache).
   * Declines (null, the normal path decides) whenever the normal path might do anything else: a TXT question while
   * loop detection is on, a name the hosts files know, an entry missing or expired (the normal path drops it), an
   * answer that needs truncating.
   */
  private answerFast(query: Buffer): Buffer | null {
    const question = this.question;
    if (!question.scanQuery(query) || (query[2]! & 0x01) === 0) return null;
    if (question.qclass !== RRClass.IN || question.dnssecOk) return null;
    const qtype = question.qtype;
    const questionEnd = question.nameEnd + 4;
    const opt = question.hasOpt ? this.opt.plain : null;
    const maxSize = question.maxReplySize(this.options.config.ednsPacketMax);
    if (this.loop !== null && qtype === RRType.TXT) return null;
    const now = this.clock();
    // As `answer` (the cache's lookup); a stale entry is the normal path's.
    const entry = this.cache.findRaw(query, question);
    if (entry === undefined || now >= entry.expiresAt) return null;
    if (!this.hosts.empty && this.hostsMayAnswer(entry.rawName, qtype)) return null;
    if (entry.wire.length + (opt === null ? 0 : opt.length) > maxSize) return null;
    this.cache.promote(entry);
    if (entry.touches !== null) this.cache.touch(entry, now);
    const flags = (query[2]! << 8) | query[3]!;
    const response = answerFromCache(entry, query, flags, questionEnd, opt, now, this.maxTtl);
    this.counters.hits++;
    return response;
  }

  /** Whether answerFromHosts could answer (name, qtype): the fast path leaves those to the normal path. */
  private hostsMayAnswer(name: string, qtype: number): boolean {
    if (qtype === RRType.A || qtype === RRType.AAAA || qtype === RRType.ANY)
      return this.hosts.lookup(name) !== undefined;
    if (qtype === RRType.PTR) return this.hosts.reverseLookup(name) !== undefined;
    return false;
  }

  /** Installs a new set of upstream servers (startup, resolv file, ConfigMap); queries in flight keep theirs. */
  setServers(directives: ServerDirective[]): void {
    this.directives = directives;
    this.serverStats.setServers(serverOrder(directives));
    if (this.loop !== null && this.listening) this.loop.probe(this.defaultServers());
    this.rebuildRouting();
  }

  /** Called once the listeners are up: from now on server changes are probed for loops (--dns-loop-detect). */
  startLoopDetection(): void {
    this.listening = true;
    if (this.loop !== null) {
      this.loop.probe(this.defaultServers());
      this.rebuildRouting();
    }
  }

  get routes(): RoutingTable {
    return this.routing;
  }

  /** Closes the upstream sockets (after the listeners: a forward still in flight ends in SERVFAIL). */
  close(): void {
    this.forwarder.close();
  }

  setHosts(hosts: HostsTable): void {
    this.hosts = hosts;
  }

  /** The statistics line dnsmasq logs on SIGUSR1. */
  statisticsSummary(): Record<string, unknown> {
    return {
      cachesize: this.options.config.cacheSize,
      inUse: this.cache.weight,
      insertions: this.cache.counters.insertions,
      evictions: this.cache.counters.evictions,
      hits: this.counters.hits,
      misses: this.counters.misses,
      servers: this.serverStats.serversBind(),
    };
  }

  private defaultServers(): UpstreamServer[] {
    return this.directives.flatMap((d) => (d.kind === 'forward' && d.domains.length === 0 ? [d.server] : []));
  }

  private rebuildRouting(): void {
    this.routing = buildRoutingTable(this.directives, this.groupStates, this.loop?.disabled);
  }

  private answer(request: DnsRequest): Buffer | null | Promise<Buffer | null> {
    const view = request.view;
    const qclass = view.qclass;
    if (this.loop !== null) {
      const looping = this.loop.check(view.qname, view.qtype);
      if (looping !== null) {
        this.options.logger.warn(`NOT using nameserver ${looping} - query loop detected`);
        this.rebuildRouting();
        return null;
      }
    }
    const opt = view.edns === null ? null : view.edns.dnssecOk ? this.opt.dnssecOk : this.opt.plain;
    if (qclass === RRClass.IN) {
      if (!this.hosts.empty) {
        const fromHosts = this.answerFromHosts(request, opt);
        if (fromHosts !== null) return this.local(request, 'hosts', fromHosts);
      }
      // dnsmasq never answers RD=0 (cache snooping) or DNSSEC-OK queries from its cache.
      if (this.cacheEnabled && view.flags & Flag.RD && !(view.edns !== null && view.edns.dnssecOk)) {
        const now = this.clock();
        const entry = this.cache.lookup(view.qname, view.qtype, now);
        if (entry !== undefined) {
          if (entry.touches !== null) this.cache.touch(entry, now);
          const response = answerFromCache(entry, request.query, view.flags, view.questionEnd, opt, now, this.maxTtl);
          return this.local(request, 'cache', response);
        }
      }
    } else if (qclass === RRClass.CH && isChaosReserved(view.qname)) {
      return this.local(request, 'chaos', this.answerChaos(request, opt));
    }
    return this.forward(request, opt);
  }

  /** Counts a locally answered query as dnsmasq does (UDP only) and returns the response. */
  private local(request: DnsRequest, source: AnswerSource, response: Buffer): Buffer {
    if (request.transport === 'udp') this.counters.hits++;
    if (this.logQueries) this.logQuery(request, source, response);
    this.options.observer?.onAnswer?.(request, source, response);
    return response;
  }

  private answerFromHosts(request: DnsRequest, opt: Buffer | null): Buffer | null {
    const { qname, qtype } = request.view;
    const records: LocalRecord[] = [];
    const ttl = this.options.config.localTtl;
    if (qtype === RRType.A || qtype === RRType.AAAA || qtype === RRType.ANY) {
      const entry = this.hosts.lookup(qname);
      if (entry === undefined) return null;
      if (qtype !== RRType.AAAA)
        for (const ip of entry.v4) records.push({ type: RRType.A, rrclass: 1, ttl, rdata: ip });
      if (qtype !== RRType.A)
        for (const ip of entry.v6) records.push({ type: RRType.AAAA, rrclass: 1, ttl, rdata: ip });
    } else if (qtype === RRType.PTR) {
      const name = this.hosts.reverseLookup(qname);
      if (name !== undefined) records.push({ type: RRType.PTR, rrclass: 1, ttl, rdata: encodeName(name) });
    }
    if (records.length === 0) return null;
    const { query, view } = request;
    return buildLocalAnswer(query, view.flags, view.questionEnd, Rcode.NOERROR, true, records, opt);
  }

  private answerChaos(request: DnsRequest, opt: Buffer | null): Buffer {
    const { query, view } = request;
    const strings =
      !this.options.config.noIdent && (view.qtype === RRType.TXT || view.qtype === RRType.ANY)
        ? chaosTxt(view.qname, {
            cacheSize: this.options.config.cacheSize,
            insertions: this.cache.counters.insertions,
            evictions: this.cache.counters.evictions,
            misses: this.counters.misses,
            hits: this.counters.hits,
            auth: this.counters.auth,
            serversBind: () => this.serverStats.serversBind(),
            version: this.options.version,
          })
        : undefined;
    if (strings === undefined) {
      return buildLocalAnswer(query, view.flags, view.questionEnd, Rcode.NOTIMP, false, [], opt);
    }
    const record: LocalRecord = { type: RRType.TXT, rrclass: RRClass.CH, ttl: 0, rdata: txtRdata(strings) };
    return buildLocalAnswer(query, view.flags, view.questionEnd, Rcode.NOERROR, true, [record], opt);
  }

  private forward(request: DnsRequest, opt: Buffer | null): Buffer | Promise<Buffer | null> {
    const { view, query } = request;
    const group = this.routing.route(view.qname);
    if (group.local) {
      const rcode = this.hosts.has(view.qname) ? Rcode.NOERROR : Rcode.NXDOMAIN;
      return this.local(request, 'local', buildLocalAnswer(query, view.flags, view.questionEnd, rcode, false, [], opt));
    }
    if (group.servers.length === 0) {
      return this.local(
        request,
        'refused',
        buildLocalAnswer(query, view.flags, view.questionEnd, Rcode.REFUSED, false, [], opt),
      );
    }
    const edns = view.edns === null ? 0 : view.edns.dnssecOk ? 2 : 1;
    const flightKey = `${view.qname}/${view.qtype}/${view.qclass}/${view.flags & (Flag.RD | Flag.CD)}/${edns}`;
    let flight = this.flights.get(flightKey);
    const udp = request.transport === 'udp';
    let source: AnswerSource = 'joined';
    if (flight === undefined) {
      if (group.state.inFlight >= this.options.config.dnsForwardMax) {
        this.rateLimited(
          'warn',
          'forward-max',
          group.name === ''
            ? `Maximum number of concurrent DNS queries reached (max: ${this.options.config.dnsForwardMax})`
            : `Maximum number of concurrent DNS queries to ${group.name} reached (max: ${this.options.config.dnsForwardMax})`,
        );
        return this.local(
          request,
          'refused',
          buildLocalAnswer(query, view.flags, view.questionEnd, Rcode.REFUSED, false, [], opt),
        );
      }
      flight = this.startFlight(flightKey, request, group);
      source = 'forwarded';
      if (udp) this.counters.misses++;
    } else if (udp) {
      this.counters.hits++;
    }
    return flight.then((outcome) => this.relay(request, outcome, opt, source));
  }

  private startFlight(
    flightKey: string,
    request: DnsRequest,
    group: ReturnType<RoutingTable['route']>,
  ): Promise<ForwardOutcome> {
    group.state.inFlight++;
    const { view } = request;
    const run = async (): Promise<ForwardOutcome> => {
      try {
        const outcome = await this.forwarder.forward(
          request.query,
          request.transport,
          group,
          request.transport === 'udp',
        );
        if (outcome.response !== null && view.qclass === RRClass.IN) {
          const stored = storeAnswer(outcome.response, this.policy);
          if (stored === 'malformed') return { response: null, server: outcome.server };
          // dnsmasq caches nothing asked with CD (checking disabled: the answer may be one a validator rejects).
          if (stored !== null && this.cacheEnabled && !(view.flags & Flag.CD)) {
            const now = this.clock();
            const soaKey = stored.soa === null ? null : cacheKey(stored.soa.zone, RRType.SOA);
            const targetKey =
              stored.target === null ? null : cacheKey(stored.target.name, view.qtype, stored.target.answer.nameError);
            // Inserted in dnsmasq's order (SOA, then the answer's records), so the LRU order matches too.
            if (stored.soa !== null) this.cache.set(stored.soa.zone, RRType.SOA, stored.soa.answer, now);
            const primary = this.cache.set(view.qname, view.qtype, stored.primary, now);
            const target =
              stored.target === null ? null : this.cache.set(stored.target.name, view.qtype, stored.target.answer, now);
            const related = [targetKey, soaKey].filter((key): key is string => key !== null);
            if (primary !== null && related.length > 0) primary.touches = related;
            if (target !== null && soaKey !== null) target.touches = [soaKey];
          }
        }
        return outcome;
      } finally {
        group.state.inFlight--;
        this.flights.delete(flightKey);
      }
    };
    const flight = run();
    this.flights.set(flightKey, flight);
    return flight;
  }

  /** The upstream answer for one client: its ID and question, RA set, AD cleared, its CD, TTLs capped by --max-ttl. */
  private relay(request: DnsRequest, outcome: ForwardOutcome, opt: Buffer | null, source: AnswerSource): Buffer {
    const { query, view } = request;
    let response: Buffer;
    if (outcome.response === null) {
      response = buildLocalAnswer(query, view.flags, view.questionEnd, Rcode.SERVFAIL, false, [], opt);
    } else {
      response = Buffer.from(outcome.response);
      response[0] = query[0]!;
      response[1] = query[1]!;
      // As dnsmasq: RA set, AD cleared, CD as the client asked (whatever the upstream echoed).
      let flags = ((response.readUInt16BE(2) | Flag.RA) & ~(Flag.AD | Flag.CD)) | (view.flags & Flag.CD);
      const rcode = flags & 0xf;
      if (rcode === Rcode.NXDOMAIN && view.qclass === RRClass.IN && this.hosts.has(view.qname)) {
        // dnsmasq: a name we know locally exists, whatever upstream says about this type (NODATA, not NXDOMAIN).
        flags = (flags & ~0xf) | Flag.AA;
      }
      response.writeUInt16BE(flags, 2);
      query.copy(response, HEADER_LENGTH, HEADER_LENGTH, view.questionEnd);
      if (this.maxTtl !== 0 && (rcode === Rcode.NOERROR || rcode === Rcode.NXDOMAIN) && !(flags & Flag.TC)) {
        capAnswerTtls(response, this.maxTtl);
      }
    }
    if (this.logQueries) this.logQuery(request, source, response, outcome.server);
    this.options.observer?.onAnswer?.(request, source, response);
    return response;
  }

  private logQuery(request: DnsRequest, source: AnswerSource, response: Buffer, server?: UpstreamServer | null): void {
    const { view } = request;
    const rcode = response.length >= 4 ? response[3]! & 0xf : -1;
    const via = source === 'forwarded' && server ? `forwarded to ${serverLabel(server)}` : source;
    this.options.logger.info(
      `query[${typeToString(view.qtype)}] ${view.qname || '.'} from ${request.remoteAddress}: ${via}, ${rcodeName(rcode)}`,
    );
  }
}

function rcodeName(rcode: number): string {
  return ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'][rcode] ?? `RCODE${rcode}`;
}

/** dnsmasq rewrites answer TTLs above --max-ttl in forwarded replies too (rfc1035.c extract_addresses). */
function capAnswerTtls(response: Buffer, maxTtl: number): void {
  const walked = walkRecords(response);
  if (walked === null) return;
  for (const record of walked.records) {
    if (record.section !== 'answer') continue;
    if (response.readUInt32BE(record.fixed + 4) > maxTtl) response.writeUInt32BE(maxTtl, record.fixed + 4);
  }
}
