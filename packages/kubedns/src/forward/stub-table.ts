import { canonicalIp, formatServer, type Logger, type StubDomain, type UpstreamServer } from '@kube-dns/daemon-kit';
import type { ServerRoute } from './forwarder.js';

export interface StubRoute {
  readonly domain: string;
}

interface StubState extends StubRoute {
  readonly config: StubDomain;
  route: ServerRoute;
  /** Set while host-name servers are being resolved; queries wait for it. */
  resolving: Promise<void> | null;
  lastAttempt: number;
  hasHostnames: boolean;
  /** The names that did not resolve last time, to log each change once. */
  unresolved: string;
}

export interface StubTableOptions {
  logger: Logger;
  refreshMs: number;
  resolveLocal: (hostname: string) => string[] | null;
  resolveUpstream: (hostname: string) => Promise<string[]>;
  now?: () => number;
}

/** Retry a stub whose host names resolved to nothing at most this often when queries keep hitting it. */
const RETRY_EMPTY_MS = 1000;

/**
 * The stub domains of the ConfigMap: longest-suffix matching, and servers given as host names resolved to
 * addresses (inside the cluster zone from our own records, else through the upstream servers), again every
 * `refreshMs` so a moved stub server is followed without a restart (the original nanny resolved them only
 * when it restarted dnsmasq).
 */
export class StubTable {
  private stubs: StubState[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private readonly options: StubTableOptions;

  constructor(options: StubTableOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Replaces the table; returns false when nothing changed. */
  set(domains: readonly StubDomain[]): boolean {
    if (
      sameDomains(
        domains,
        this.stubs.map((s) => s.config),
      )
    )
      return false;
    this.stubs = domains.map((config) => {
      const hasHostnames = config.servers.some((s) => s.kind === 'hostname');
      const state: StubState = {
        domain: config.domain,
        config,
        route: { servers: ipServers(config), preferred: 0 },
        resolving: null,
        lastAttempt: 0,
        hasHostnames,
        unresolved: '',
      };
      return state;
    });
    for (const stub of this.stubs) if (stub.hasHostnames) this.startResolving(stub);
    this.options.logger.info('stub domains set', {
      stubDomains: Object.fromEntries(
        domains.map(
          (d) =>
            [d.domain, d.servers.map((s) => (s.kind === 'ip' ? formatServer(s) : `${s.hostname}:${s.port}`))] as const,
        ),
      ),
    });
    this.scheduleRefresh();
    return true;
  }

  match(name: string): StubState | null {
    let best: StubState | null = null;
    for (const stub of this.stubs) {
      const domain = stub.domain;
      if (name !== domain && !(name.endsWith(domain) && name[name.length - domain.length - 1] === '.')) continue;
      if (best === null || domain.length > best.domain.length) best = stub;
    }
    return best;
  }

  /** The servers of a stub, waiting for a host-name resolution in progress. */
  async route(stub: StubRoute): Promise<ServerRoute> {
    const state = stub as StubState;
    if (state.resolving === null && state.hasHostnames && state.route.servers.length === 0) {
      if (this.now() - state.lastAttempt >= RETRY_EMPTY_MS) this.startResolving(state);
    }
    if (state.resolving !== null) await state.resolving;
    return state.route;
  }

  /** Each stub domain with the servers it resolves to right now. */
  describe(): Array<{ domain: string; servers: UpstreamServer[] }> {
    return this.stubs.map((s) => ({ domain: s.domain, servers: [...s.route.servers] }));
  }

  async refreshAll(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const stub of this.stubs) {
      if (!stub.hasHostnames) continue;
      if (stub.resolving === null) this.startResolving(stub);
      pending.push(stub.resolving!);
    }
    await Promise.all(pending);
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private scheduleRefresh(): void {
    const needed = this.stubs.some((s) => s.hasHostnames);
    if (!needed) {
      this.close();
      return;
    }
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.refreshAll(), this.options.refreshMs);
    this.timer.unref();
  }

  private startResolving(stub: StubState): void {
    stub.lastAttempt = this.now();
    stub.resolving = this.resolve(stub).finally(() => {
      stub.resolving = null;
    });
  }

  private async resolve(stub: StubState): Promise<void> {
    const servers: UpstreamServer[] = [];
    const unresolved: string[] = [];
    for (const server of stub.config.servers) {
      if (server.kind === 'ip') {
        servers.push({ host: server.host, port: server.port });
        continue;
      }
      let addresses: string[];
      try {
        addresses = this.options.resolveLocal(server.hostname) ?? (await this.options.resolveUpstream(server.hostname));
      } catch {
        addresses = [];
      }
      if (addresses.length === 0) unresolved.push(server.hostname);
      for (const address of addresses) servers.push({ host: canonicalIp(address) ?? address, port: server.port });
    }
    // The table may have been replaced meanwhile: only a live stub is updated.
    if (!this.stubs.includes(stub)) return;
    const before = stub.route.servers.map((s) => formatServer(s));
    const after = servers.map((s) => formatServer(s));
    if (before.join(',') !== after.join(',')) {
      stub.route = { servers, preferred: 0 };
      this.options.logger.info('stub domain servers resolved', { domain: stub.domain, servers: after });
    }
    const missing = unresolved.join(',');
    if (missing !== stub.unresolved) {
      stub.unresolved = missing;
      if (missing !== '') {
        this.options.logger.warn('stub domain server names did not resolve', { domain: stub.domain, unresolved });
      }
    }
  }
}

function ipServers(config: StubDomain): UpstreamServer[] {
  const out: UpstreamServer[] = [];
  for (const server of config.servers) if (server.kind === 'ip') out.push({ host: server.host, port: server.port });
  return out;
}

function sameDomains(a: readonly StubDomain[], b: readonly StubDomain[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
