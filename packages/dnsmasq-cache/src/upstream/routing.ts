import { canonicalIp, type UpstreamServer } from '@kube-dns/daemon-kit';
import type { ServerDirective } from '../config.js';

/** What survives a reconfiguration for a server group: forwards in flight (for --dns-forward-max) and its favourite. */
export interface GroupState {
  inFlight: number;
  /** Index of the server that answered last (dnsmasq's last_server), or -1. */
  lastGood: number;
}

/** The servers one domain (or the default route) forwards to; dnsmasq's "server group". */
export interface ServerGroup {
  /** The domain ('' for the default servers, '//' for unqualified names). */
  name: string;
  servers: UpstreamServer[];
  /** `--server=/d/`: answer from hosts or NXDOMAIN, never forward. */
  local: boolean;
  state: GroupState;
}

/** The label dnsmasq uses for a server in logs and `servers.bind`: `ip#port`. */
export function serverLabel(server: UpstreamServer): string {
  return `${canonicalIp(server.host) ?? server.host}#${server.port}`;
}

/**
 * Routes a name to its server group by the longest matching `--server=/domain/` (whole labels: `/example.com/`
 * matches `example.com` and `www.example.com`, not `badexample.com`), else the default servers. Immutable: a new
 * configuration builds a new table while queries in flight keep the groups they started with.
 */
export class RoutingTable {
  private readonly domains: ReadonlyMap<string, ServerGroup>;
  readonly defaults: ServerGroup;
  private readonly unqualified: ServerGroup | null;

  constructor(domains: ReadonlyMap<string, ServerGroup>, defaults: ServerGroup, unqualified: ServerGroup | null) {
    this.domains = domains;
    this.defaults = defaults;
    this.unqualified = unqualified;
  }

  route(qname: string): ServerGroup {
    if (qname === '') return this.defaults;
    if (this.unqualified !== null && !qname.includes('.')) return this.unqualified;
    let name = qname;
    for (;;) {
      const group = this.domains.get(name);
      if (group !== undefined) return group;
      const dot = name.indexOf('.');
      if (dot < 0) return this.defaults;
      name = name.slice(dot + 1);
    }
  }

  /** Every group, the default first (logs, loop probes). */
  groups(): ServerGroup[] {
    const all = [this.defaults, ...this.domains.values()];
    if (this.unqualified) all.push(this.unqualified);
    return [...new Set(all)];
  }
}

/**
 * Builds the routing table from `--server` directives in dnsmasq's order (command line, then ConfigMap stub domains
 * and upstreams, then the resolv file). For one domain, `/d/#` (use the default servers) beats servers, which beat
 * `/d/` (local only), as in dnsmasq's lookup_domain. Servers in `disabled` (loop detected) are left out of the
 * default group. Group states are kept across rebuilds by name.
 */
export function buildRoutingTable(
  directives: readonly ServerDirective[],
  states: Map<string, GroupState>,
  disabled: ReadonlySet<string> = new Set(),
): RoutingTable {
  const stateFor = (name: string): GroupState => {
    let state = states.get(name);
    if (state === undefined) {
      state = { inFlight: 0, lastGood: -1 };
      states.set(name, state);
    }
    return state;
  };
  const defaults: ServerGroup = { name: '', servers: [], local: false, state: stateFor('') };
  const forward = new Map<string, UpstreamServer[]>();
  const local = new Set<string>();
  const useDefault = new Set<string>();
  for (const directive of directives) {
    if (directive.kind === 'forward' && directive.domains.length === 0) {
      const label = serverLabel(directive.server);
      if (!disabled.has(label) && !defaults.servers.some((s) => serverLabel(s) === label)) {
        defaults.servers.push(directive.server);
      }
      continue;
    }
    for (const domain of directive.domains) {
      if (directive.kind === 'forward') {
        const list = forward.get(domain) ?? [];
        if (!list.some((s) => serverLabel(s) === serverLabel(directive.server))) list.push(directive.server);
        forward.set(domain, list);
      } else if (directive.kind === 'local') {
        local.add(domain);
      } else {
        useDefault.add(domain);
      }
    }
  }
  const domains = new Map<string, ServerGroup>();
  let unqualified: ServerGroup | null = null;
  for (const domain of new Set([...forward.keys(), ...local, ...useDefault])) {
    const name = domain === '' ? '//' : domain;
    const group: ServerGroup = useDefault.has(domain)
      ? defaults
      : forward.has(domain)
        ? { name, servers: forward.get(domain)!, local: false, state: stateFor(name) }
        : { name, servers: [], local: true, state: stateFor(name) };
    if (domain === '') unqualified = group === defaults ? null : group;
    else domains.set(domain, group);
  }
  return new RoutingTable(domains, defaults, unqualified);
}

/**
 * Every server in dnsmasq's list order (`daemon->servers`), each address once: the order of `servers.bind`.
 */
export function serverOrder(directives: readonly ServerDirective[]): UpstreamServer[] {
  const seen = new Set<string>();
  const out: UpstreamServer[] = [];
  for (const directive of directives) {
    if (directive.kind !== 'forward') continue;
    const label = serverLabel(directive.server);
    if (!seen.has(label)) {
      seen.add(label);
      out.push(directive.server);
    }
  }
  return out;
}
