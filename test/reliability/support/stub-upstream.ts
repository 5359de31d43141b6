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
        // Built from the query's own bytes: the question echoed octet for octet (any label bytes), the
        // answer's owner a pointer to it.
        const header = Buffer.alloc(12);
        header.writeUInt16BE(view.id, 0);
        header.writeUInt16BE(0x8000 | (view.flags & 0x0100) | 0x0080, 2);
        header.writeUInt16BE(1, 4);
        header.writeUInt16BE(1, 6);
        const answer = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, ...STUB_ADDRESS.split('.').map(Number)]);
        return Buffer.concat([header, request.query.subarray(12, view.questionEnd), answer]);
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
