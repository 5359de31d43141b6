import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { exchangeUdp, randomQueryId } from '@kube-dns/daemon-kit';
import dnsPacket from 'dns-packet';
import { waitUntil } from './wait.js';

/**
 * A port free for both UDP and TCP on 127.0.0.1 right now, for programs that cannot be told to pick one
 * (dnsmasq). Another process could take it before it is used; callers retry on a bind failure.
 */
export async function freeDnsPort(): Promise<number> {
  for (;;) {
    const tcp = net.createServer();
    tcp.listen({ host: '127.0.0.1', port: 0 });
    await once(tcp, 'listening');
    const port = (tcp.address() as net.AddressInfo).port;
    const udp = dgram.createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind({ address: '127.0.0.1', port }, () => resolve(true));
    });
    udp.close();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
    if (bound) return port;
  }
}

/** true once the server at 127.0.0.1:port answers `cachesize.bind` CH TXT (dnsmasq is up). */
export async function answersChaos(port: number): Promise<boolean> {
  const query = dnsPacket.encode({
    type: 'query',
    id: randomQueryId(),
    questions: [{ name: 'cachesize.bind', type: 'TXT', class: 'CH' }],
  });
  try {
    await exchangeUdp({ host: '127.0.0.1', port }, query, { timeoutMs: 200 });
    return true;
  } catch {
    return false;
  }
}

export interface DnsProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** What it wrote to stderr so far (for failure messages). */
  output(): string;
  /** SIGKILL by default, as a crash; resolves when it has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a dnsmasq-compatible server (`command` is `dnsmasq` or our `dnsmasq-cache` bin) in the
 * foreground on 127.0.0.1:`port` with `args` added, and waits until it answers CHAOS queries.
 */
export async function startDnsmasqLike(
  command: string,
  port: number,
  args: string[],
  options: { timeoutMs?: number } = {},
): Promise<DnsProcess> {
  const child = spawn(
    command,
    ['-k', `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--log-facility=-', ...args],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit');
  const handle: DnsProcess = {
    port,
    child,
    output: () => stderr,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
  try {
    await waitUntil(
      `${command} to answer on 127.0.0.1:${port}`,
      () => {
        if (child.exitCode !== null) throw new Error(`${command} exited ${child.exitCode}: ${stderr.trim()}`);
        return answersChaos(port);
      },
      { timeoutMs: options.timeoutMs ?? 5000 },
    );
  } catch (error) {
    await handle.kill();
    throw error;
  }
  return handle;
}

/** Real dnsmasq 2.90 with no config file, no pid file, and root kept when running as root. */
export function startRealDnsmasq(port: number, args: string[]): Promise<DnsProcess> {
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  return startDnsmasqLike('dnsmasq', port, ['--conf-file=/dev/null', '--pid-file=', ...asRoot, ...args]);
}
