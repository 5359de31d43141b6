import type { UpstreamServer } from '@kube-dns/daemon-kit';
import { serverLabel } from './routing.js';

interface Counts {
  queries: number;
  failed: number;
}

/**
 * Per-server counters for `servers.bind`, summed per address as dnsmasq does (a server used for several domains is
 * one line). `queries`: queries sent to it; `failed`: queries it did not answer usefully (timeout, network error,
 * SERVFAIL or REFUSED). Counters outlive reconfigurations; only servers currently configured are listed.
 */
export class ServerStats {
  private readonly counts = new Map<string, Counts>();
  /** The counts of each server object seen (its label, which canonicalises the IP, is worked out once). */
  private readonly byServer = new WeakMap<UpstreamServer, Counts>();
  private order: string[] = [];

  /** The servers to list, in dnsmasq's order. */
  setServers(servers: readonly UpstreamServer[]): void {
    this.order = servers.map(serverLabel);
  }

  sent(server: UpstreamServer): void {
    this.countsFor(server).queries++;
  }

  failed(server: UpstreamServer): void {
    this.countsFor(server).failed++;
  }

  /** The TXT strings of `servers.bind`: `"<ip>#<port> <queries> <failed>"`, one per server. */
  serversBind(): string[] {
    return this.order.map((label) => {
      const counts = this.counts.get(label) ?? { queries: 0, failed: 0 };
      return `${label} ${counts.queries} ${counts.failed}`;
    });
  }

  get(server: UpstreamServer): Readonly<Counts> {
    return this.counts.get(serverLabel(server)) ?? { queries: 0, failed: 0 };
  }

  private countsFor(server: UpstreamServer): Counts {
    let counts = this.byServer.get(server);
    if (counts !== undefined) return counts;
    const label = serverLabel(server);
    counts = this.counts.get(label);
    if (counts === undefined) {
      counts = { queries: 0, failed: 0 };
      this.counts.set(label, counts);
    }
    this.byServer.set(server, counts);
    return counts;
  }
}
