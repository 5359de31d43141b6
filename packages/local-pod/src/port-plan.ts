import dgram from 'node:dgram';
import net from 'node:net';

/**
 * How the Pod's ports become local ones:
 * - `real`: as in the Pod (53, 10053, 8081, 10054, 10055), what root gets;
 * - `high`: ports below 1024 move up by 1000 (53 → 1053), the others stay; what everyone else gets;
 * - `any`: every port is a free one picked at start (tests, or when the usual ones are taken).
 * A port offset is added afterwards in `real` and `high` mode.
 */
export type PortMode = 'real' | 'high' | 'any';

/** Ports below this need root (or CAP_NET_BIND_SERVICE). */
export const FIRST_UNPRIVILEGED_PORT = 1024;
export const PRIVILEGED_PORT_SHIFT = 1000;

/** Pod port → local port. */
export type PortPlan = ReadonlyMap<number, number>;

/** The local port of one Pod port in `real`/`high` mode. */
export function movedPort(podPort: number, mode: Exclude<PortMode, 'any'>, offset: number): number {
  const shifted = mode === 'high' && podPort < FIRST_UNPRIVILEGED_PORT ? podPort + PRIVILEGED_PORT_SHIFT : podPort;
  const port = shifted + offset;
  if (port > 65535) throw new RangeError(`port ${podPort} moved to ${port}, above 65535`);
  return port;
}

/** A port free for both UDP and TCP on `host` (DNS needs both), found by binding port 0. */
export type FreePortFinder = (host: string, count: number) => Promise<number[]>;

/** Plans every Pod port; `any` mode asks `findFree` for as many distinct free ports. */
export async function planPorts(
  podPorts: readonly number[],
  options: { mode: PortMode; offset: number; host: string },
  findFree: FreePortFinder = findFreePorts,
): Promise<PortPlan> {
  const distinct = [...new Set(podPorts)].sort((a, b) => a - b);
  const plan = new Map<number, number>();
  if (options.mode === 'any') {
    const free = await findFree(options.host, distinct.length);
    distinct.forEach((port, i) => plan.set(port, free[i]!));
  } else {
    for (const port of distinct) plan.set(port, movedPort(port, options.mode, options.offset));
  }
  return plan;
}

/**
 * Ports free for TCP and UDP on `host`: each is held (both protocols) until all are found, so they are distinct,
 * then released for the processes to bind a moment later. Another process could take one in between; the
 * launcher then reports that process's "address in use" and stops.
 */
export async function findFreePorts(host: string, count: number): Promise<number[]> {
  const held: Array<{ tcp: net.Server; udp: dgram.Socket }> = [];
  try {
    for (let attempts = 0; held.length < count; attempts++) {
      if (attempts > count * 20) throw new Error(`cannot find ${count} free ports on ${host}`);
      const tcp = net.createServer();
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host, port: 0, exclusive: true }, () => resolve());
      });
      const port = (tcp.address() as net.AddressInfo).port;
      const udp = dgram.createSocket('udp4');
      const bound = await new Promise<boolean>((resolve) => {
        udp.once('error', () => resolve(false));
        udp.bind({ address: host, port, exclusive: true }, () => resolve(true));
      });
      if (bound) {
        held.push({ tcp, udp });
      } else {
        try {
          udp.close();
        } catch {
          // A socket whose bind failed may already count as closed.
        }
        tcp.close();
      }
    }
    return held.map(({ tcp }) => (tcp.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(
      held.map(
        ({ tcp, udp }) =>
          new Promise<void>((resolve) => {
            udp.close();
            tcp.close(() => resolve());
          }),
      ),
    );
  }
}
