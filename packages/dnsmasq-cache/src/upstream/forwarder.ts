import {
  ExchangeError,
  exchangeTcp,
  Flag,
  randomQueryId,
  Rcode,
  UdpUpstreamPool,
  type ExchangeOptions,
  type RejectReason,
  type Transport,
  type UpstreamServer,
} from '@kube-dns/daemon-kit';
import type { ServerGroup } from './routing.js';
import type { ServerStats } from './server-stats.js';

export type Exchange = (server: UpstreamServer, query: Buffer, options: ExchangeOptions) => Promise<Buffer>;

export interface ForwarderOptions {
  /** How long one server gets to answer before the next is tried. */
  upstreamTimeoutMs: number;
  /** After this long without a usable answer the client gets SERVFAIL. */
  forwardDeadlineMs: number;
  /** `--strict-order`: always start at the first server instead of the one that answered last. */
  strictOrder: boolean;
  stats: ServerStats;
  /** A forged or stray datagram was ignored (wrong source, ID or question). */
  onRejectedResponse?: (reason: RejectReason) => void;
  /** A server failed (timeout, network, SERVFAIL/REFUSED): for logs and metrics. */
  onServerFailure?: (server: UpstreamServer, reason: string) => void;
  /** Replaces the UDP exchange (tests); by default a UdpUpstreamPool of the forwarder's own. */
  exchangeUdp?: Exchange;
  exchangeTcp?: Exchange;
}

export interface ForwardOutcome {
  /** The upstream's answer (still carrying our random ID), or null when every server failed. */
  response: Buffer | null;
  server: UpstreamServer | null;
}

/**
 * Sends one client query to a server group and returns the first useful answer. Each attempt goes out with a fresh
 * random ID from one of a few sockets on random source ports that keep changing (daemon-kit UdpUpstreamPool), and
 * only an answer from that server and port, with that ID and the same question, is accepted. Order: the server
 * that answered last (or the first with `--strict-order`), then the others; a timeout, network error, SERVFAIL or
 * REFUSED moves on to the next; the last server may use what is left of the deadline when no other answered (a lone
 * slow server is waited for, as dnsmasq waits). A UDP answer with TC is fetched again over TCP from the same server; a query that came over
 * TCP goes upstream over TCP. When no server gave a usable answer, a SERVFAIL received is relayed, else a REFUSED, as
 * dnsmasq 2.90 answers (a zone transfer refused by kube-dns stays REFUSED; one SERVFAIL among refusals makes it
 * SERVFAIL); only when no server answered at all is the result null and the caller answers SERVFAIL.
 */
export class Forwarder {
  private readonly udp: Exchange;
  private readonly tcp: Exchange;
  private readonly pool: UdpUpstreamPool | null;

  private readonly options: ForwarderOptions;

  constructor(options: ForwarderOptions) {
    this.options = options;
    if (options.exchangeUdp !== undefined) {
      this.pool = null;
      this.udp = options.exchangeUdp;
    } else {
      const pool = new UdpUpstreamPool({ onRejectedResponse: options.onRejectedResponse });
      this.pool = pool;
      this.udp = (server, query, exchangeOptions) => pool.exchange(server, query, exchangeOptions);
    }
    this.tcp = options.exchangeTcp ?? exchangeTcp;
  }

  /** Closes the upstream sockets; forwards in flight fail over to nothing and end in SERVFAIL. */
  close(): void {
    this.pool?.close();
  }

  async forward(query: Buffer, transport: Transport, group: ServerGroup, countStats: boolean): Promise<ForwardOutcome> {
    const servers = group.servers;
    const count = servers.length;
    if (count === 0) return { response: null, server: null };
    const deadline = performance.now() + this.options.forwardDeadlineMs;
    const start = this.options.strictOrder || group.state.lastGood < 0 ? 0 : group.state.lastGood % count;
    // dnsmasq 2.90 relays the SERVFAIL or REFUSED it got (REFUSED only when no server said SERVFAIL).
    let servfail: ForwardOutcome | null = null;
    let refused: ForwardOutcome | null = null;
    for (let attempt = 0; attempt < count; attempt++) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) break;
      const index = (start + attempt) % count;
      const server = servers[index]!;
      const last = attempt === count - 1;
      // The last server may use the rest of the deadline, unless another one already answered (SERVFAIL/REFUSED).
      const patient = last && servfail === null && refused === null;
      const timeoutMs = this.attemptTimeout(remaining, patient);
      if (countStats) this.options.stats.sent(server);
      let response: Buffer;
      try {
        const onRejectedResponse = this.options.onRejectedResponse;
        if (transport === 'tcp') {
          response = await this.tcp(server, withRandomId(query), { timeoutMs, onRejectedResponse });
        } else {
          // The pool writes its own random ID into the copy.
          const copy = this.pool === null ? withRandomId(query) : Buffer.from(query);
          response = await this.udp(server, copy, { timeoutMs, onRejectedResponse });
          if (response[2]! & (Flag.TC >> 8)) {
            // Truncated: the full answer over TCP from the same server, within what is left of the budget.
            const tcpTimeoutMs = this.attemptTimeout(deadline - performance.now(), patient);
            response = await this.tcp(server, withRandomId(query), { timeoutMs: tcpTimeoutMs, onRejectedResponse });
          }
        }
      } catch (error) {
        if (countStats) this.options.stats.failed(server);
        this.options.onServerFailure?.(server, error instanceof ExchangeError ? error.code : String(error));
        continue;
      }
      const rcode = response[3]! & 0xf;
      if (rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED) {
        if (rcode === Rcode.SERVFAIL) servfail ??= { response, server };
        else refused ??= { response, server };
        // dnsmasq counts a SERVFAIL or REFUSED it retries as a failed query of that server.
        if (countStats) this.options.stats.failed(server);
        this.options.onServerFailure?.(server, rcode === Rcode.SERVFAIL ? 'SERVFAIL' : 'REFUSED');
        continue;
      }
      group.state.lastGood = index;
      return { response, server };
    }
    return servfail ?? refused ?? { response: null, server: null };
  }

  /** How long one exchange may wait: one server's timeout, or for a patient last server all the deadline left. */
  private attemptTimeout(left: number, patient: boolean): number {
    return Math.max(1, patient ? left : Math.min(this.options.upstreamTimeoutMs, left));
  }
}

function withRandomId(query: Buffer): Buffer {
  const copy = Buffer.from(query);
  copy.writeUInt16BE(randomQueryId(), 0);
  return copy;
}
