import dgram from 'node:dgram';
import dns from 'node:dns';
import net from 'node:net';
import type { UdpEndpoint, UdpEndpointOptions } from './udp-endpoint.js';

/** A node:dgram socket: one 'message' event, Buffer and rinfo per datagram, one send per reply. */
export async function openDgramEndpoint(options: UdpEndpointOptions): Promise<UdpEndpoint> {
  const socket = await bindUdp(options.host, options.port);
  const { fast, normal, error } = options.handlers;
  if (fast === null) {
    socket.on('message', (message, rinfo) => normal(message, rinfo.address, rinfo.port));
  } else {
    socket.on('message', (message, rinfo) => {
      const reply = fast(message);
      // No send callback: a failed send is reported as a socket 'error', and skipping the completion callback
      // saves a trip into JS per answer.
      if (reply !== null) socket.send(reply, rinfo.port, rinfo.address);
      else normal(message, rinfo.address, rinfo.port);
    });
  }
  socket.on('error', error);
  return {
    kind: 'dgram',
    port: socket.address().port,
    send(response: Buffer, remoteAddress: string, remotePort: number): void {
      socket.send(response, remotePort, remoteAddress);
    },
    close(): Promise<void> {
      return new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/**
 * A dgram `lookup` for sockets that send to IP literals: dgram resolves every send's destination through `lookup`
 * (dns.lookup by default, one extra tick per send), so literals are passed straight through. `ipVersion` is
 * net.isIP or a cached equivalent.
 */
export function literalLookup(ipVersion: (address: string) => number = net.isIP) {
  return (
    address: string,
    family: unknown,
    callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void,
  ): void => {
    const version = ipVersion(address);
    if (version !== 0) callback(null, address, version);
    else dns.lookup(address, family as number, callback);
  };
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  const type = net.isIPv6(host) ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({ type, reuseAddr: false, lookup: literalLookup() });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}
