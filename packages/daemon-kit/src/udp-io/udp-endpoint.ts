/** How the listener's UDP socket is served: node:dgram, or the batched addon (recvmmsg/sendmmsg, native/). */
export type UdpIoKind = 'dgram' | 'batched';

/** DNS_UDP_IO: `auto` is batched when the addon loaded, else dgram. */
export type UdpIoMode = UdpIoKind | 'auto';

/** What an endpoint does with each datagram it receives. */
export interface UdpDatagramHandlers {
  /**
   * Answers from the bytes alone, or null for `normal`. Must not throw. `query` is valid only during the call: in
   * batched mode it is a view into memory the next batch overwrites, so it must not be kept.
   */
  fast: ((query: Buffer) => Buffer | null) | null;
  /** Everything `fast` declined: `query` belongs to the callee. Replies go out through `UdpEndpoint.send`. */
  normal: (query: Buffer, remoteAddress: string, remotePort: number) => void;
  /** A send or receive failed (rate-limit it: it may come once per datagram). */
  error: (error: Error) => void;
}

export interface UdpEndpointOptions {
  /** An IP address (batched mode needs a literal). */
  host: string;
  port: number;
  handlers: UdpDatagramHandlers;
}

/** A bound UDP socket serving datagrams to UdpDatagramHandlers. */
export interface UdpEndpoint {
  readonly kind: UdpIoKind;
  readonly port: number;
  /**
   * Sends a reply. One sent while `normal` runs for the datagram it answers goes out with that datagram's batch;
   * a later one (an async answer) goes out on its own. The caller must not change `response` afterwards (dgram
   * sends it later).
   */
  send(response: Buffer, remoteAddress: string, remotePort: number): void;
  /** Stops receiving and closes the socket; replies not yet sent are dropped. */
  close(): Promise<void>;
}
