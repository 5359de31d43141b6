import dnsPacket from 'dns-packet';
import {
  buildErrorResponse,
  silentLogger,
  startDnsListener,
  type DnsListener,
  type DnsRequest,
  type UpstreamServer,
} from '@kube-dns/daemon-kit';

/**
 * A fast upstream on loopback for load and fuzz runs: names under `example.org` get one A record
 * (`192.0.2.1`, TTL 300), everything else NXDOMAIN, answered from the wire without a full decode.
 * It counts what it saw and how many queries it had in flight at most (with `delayMs`).
 */
export interface StubUpstream extends UpstreamServer {
  readonly server: UpstreamServer;
  queries: number;
  maxInFlight: number;
  /** Answer after this long (0: at once). */
  delayMs: number;
  /** Names (lower case, no trailing dot) asked, when `recordNames` is on. */
  names: string[];
  recordNames: boolean;
  close(): Promise<void>;
}

export const STUB_ADDRESS = '192.0.2.1';

export async function startStubUpstream(options: { host?: string; delayMs?: number } = {}): Promise<StubUpstream> {
  let inFlight = 0;
  const state = {
    queries: 0,
    maxInFlight: 0,
    delayMs: options.delayMs ?? 0,
    names: [] as string[],
    recordNames: false,
  };
  const answer = (request: DnsRequest): Buffer | null => {
    const { view } = request;
    if (view.qname === 'example.org' || view.qname.endsWith('.example.org')) {
      if (view.qtype === 1 && view.qclass === 1) {
        const question = dnsPacket.decode(request.query).questions ?? [];
        return dnsPacket.encode({
          type: 'response',
          id: view.id,
          flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
          questions: question,
          answers: [{ type: 'A', name: question[0]?.name ?? view.qname, ttl: 300, data: STUB_ADDRESS }],
        });
      }
      return buildErrorResponse(request.query, view, 0, { recursionAvailable: true });
    }
    return buildErrorResponse(request.query, view, 3, { recursionAvailable: true });
  };
  const listener: DnsListener = await startDnsListener({
    host: options.host ?? '127.0.0.1',
    port: 0,
    logger: silentLogger,
    recursionAvailable: true,
    maxTcpConnections: 4096,
    handler: async (request) => {
      state.queries++;
      if (state.recordNames) state.names.push(request.view.qname);
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      try {
        if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
        return answer(request);
      } finally {
        inFlight--;
      }
    },
  });
  const server = { host: listener.host, port: listener.port };
  return Object.assign(state, {
    ...server,
    server,
    close: () => listener.close(),
  });
}
