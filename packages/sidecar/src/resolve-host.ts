import { lookup } from 'node:dns/promises';
import net from 'node:net';

/** Turns a host name into an address; IPs pass through. Injected so tests never touch the resolver. */
export type HostResolver = (host: string) => Promise<string>;

/**
 * The system resolver (getaddrinfo), asked again on every probe as the original's dialer does, so a
 * name that moves is followed.
 */
export const systemResolver: HostResolver = async (host) => {
  if (net.isIP(host) !== 0) return host;
  return (await lookup(host)).address;
};
