import {
  bytesToIp,
  exchangeUdp,
  Flag,
  HEADER_LENGTH,
  randomQueryId,
  RRClass,
  RRType,
  encodeName,
  walkRecords,
  type KubeDnsConfig,
  type UpstreamServer,
} from '@kube-dns/daemon-kit';
import type { ServerDirective } from '../config.js';
import type { RoutingTable } from './routing.js';

export interface ConfigDirectives {
  stubs: ServerDirective[];
  upstreams: ServerDirective[];
  /** Stub server host names that could not be resolved (logged; their domain gets no such server). */
  unresolved: string[];
}

export type HostResolver = (hostname: string) => Promise<string | null>;

/**
 * The kube-dns ConfigMap as dnsmasq-nanny turned it into dnsmasq arguments: each stub server becomes
 * `--server=/<domain>/<ip>#<port>` (host names resolved first), each upstream nameserver `--server=<ip>#<port>`.
 */
export async function configDirectives(config: KubeDnsConfig, resolve: HostResolver): Promise<ConfigDirectives> {
  const stubs: ServerDirective[] = [];
  const unresolved: string[] = [];
  for (const stub of config.stubDomains) {
    let any = false;
    for (const server of stub.servers) {
      let host: string;
      if (server.kind === 'ip') {
        host = server.host;
      } else {
        const ip = await resolve(server.hostname);
        if (ip === null) {
          unresolved.push(server.hostname);
          continue;
        }
        host = ip;
      }
      any = true;
      stubs.push({ kind: 'forward', domains: [stub.domain], server: { host, port: server.port } });
    }
    // Every server unresolvable: keep the domain away from the default servers until a later reload resolves one.
    if (!any) stubs.push({ kind: 'local', domains: [stub.domain] });
  }
  const upstreams = config.upstreamNameservers.map((server): ServerDirective => ({
    kind: 'forward',
    domains: [],
    server,
  }));
  return { stubs, upstreams, unresolved };
}

/**
 * Resolves a stub server's host name the way the nanny did, through our own routes: names under a domain routed to
 * kube-dns (`--server=/cluster.local/127.0.0.1#10053`) ask kube-dns, others the default servers. The first A, else
 * AAAA, address wins.
 */
export function routingResolver(table: () => RoutingTable, timeoutMs: number): HostResolver {
  return async (hostname) => {
    const group = table().route(hostname.toLowerCase());
    for (const server of group.servers) {
      for (const type of [RRType.A, RRType.AAAA]) {
        const ip = await lookupAddress(server, hostname, type, timeoutMs);
        if (ip !== null) return ip;
      }
    }
    return null;
  };
}

async function lookupAddress(
  server: UpstreamServer,
  hostname: string,
  type: number,
  timeoutMs: number,
): Promise<string | null> {
  const name = encodeName(hostname);
  const query = Buffer.alloc(HEADER_LENGTH + name.length + 4);
  query.writeUInt16BE(randomQueryId(), 0);
  query.writeUInt16BE(Flag.RD, 2);
  query.writeUInt16BE(1, 4);
  name.copy(query, HEADER_LENGTH);
  query.writeUInt16BE(type, HEADER_LENGTH + name.length);
  query.writeUInt16BE(RRClass.IN, HEADER_LENGTH + name.length + 2);
  let response: Buffer;
  try {
    response = await exchangeUdp(server, query, { timeoutMs });
  } catch {
    return null;
  }
  const walked = walkRecords(response);
  const record = walked?.records.find((r) => r.section === 'answer' && r.type === type);
  if (!record) return null;
  const rdata = response.subarray(record.fixed + 10, record.end);
  return rdata.length === (type === RRType.A ? 4 : 16) ? bytesToIp(Buffer.from(rdata)) : null;
}
