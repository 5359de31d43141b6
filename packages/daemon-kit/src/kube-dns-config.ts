import { ipFamily } from './ip.js';
import type { UpstreamServer } from './upstream-exchange.js';

/**
 * The `kube-system/kube-dns` ConfigMap, as kube-dns and dnsmasq-nanny read it (kubernetes/dns
 * pkg/dns/config). Keys: `stubDomains` (JSON object domain → servers), `upstreamNameservers` (JSON array,
 * at most 3), `federations` (`name=domain,…`, deprecated: validated, otherwise unused). Unknown keys are
 * ignored. Any invalid key rejects the whole update: the caller keeps its previous configuration.
 */
export interface KubeDnsConfig {
  stubDomains: StubDomain[];
  upstreamNameservers: UpstreamServer[];
  federations: Map<string, string>;
}

export interface StubDomain {
  /** Lower case, no trailing dot. */
  domain: string;
  servers: StubServer[];
}

/** A stub server is an IP (with port) or a hostname that the consumer resolves (port 53). */
export type StubServer =
  { kind: 'ip'; host: string; port: number } | { kind: 'hostname'; hostname: string; port: number };

export type ConfigParseResult = { ok: true; config: KubeDnsConfig } | { ok: false; error: string };

export const emptyKubeDnsConfig = (): KubeDnsConfig => ({
  stubDomains: [],
  upstreamNameservers: [],
  federations: new Map(),
});

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Kubernetes IsDNS1123Subdomain: ≤253 chars, lower-case labels of [a-z0-9-] (dots between). */
export function isDns1123Subdomain(value: string): boolean {
  return (
    value.length > 0 &&
    value.length <= 253 &&
    value.split('.').every((label) => label.length <= 63 && DNS1123_LABEL.test(label))
  );
}

export function isDns1123Label(value: string): boolean {
  return value.length > 0 && value.length <= 63 && DNS1123_LABEL.test(value);
}

/** Splits `host:port`, `[v6]:port`, bare IPv4/IPv6 or name. Returns null port when none was given. */
export function splitHostPort(value: string): { host: string; port: string | null } | null {
  if (value.startsWith('[')) {
    const match = /^\[([^\]]+)\](?::(.*))?$/.exec(value);
    if (!match) return null;
    return { host: match[1]!, port: match[2] ?? null };
  }
  const colons = value.split(':').length - 1;
  if (colons === 1) {
    const [host, port] = value.split(':') as [string, string];
    return { host, port };
  }
  return { host: value, port: null };
}

function parsePort(text: string | null, allowZero: boolean): number | null {
  if (text === null) return 53;
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 && (allowZero || port >= 1) ? port : null;
}

/** `ip` or `ip:port` (kube-dns ValidateNameserverIpAndPort): hostnames are not allowed. */
export function parseNameserver(value: string): UpstreamServer | null {
  const parts = splitHostPort(value.trim());
  if (!parts || ipFamily(parts.host) === 0) return null;
  const port = parsePort(parts.port, false);
  return port === null ? null : { host: parts.host, port };
}

function parseStubServer(value: string): StubServer | null {
  const parts = splitHostPort(value);
  if (parts && ipFamily(parts.host) !== 0) {
    const port = parsePort(parts.port, true);
    return port === null ? null : { kind: 'ip', host: parts.host, port };
  }
  // kube-dns checks the whole string as a hostname, so `name:port` is rejected.
  if (isDns1123Subdomain(value)) return { kind: 'hostname', hostname: value, port: 53 };
  return null;
}

/** Parses and validates ConfigMap data (file name or key → content). */
export function parseKubeDnsConfig(data: Readonly<Record<string, string>>): ConfigParseResult {
  const config = emptyKubeDnsConfig();
  const stubText = data['stubDomains'];
  if (stubText !== undefined && stubText.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(stubText);
    } catch (error) {
      return { ok: false, error: `stubDomains: invalid JSON: ${(error as Error).message}` };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { ok: false, error: 'stubDomains: expected a JSON object of domain to server list' };
    }
    for (const [domain, servers] of Object.entries(parsed as Record<string, unknown>)) {
      if (!isDns1123Subdomain(domain)) return { ok: false, error: `stubDomains: invalid domain name: "${domain}"` };
      if (!Array.isArray(servers) || !servers.every((s) => typeof s === 'string')) {
        return { ok: false, error: `stubDomains: "${domain}": expected a list of servers` };
      }
      const parsedServers: StubServer[] = [];
      for (const server of servers) {
        const stub = parseStubServer(server);
        if (!stub) return { ok: false, error: `stubDomains: invalid nameserver: "${server}"` };
        parsedServers.push(stub);
      }
      config.stubDomains.push({ domain, servers: parsedServers });
    }
  }
  const upstreamText = data['upstreamNameservers'];
  if (upstreamText !== undefined && upstreamText.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(upstreamText);
    } catch (error) {
      return { ok: false, error: `upstreamNameservers: invalid JSON: ${(error as Error).message}` };
    }
    if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) {
      return { ok: false, error: 'upstreamNameservers: expected a JSON array of strings' };
    }
    if (parsed.length > 3) return { ok: false, error: 'upstreamNameservers: cannot have more than three entries' };
    for (const entry of parsed) {
      const server = parseNameserver(entry);
      if (!server) return { ok: false, error: `upstreamNameservers: invalid nameserver: "${entry}"` };
      config.upstreamNameservers.push(server);
    }
  }
  const federationsText = data['federations'];
  if (federationsText !== undefined && federationsText.trim() !== '') {
    for (const pair of federationsText.split(',')) {
      const [name, domain, extra] = pair.trim().split('=');
      if (extra !== undefined || !name || !domain) return { ok: false, error: `federations: invalid entry "${pair}"` };
      if (!isDns1123Label(name)) return { ok: false, error: `federations: invalid name "${name}"` };
      if (!isDns1123Subdomain(domain)) return { ok: false, error: `federations: invalid domain "${domain}"` };
      config.federations.set(name, domain);
    }
  }
  return { ok: true, config };
}
