import { ipFamily } from '@kube-dns/daemon-kit';
import type { ServerDirective } from '../config.js';

/**
 * Parses a dnsmasq `--server` value (`[/[<domain>]/[domain/]][<server>[#<port>]]`) into a directive, or returns the
 * reason it is not one we take. Forms: `ip`, `ip#port`, `/d/ip#port`, `/a/b/ip` (several domains), `/d/` (local
 * only), `/d/#` (the default servers), `//ip` (unqualified names). Not supported: `@interface`/`@source` suffixes,
 * server host names, `*` wildcard domains.
 */
export function parseServerSpec(value: string): ServerDirective | string {
  let domains: string[] = [];
  let spec = value;
  if (value.startsWith('/')) {
    const last = value.lastIndexOf('/');
    if (last === 0) return `--server=${value}: missing the closing / after the domain`;
    const domainPart = value.slice(1, last);
    spec = value.slice(last + 1);
    domains = [];
    for (const raw of domainPart.split('/')) {
      const domain = normaliseDomain(raw);
      if (typeof domain !== 'string') return `--server=${value}: ${domain.error}`;
      if (!domains.includes(domain)) domains.push(domain);
    }
  }
  if (spec === '') {
    if (domains.length === 0) return `--server=${value}: no server address`;
    return { kind: 'local', domains };
  }
  if (spec === '#') {
    if (domains.length === 0) return `--server=${value}: '#' needs a domain`;
    return { kind: 'default', domains };
  }
  if (spec.includes('@')) return `--server=${value}: @interface and @source-address are not supported`;
  const hash = spec.lastIndexOf('#');
  const host = hash >= 0 ? spec.slice(0, hash) : spec;
  const portText = hash >= 0 ? spec.slice(hash + 1) : '53';
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    return `--server=${value}: invalid port "${portText}"`;
  }
  const unbracketed = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (ipFamily(unbracketed) === 0) {
    return `--server=${value}: "${host}" is not an IP address (server host names are not supported)`;
  }
  return { kind: 'forward', domains, server: { host: unbracketed, port: Number(portText) } };
}

/** `.example.com` is `example.com` (dnsmasq: "for historical reasons"); '' stays '' (unqualified names). */
function normaliseDomain(raw: string): string | { error: string } {
  if (raw === '') return '';
  if (raw.startsWith('*')) return { error: 'wildcard (*) domains are not supported' };
  let domain = raw.toLowerCase();
  while (domain.startsWith('.')) domain = domain.slice(1);
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  if (domain === '') return { error: `invalid domain "${raw}"` };
  if (domain.length > 253 || domain.split('.').some((label) => label === '' || label.length > 63)) {
    return { error: `invalid domain "${raw}"` };
  }
  return domain;
}

/** The server as dnsmasq writes it in logs and `servers.bind`: `ip#port`. */
export function serverLabel(server: { host: string; port: number }): string {
  return `${server.host}#${server.port}`;
}
