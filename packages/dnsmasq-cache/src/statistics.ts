/**
 * The query counters behind dnsmasq's CHAOS statistics, with dnsmasq 2.90's meaning (forward.c receive_query):
 * - `hits` (hits.bind): UDP queries answered here without forwarding: from the cache, hosts files, the statistics
 *   themselves, local-only domains, REFUSED for lack of servers or over --dns-forward-max, and identical queries
 *   that joined one already in flight.
 * - `misses` (misses.bind): UDP queries forwarded upstream.
 * - `auth` (auth.bind): authoritative answers; always 0 (no --auth-zone).
 * Queries over TCP are not counted: dnsmasq serves each TCP connection in a forked child whose counters are lost,
 * and we keep the numbers comparable (cache insertions from TCP answers do count, as in dnsmasq).
 */
export interface QueryCounters {
  hits: number;
  misses: number;
  auth: number;
}

export function newQueryCounters(): QueryCounters {
  return { hits: 0, misses: 0, auth: 0 };
}

/** What `*.bind` CHAOS TXT names answer, or undefined for names dnsmasq answers NOTIMP. */
export interface ChaosSource {
  cacheSize: number;
  insertions: number;
  evictions: number;
  misses: number;
  hits: number;
  auth: number;
  serversBind(): string[];
  version: string;
}

/** dnsmasq 2.90's statistics names (option.c). version/authors/copyright name this program, not dnsmasq. */
export function chaosTxt(name: string, source: ChaosSource): string[] | undefined {
  switch (name) {
    case 'cachesize.bind':
      return [String(source.cacheSize)];
    case 'insertions.bind':
      return [String(source.insertions)];
    case 'evictions.bind':
      return [String(source.evictions)];
    case 'misses.bind':
      return [String(source.misses)];
    case 'hits.bind':
      return [String(source.hits)];
    case 'auth.bind':
      return [String(source.auth)];
    case 'servers.bind':
      return source.serversBind();
    case 'version.bind':
      return [`dnsmasq-cache-${source.version}`];
    case 'authors.bind':
      return ['The kube-dns-ts authors'];
    case 'copyright.bind':
      return ['Copyright (c) The kube-dns-ts authors, Apache-2.0'];
    default:
      return undefined;
  }
}

/** dnsmasq never forwards `*.bind` or `*.server` CHAOS queries: what it does not know is NOTIMP. */
export function isChaosReserved(name: string): boolean {
  return name === 'bind' || name.endsWith('.bind') || name === 'server' || name.endsWith('.server');
}
