import type { RecordType } from 'dns-packet';
import { silentLogger, type Logger, type UpstreamServer } from '@kube-dns/daemon-kit';
import { main, parseCommandLine, type DnsmasqCacheHandle, type MainDeps } from '@kube-dns/dnsmasq-cache';
import { queryDns, type QueryOptions, type QueryResult } from '../helpers/index.js';

/** A clock tests move by hand (milliseconds). */
export interface FakeClock {
  now: () => number;
  advance: (ms: number) => void;
}

export function fakeClock(start = 1_700_000_000_000): FakeClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

export interface RunningCache {
  handle: DnsmasqCacheHandle;
  server: UpstreamServer;
  query(name: string, type: RecordType, options?: QueryOptions): Promise<QueryResult>;
  /** CHAOS TXT statistics as dnsmasq names them, each value as the TXT strings. */
  chaos(name: string, options?: QueryOptions): Promise<string[]>;
  /** hits, misses, insertions, evictions, cachesize as numbers. */
  stats(): Promise<Record<'hits' | 'misses' | 'insertions' | 'evictions' | 'cachesize', number>>;
  close(): Promise<void>;
}

/**
 * dnsmasq-cache in-process on 127.0.0.1 with a free port, from dnsmasq-style arguments (plus `--no-hosts`,
 * `--no-resolv`, `--listen-address`, `--port=0` and short upstream timeouts unless the test overrides them).
 */
export async function startCache(args: string[], deps: MainDeps & { logger?: Logger } = {}): Promise<RunningCache> {
  const defaults = [
    '--port=0',
    '--listen-address=127.0.0.1',
    '--shutdown-grace=0',
    '--upstream-timeout=300ms',
    '--forward-deadline=1500ms',
  ];
  // The test's own values replace these defaults (a single-valued flag given twice is an error, as in dnsmasq).
  const flagOf = (arg: string): string => arg.split('=')[0]!;
  const given = new Set(args.map(flagOf));
  const config = parseCommandLine([...defaults.filter((arg) => !given.has(flagOf(arg))), ...args]);
  const handle = await main(config, { logger: silentLogger, resolvPollMs: 50, tcpIdleTimeoutMs: 2000, ...deps });
  const server = { host: '127.0.0.1', port: handle.ports.dns };
  const chaos = async (name: string, options: QueryOptions = {}): Promise<string[]> => {
    const result = await queryDns(server, name, 'TXT', { qclass: 'CH', ...options });
    const answer = result.packet.answers?.[0] as { data?: Buffer[] } | undefined;
    return (answer?.data ?? []).map((b) => b.toString());
  };
  return {
    handle,
    server,
    query: (name, type, options) => queryDns(server, name, type, options),
    chaos,
    async stats() {
      const out: Record<string, number> = {};
      for (const name of ['hits', 'misses', 'insertions', 'evictions', 'cachesize']) {
        out[name] = Number((await chaos(`${name}.bind`))[0]);
      }
      // hits.bind is asked first, so it shows the hits before these statistics queries (each of which is a hit).
      return out;
    },
    close: () => handle.close(),
  };
}

/** The TTLs of the answer section. */
export function answerTtls(result: QueryResult): number[] {
  return (result.packet.answers ?? []).map((a) => (a as { ttl?: number }).ttl ?? -1);
}

/** Answer data as strings. */
export function answerData(result: QueryResult): string[] {
  return (result.packet.answers ?? []).map((a) => String((a as { data: unknown }).data));
}
