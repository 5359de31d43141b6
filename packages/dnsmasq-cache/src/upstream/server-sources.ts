import type { UpstreamServer } from '@kube-dns/daemon-kit';
import type { ServerDirective } from '../config.js';
import { serverLabel } from './routing.js';

/** Where the upstream servers come from at one moment. */
export interface ServerSources {
  /** `--server`/`--local` from the command line, in order. */
  commandLine: readonly ServerDirective[];
  /** From `--config-dir`: stub domains (`/domain/ip#port`) and upstreamNameservers (default servers). */
  configStubs: readonly ServerDirective[];
  configUpstreams: readonly ServerDirective[];
  /** Nameservers of the resolv file; ignored with `--no-resolv` or when the ConfigMap names upstreams. */
  resolv: readonly UpstreamServer[];
  noResolv: boolean;
}

/**
 * The directives in dnsmasq's order, as dnsmasq-nanny would have started dnsmasq: the manifest's arguments, then
 * `--server=/domain/ip` per stub server, then `--server=ip` per upstream nameserver (with `--no-resolv` when there are
 * any), then the resolv file's nameservers.
 */
export function composeDirectives(sources: ServerSources): ServerDirective[] {
  const useResolv = !sources.noResolv && sources.configUpstreams.length === 0;
  return [
    ...sources.commandLine,
    ...sources.configStubs,
    ...sources.configUpstreams,
    ...(useResolv ? sources.resolv.map((server): ServerDirective => ({ kind: 'forward', domains: [], server })) : []),
  ];
}

/** dnsmasq's startup lines for each server (network.c check_servers). */
export function describeDirectives(directives: readonly ServerDirective[]): string[] {
  const lines: string[] = [];
  for (const directive of directives) {
    if (directive.kind === 'forward') {
      if (directive.domains.length === 0) lines.push(`using nameserver ${serverLabel(directive.server)}`);
      for (const domain of directive.domains) {
        lines.push(
          domain === ''
            ? `using nameserver ${serverLabel(directive.server)} for unqualified names`
            : `using nameserver ${serverLabel(directive.server)} for domain ${domain}`,
        );
      }
    } else if (directive.kind === 'local') {
      for (const domain of directive.domains)
        lines.push(`using only locally-known addresses for ${domain || 'unqualified names'}`);
    } else {
      for (const domain of directive.domains) lines.push(`using standard nameservers for ${domain}`);
    }
  }
  return lines;
}
