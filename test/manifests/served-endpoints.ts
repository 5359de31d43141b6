import { basename } from 'node:path';
import type { Container } from './manifest-files.js';

/**
 * What each of our programs serves, derived from a container's args and env with the defaults SPEC.md
 * gives. This is the independent model the manifest checks compare probes and declared ports against.
 */

export type Program = 'kube-dns' | 'dnsmasq-cache' | 'sidecar';
const programs: readonly Program[] = ['kube-dns', 'dnsmasq-cache', 'sidecar'];

export interface ServedPort {
  port: number;
  protocol: 'UDP' | 'TCP';
}
export interface HttpEndpoint {
  port: number;
  path: string;
}
export interface SidecarProbe {
  label: string;
  host: string;
  port: number;
  name: string;
}

/** The program a container runs: the bin named by `command` (`[node, /app/<pkg>/bin/<program>]`). */
export function programOf(container: Container): Program {
  const script = container.command?.[1];
  const program = script === undefined ? undefined : basename(script);
  const found = programs.find((p) => p === program);
  if (found === undefined) throw new Error(`container ${container.name}: command does not run one of our programs`);
  return found;
}

/** The values given to a flag: `--name=value` or `--name value` (and `-x value`, `-xvalue` for short ones). */
export function flagValues(args: readonly string[], ...names: string[]): string[] {
  const normalize = (flag: string): string => flag.replaceAll('_', '-');
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    for (const name of names) {
      if (name.startsWith('--')) {
        const equals = arg.indexOf('=');
        const flag = normalize(equals === -1 ? arg : arg.slice(0, equals));
        if (flag !== name) continue;
        if (equals !== -1) values.push(arg.slice(equals + 1));
        else if (i + 1 < args.length) values.push(args[++i]!);
      } else if (arg === name && i + 1 < args.length) {
        values.push(args[++i]!);
      } else if (arg.startsWith(name) && arg.length > name.length) {
        values.push(arg.slice(name.length));
      }
    }
  }
  return values;
}

function lastNumber(args: readonly string[], fallback: number, ...names: string[]): number {
  const value = flagValues(args, ...names).pop();
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number)) throw new Error(`${names[0]}=${value} is not a port`);
  return number;
}

function env(container: Container, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}

/** `--probe=<label>,<server>[:port],<name>[,<interval>][,<type>]` of the sidecar. */
export function sidecarProbes(container: Container): SidecarProbe[] {
  return flagValues(container.args ?? [], '--probe').map((spec) => {
    const [label, server, name] = spec.split(',');
    if (label === undefined || server === undefined || name === undefined) throw new Error(`bad --probe ${spec}`);
    const colon = server.lastIndexOf(':');
    const host = colon === -1 ? server : server.slice(0, colon);
    const port = colon === -1 ? 53 : Number(server.slice(colon + 1));
    return { label, host, port, name };
  });
}

/** The DNS port of a DNS server container (kube-dns `--dns-port`, dnsmasq-cache `-p/--port`), else null. */
export function dnsPort(container: Container): number | null {
  const args = container.args ?? [];
  switch (programOf(container)) {
    case 'kube-dns':
      return lastNumber(args, 53, '--dns-port');
    case 'dnsmasq-cache':
      return lastNumber(args, 53, '--port', '-p');
    case 'sidecar':
      return null;
  }
}

/** The HTTP paths the container's program answers, by port. */
export function httpEndpoints(container: Container): HttpEndpoint[] {
  const args = container.args ?? [];
  switch (programOf(container)) {
    case 'kube-dns': {
      const endpoints = [{ port: lastNumber(args, 8081, '--healthz-port'), path: '/readiness' }];
      const metricsPort = env(container, 'PROMETHEUS_PORT');
      if (metricsPort !== undefined && metricsPort !== '') {
        endpoints.push({ port: Number(metricsPort), path: env(container, 'PROMETHEUS_PATH') ?? '/metrics' });
      }
      return endpoints;
    }
    case 'dnsmasq-cache':
      return [];
    case 'sidecar': {
      const port = lastNumber(args, 10054, '--prometheus-port');
      const metricsPath = flagValues(args, '--prometheus-path').pop() ?? '/metrics';
      return [
        { port, path: metricsPath },
        ...sidecarProbes(container).map((probe) => ({ port, path: `/healthcheck/${probe.label}` })),
      ];
    }
  }
}

/** Every port the container's program listens on. */
export function servedPorts(container: Container): ServedPort[] {
  const dns = dnsPort(container);
  const ports: ServedPort[] =
    dns === null
      ? []
      : [
          { port: dns, protocol: 'UDP' },
          { port: dns, protocol: 'TCP' },
        ];
  const httpPorts = new Set(httpEndpoints(container).map((endpoint) => endpoint.port));
  for (const port of httpPorts) ports.push({ port, protocol: 'TCP' });
  return ports;
}
