import dnsPacket from 'dns-packet';
import {
  buildErrorResponse,
  createRateLimitedLog,
  DEFAULT_EDNS_UDP_SIZE,
  Rcode,
  RRClass,
  RawQuestion,
  type DnsHandler,
  type DnsRequest,
  type Logger,
  type QueryView,
  type StubDomain,
  type Transport,
  type UdpFastPath,
} from '@kube-dns/daemon-kit';
import { SYSTEMS, type DnsMetrics, type DnsSystem } from './dns-metrics.js';
import type { Resolution } from './resolver/answer.js';
import { isZoneName, resolve } from './resolver/resolve.js';
import { reverseZoneOf } from './resolver/reverse-name.js';
import type { RecordStore } from './store/record-store.js';
import { AnswerCache } from './wire/answer-cache.js';
import { encodeAnswer } from './wire/answer-encoder.js';
import { encodeResponseReference } from './wire/reference-encoder.js';
import {
  assembleFromQuestion,
  assembleResponse,
  EDNS,
  EDNS_DO,
  isPlainQuestion,
  NO_EDNS,
} from './wire/response-assembly.js';

/** What the handler needs of a forwarder (the `Forwarder` class; tests may pass their own). */
export interface DnsForwarder {
  readonly routingVersion: number;
  stubFor(name: string): unknown;
  forward(query: Buffer, view: QueryView, transport: Transport): Promise<Buffer>;
  lookup(name: string, qtype: number, transport?: Transport): Promise<Buffer | null>;
  setStubDomains?(stubs: readonly StubDomain[]): void;
}

export interface KubeDnsHandlerDeps {
  store: RecordStore;
  forwarder: DnsForwarder;
  /** Must match the store's (the store is built from the same flags). */
  zone: string;
  ttl: number;
  negativeTtl: number;
  metrics?: DnsMetrics;
  logger: Logger;
  /** The EDNS UDP size we advertise in replies; pass the listener's `ednsUdpSize`. */
  ednsUdpSize?: number;
  /** Pre-encoded answers kept at most. */
  answerCacheSize?: number;
}

/**
 * kube-dns's query handler for daemon-kit `startDnsListener`. Order: stub domains own their names; the zone
 * and the reverse zones are answered from the store (unknown IPs forwarded); everything else is forwarded.
 *
 * The authoritative path answers from pre-encoded wire bytes per (qtype, lower-cased qname), built once by
 * the resolver and encoder and kept until a store write touches what they were built from: a hit is one
 * copy of the query's header and question, the cached sections, and a few patched fields.
 */
export function createKubeDnsHandler(deps: KubeDnsHandlerDeps): DnsHandler {
  return createKubeDnsAnswerer(deps).handler;
}

export interface KubeDnsAnswerer {
  /** For daemon-kit `startDnsListener({ handler })`. */
  handler: DnsHandler;
  /**
   * For `startDnsListener({ udpFastPath })`: a UDP query whose answer is in the pre-encoded cache, answered from
   * its bytes without parsing it into strings and objects. Byte for byte what `handler` sends for it (the
   * same cache entry, the same assembly), counted in the metrics as the listener's observer counts it; null
   * (the normal path) for anything else: an unusual header or OPT, a name that is not plain, a stale or
   * missing entry, an answer that needs truncating, stub domains changed.
   */
  udpFastPath: UdpFastPath;
}

/** The handler and its UDP fast path, sharing one answer cache. */
export function createKubeDnsAnswerer(deps: KubeDnsHandlerDeps): KubeDnsAnswerer {
  const { store, forwarder, metrics } = deps;
  const zone = deps.zone.replace(/\.$/, '').toLowerCase();
  if (zone !== store.zone || deps.ttl !== store.ttl || deps.negativeTtl !== store.negativeTtl) {
    throw new Error(
      `kubedns/handler: zone/ttl/negative-ttl (${zone}/${deps.ttl}/${deps.negativeTtl}) differ from the store's ` +
        `(${store.zone}/${store.ttl}/${store.negativeTtl})`,
    );
  }
  const ednsUdpSize = deps.ednsUdpSize ?? DEFAULT_EDNS_UDP_SIZE;
  const cache = new AnswerCache({ maxEntries: deps.answerCacheSize });
  const rateLimited = createRateLimitedLog(deps.logger);
  let routingVersion = forwarder.routingVersion;

  const classify = (view: QueryView): DnsSystem => {
    const name = view.qname;
    if (forwarder.stubFor(name) !== null) return 'stub';
    if (isZoneName(zone, name)) return 'auth';
    if (reverseZoneOf(name) !== null) return 'reverse';
    return 'recursive';
  };
  metrics?.setSystemClassifier(classify);
  metrics?.trackStore(
    () => store.size(),
    () => cache.size,
  );

  const errorReply = (request: DnsRequest, rcode: number): Buffer =>
    buildErrorResponse(request.query, request.view, rcode, { recursionAvailable: true, ednsUdpSize })!;

  async function chase(request: DnsRequest, resolution: Extract<Resolution, { kind: 'chase' }>): Promise<Buffer> {
    const upstream = await forwarder.lookup(resolution.target, resolution.qtype, request.transport);
    if (upstream === null) return errorReply(request, Rcode.SERVFAIL);
    let packet: dnsPacket.DecodedPacket;
    try {
      packet = dnsPacket.decode(upstream);
    } catch (error) {
      rateLimited('warn', 'chase-decode', 'undecodable upstream reply while chasing an ExternalName', {
        target: resolution.target,
        error: String(error),
      });
      return errorReply(request, Rcode.SERVFAIL);
    }
    const rcode = upstream[3]! & 0xf;
    const answers = packet.answers ?? [];
    const negative = rcode !== Rcode.NOERROR || answers.length === 0;
    return encodeResponseReference(request.query, request.view, resolution.message, ednsUdpSize, {
      answers,
      // A negative upstream answer keeps its SOA so the asker can cache it for the target zone's time.
      authorities: negative ? (packet.authorities ?? []) : [],
      rcode,
    });
  }

  function handleKubeDnsQuery(request: DnsRequest): Buffer | Promise<Buffer> {
    const view = request.view;
    const qname = view.qname;
    const qtype = view.qtype;
    if (forwarder.routingVersion !== routingVersion) {
      // Stub domains changed: a name a stub now owns must not be answered from the cache.
      routingVersion = forwarder.routingVersion;
      cache.clear();
    }
    const plain = isPlainQuestion(view);
    const cacheable = plain && (view.qclass === RRClass.IN || view.qclass === RRClass.ANY) && store.hasSynced();
    if (cacheable) {
      const hit = cache.get(qtype, qname);
      if (hit !== undefined) return assembleResponse(request.query, view, hit, store.serial, ednsUdpSize);
    }
    const refusable = view.qclass !== RRClass.IN && view.qclass !== RRClass.ANY;
    if (!refusable && forwarder.stubFor(qname) !== null)
      return forwarder.forward(request.query, view, request.transport);
    const resolution = resolve(store, { name: qname, type: qtype, class: view.qclass });
    if (resolution.kind === 'forward') return forwarder.forward(request.query, view, request.transport);
    metrics?.answerCacheMiss();
    if (resolution.kind === 'chase') return chase(request, resolution);
    const message = resolution.message;
    if (!plain) return encodeResponseReference(request.query, view, message, ednsUdpSize);
    const encoded = encodeAnswer(qname, message);
    if (cacheable && message.rcode !== Rcode.SERVFAIL) {
      // Tagged with the query's metrics system, which the fast path cannot work out without the name.
      cache.set(qtype, qname, encoded, resolution.scopes, SYSTEMS.indexOf(classify(view)));
    }
    return assembleResponse(request.query, view, encoded, store.serial, ednsUdpSize);
  }

  const question = new RawQuestion();

  function udpFastPath(query: Buffer): Buffer | null {
    const started = metrics === undefined ? 0 : performance.now();
    if (!question.scanQuery(query) || question.qclass !== RRClass.IN) return null;
    const questionEnd = question.nameEnd + 4;
    const edns = !question.hasOpt ? NO_EDNS : question.dnssecOk ? EDNS_DO : EDNS;
    // The listener's UDP size limit is its ednsUdpSize, the same as ours.
    const maxSize = question.maxReplySize(ednsUdpSize);
    if (forwarder.routingVersion !== routingVersion || !store.hasSynced()) return null;
    const entry = cache.findRaw(query, question.hash, question.qtype);
    if (entry === undefined) return null;
    const encoded = entry.encoded;
    if (questionEnd + encoded.body.length + (edns === NO_EDNS ? 0 : 11) > maxSize) return null;
    const flags = (query[2]! << 8) | query[3]!;
    const response = assembleFromQuestion(query, questionEnd, flags, edns, encoded, store.serial, ednsUdpSize);
    metrics?.countFastAnswer(SYSTEMS[entry.tag]!, question.qtype, response, (performance.now() - started) / 1000);
    return response;
  }

  return { handler: handleKubeDnsQuery, udpFastPath };
}
