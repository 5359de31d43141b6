import dgram from 'node:dgram';
import net from 'node:net';

export interface SamePortSockets {
  /** Null when only UDP was asked for. */
  tcp: net.Server | null;
  udp: dgram.Socket;
  port: number;
}

/**
 * A UDP socket, and with `tcp` a TCP server, on one free port of `host`. The kernel picks a free TCP port;
 * its UDP twin may be taken by another test process (the bind fails: waiting for its callback would hang
 * forever), so a few ports are tried.
 */
export async function bindSamePort(host: string, options: { tcp: boolean }): Promise<SamePortSockets> {
  const family = net.isIPv6(host) ? 'udp6' : 'udp4';
  for (let attempt = 0; ; attempt++) {
    let tcp: net.Server | null = null;
    let port = 0;
    if (options.tcp) {
      tcp = net.createServer();
      await new Promise<void>((resolve, reject) => {
        tcp!.once('error', reject);
        tcp!.listen({ host, port: 0 }, () => resolve());
      });
      port = (tcp.address() as net.AddressInfo).port;
    }
    const udp = dgram.createSocket(family);
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind({ address: host, port }, () => resolve());
      });
      return { tcp, udp, port: udp.address().port };
    } catch (error) {
      udp.close();
      if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
      if (attempt >= 10) throw error;
    }
  }
}
