import type { LogFormat, UpstreamServer } from '@kube-dns/daemon-kit';

/**
 * One `--server` (or `--local`) directive, as dnsmasq reads it. `domains` are lower case without dots at either end;
 * an empty list means "every name" (a default server); the domain '' stands for dnsmasq's `//`: unqualified names.
 */
export type ServerDirective =
  | { kind: 'forward'; domains: string[]; server: UpstreamServer }
  /** `--server=/d/`: answered from /etc/hosts or NXDOMAIN, never forwarded. */
  | { kind: 'local'; domains: string[] }
  /** `--server=/d/#`: use the default servers for d (undoes a less specific `/domain/` route). */
  | { kind: 'default'; domains: string[] };

/** Where log lines go: `-` is stderr, a path is a file, anything else is a syslog facility name (we log to stderr). */
export type LogTarget = { kind: 'stderr' } | { kind: 'file'; path: string };

/** Everything the command line (and `--conf-file`) decides, with units applied (ms for durations, s for TTLs). */
export interface DnsmasqCacheConfig {
  /** `-p/--port`; 0 picks a free port (dnsmasq would disable DNS, which makes no sense for this program). */
  port: number;
  /** `-a/--listen-address`, in order; empty means 0.0.0.0. */
  listenAddresses: string[];
  /** `-z/--bind-interfaces`: accepted; we always bind exactly the listen addresses. */
  bindInterfaces: boolean;
  /** `-c/--cache-size`, in dnsmasq's unit: cached resource records. 0 disables the cache. */
  cacheSize: number;
  /** false with `-N/--no-negcache`. */
  negativeCache: boolean;
  /** `--neg-ttl`: negative TTL when the upstream sends no SOA (0: such answers are not cached). */
  negTtl: number;
  /** `--max-ttl`: the most TTL handed to clients (0: no limit); the cache keeps the true TTL. */
  maxTtl: number;
  /** `--max-cache-ttl`: the longest an answer stays cached (0: no limit). */
  maxCacheTtl: number;
  /** `--min-cache-ttl`: shorter TTLs are extended to this when cached (at most 3600, as dnsmasq). */
  minCacheTtl: number;
  /** `-T/--local-ttl`: TTL of answers from hosts files. */
  localTtl: number;
  /** `-S/--server` and `--local`, in command line order. */
  servers: ServerDirective[];
  /** `-R/--no-resolv`. */
  noResolv: boolean;
  /** `-r/--resolv-file`; the first replaces /etc/resolv.conf, later ones are added (the newest file wins). */
  resolvFiles: string[];
  /** `-n/--no-poll`: read the resolv file once. */
  noPoll: boolean;
  /** `-h/--no-hosts`. */
  noHosts: boolean;
  /** `-H/--addn-hosts`: files or folders. */
  addnHosts: string[];
  /** The hosts file read unless `--no-hosts` (tests point it elsewhere). */
  hostsFile: string;
  /** `-0/--dns-forward-max`: concurrent forwarded queries per server group. */
  dnsForwardMax: number;
  /** `--dns-loop-detect`. */
  dnsLoopDetect: boolean;
  /** `-o/--strict-order`: always start with the first server of a group. */
  strictOrder: boolean;
  /** `-P/--edns-packet-max`: the largest UDP answer we send and advertise. */
  ednsPacketMax: number;
  /** `--no-ident`: no CHAOS `*.bind` answers. */
  noIdent: boolean;
  /** `--clear-on-reload`: empty the cache when the upstream servers change. */
  clearOnReload: boolean;
  /** `--max-tcp-connections`. */
  maxTcpConnections: number;
  /** `-8/--log-facility`. */
  logTarget: LogTarget;
  /** `-q/--log-queries`: one line per query. */
  logQueries: boolean;
  /** `--log-debug`. */
  logDebug: boolean;
  /** null unless set by LOG_FORMAT (daemon-kit decides). */
  logFormat: LogFormat | null;
  /** `-x/--pid-file`; null writes none (dnsmasq's default /var/run/dnsmasq.pid is not written). */
  pidFile: string | null;
  /** Added: `--config-dir`, the mounted kube-dns ConfigMap folder, and how often it is polled. */
  configDir: string | null;
  configPeriodMs: number;
  /** Added: per-server answer timeout before the next server is tried. */
  upstreamTimeoutMs: number;
  /** Added: the whole forward (all servers) gives up with SERVFAIL after this long. */
  forwardDeadlineMs: number;
  /** Added: on SIGTERM keep answering this long (lameduck) before closing; a second signal exits at once. */
  shutdownGraceMs: number;
  /** Added: Prometheus metrics on this port (null: off, the default). */
  metricsPort: number | null;
  metricsAddress: string;
  /** `--test`: check the command line and exit. */
  testOnly: boolean;
  /** `-w/--help` or `-v/--version`: print this and exit 0. */
  print: string | null;
}

export const DEFAULT_CACHE_SIZE = 150;
export const DEFAULT_FORWARD_MAX = 150;
/** dnsmasq's TTL_FLOOR_LIMIT: `--min-cache-ttl` is capped at one hour. */
export const MIN_CACHE_TTL_LIMIT = 3600;
/** dnsmasq EDNS_PKTSZ (DNS Flag Day 2020). */
export const DEFAULT_EDNS_PACKET_MAX = 1232;

export function defaultConfig(): DnsmasqCacheConfig {
  return {
    port: 53,
    listenAddresses: [],
    bindInterfaces: false,
    cacheSize: DEFAULT_CACHE_SIZE,
    negativeCache: true,
    negTtl: 0,
    maxTtl: 0,
    maxCacheTtl: 0,
    minCacheTtl: 0,
    localTtl: 0,
    servers: [],
    noResolv: false,
    resolvFiles: ['/etc/resolv.conf'],
    noPoll: false,
    noHosts: false,
    addnHosts: [],
    hostsFile: '/etc/hosts',
    dnsForwardMax: DEFAULT_FORWARD_MAX,
    dnsLoopDetect: false,
    strictOrder: false,
    ednsPacketMax: DEFAULT_EDNS_PACKET_MAX,
    noIdent: false,
    clearOnReload: false,
    maxTcpConnections: 1024,
    logTarget: { kind: 'stderr' },
    logQueries: false,
    logDebug: false,
    logFormat: null,
    pidFile: null,
    configDir: null,
    configPeriodMs: 5000,
    upstreamTimeoutMs: 2000,
    forwardDeadlineMs: 4500,
    shutdownGraceMs: 5000,
    metricsPort: null,
    metricsAddress: '0.0.0.0',
    testOnly: false,
    print: null,
  };
}
