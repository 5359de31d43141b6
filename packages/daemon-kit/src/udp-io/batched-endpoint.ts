import { getSystemErrorName } from 'node:util';
import type { UdpBatchAddon, UdpBatchSocket } from './load-addon.js';
import type { UdpEndpoint, UdpEndpointOptions } from './udp-endpoint.js';

const INPUT_FIELDS = 2; // length, source port
const OUTPUT_FIELDS = 3; // offset, length, slot

export interface BatchedEndpointOptions extends UdpEndpointOptions {
  /** Datagrams per recvmmsg (and replies per sendmmsg). */
  batchSize?: number;
  /** Octets of replies listed before a batch's sendmmsg (more are sent early with flush). */
  outputSize?: number;
  /** Tests: the addon's partial-send switch (see UdpBatchSocketOptions). */
  testPartialSends?: boolean;
}

/**
 * The addon's socket: one JS call per batch of datagrams, read from memory shared with the addon, and one
 * sendmmsg for the batch's replies. Per datagram, no allocation on the fast path but the reply itself: the query
 * is a view into that memory, kept per slot and reused while the lengths repeat; the fast path's contract says it
 * does not keep it (UdpDatagramHandlers.fast). The normal path gets a copy, which it may keep.
 */
export class BatchedUdpEndpoint implements UdpEndpoint {
  readonly kind = 'batched' as const;
  readonly port: number;
  private readonly socket: UdpBatchSocket;
  private readonly memory: ArrayBuffer;
  private readonly inputMeta: Int32Array;
  private readonly outputMeta: Int32Array;
  private readonly output: Buffer;
  private readonly views: (Buffer | undefined)[];
  private readonly batchSize: number;
  private readonly fast: ((query: Buffer) => Buffer | null) | null;
  private readonly normal: (query: Buffer, remoteAddress: string, remotePort: number) => void;
  private readonly error: (error: Error) => void;
  /** Replies listed in the output for this batch, and octets of output they use. */
  private listed = 0;
  private outputUsed = 0;
  /** While `normal` runs for a datagram of the batch: its slot and source (a reply to it now joins the batch). */
  private currentSlot = -1;
  private currentPort = -1;
  private currentAddress = '';

  constructor(addon: UdpBatchAddon, options: BatchedEndpointOptions) {
    this.fast = options.handlers.fast;
    this.normal = options.handlers.normal;
    this.error = options.handlers.error;
    // Throws as dgram's bind would (code EADDRINUSE, EACCES, ...).
    this.socket = new addon.UdpBatchSocket({
      address: options.host,
      port: options.port,
      batchSize: options.batchSize ?? 64,
      outputSize: options.outputSize ?? 256 * 1024,
      testPartialSends: options.testPartialSends ?? false,
      onBatch: (count) => this.onBatch(count),
      onError: (code) => this.onError(code),
    });
    const socket = this.socket;
    this.port = socket.port;
    this.batchSize = socket.batchSize;
    this.memory = socket.memory;
    this.inputMeta = new Int32Array(this.memory, socket.inputMetaOffset, this.batchSize * INPUT_FIELDS);
    this.outputMeta = new Int32Array(this.memory, socket.outputMetaOffset, this.batchSize * OUTPUT_FIELDS);
    this.output = Buffer.from(this.memory, socket.outputOffset, socket.outputSize);
    this.views = new Array<Buffer | undefined>(this.batchSize).fill(undefined);
    socket.start();
  }

  private onBatch(count: number): number {
    this.listed = 0;
    this.outputUsed = 0;
    const inputMeta = this.inputMeta;
    const fast = this.fast;
    for (let slot = 0; slot < count; slot++) {
      const length = inputMeta[slot * INPUT_FIELDS]!;
      const query = this.view(slot, length);
      const reply = fast === null ? null : fast(query);
      if (reply !== null) {
        this.list(reply, slot);
        continue;
      }
      const port = inputMeta[slot * INPUT_FIELDS + 1]!;
      const address = this.socket.address(slot);
      this.currentSlot = slot;
      this.currentPort = port;
      this.currentAddress = address;
      try {
        this.normal(Buffer.from(query), address, port);
      } finally {
        this.currentSlot = -1;
      }
    }
    return this.listed;
  }

  /** The datagram in `slot` as a Buffer: the slot's last view when the length is the same, else a new one. */
  private view(slot: number, length: number): Buffer {
    const view = this.views[slot];
    if (view !== undefined && view.length === length) return view;
    const fresh = Buffer.from(this.memory, this.socket.inputOffset + slot * this.socket.slotSize, length);
    this.views[slot] = fresh;
    return fresh;
  }

  /** Copies a reply into the output and lists it for the batch's sendmmsg. */
  private list(reply: Buffer, slot: number): void {
    const length = reply.length;
    if (this.listed === this.batchSize || this.outputUsed + length > this.output.length) {
      this.socket.flush(this.listed);
      this.listed = 0;
      this.outputUsed = 0;
    }
    if (length > this.output.length) {
      // Larger than any UDP datagram: the addon would refuse it; say so as a send would.
      this.error(new Error(`send EMSGSIZE (${length} octets)`));
      return;
    }
    this.output.set(reply, this.outputUsed);
    const at = this.listed * OUTPUT_FIELDS;
    this.outputMeta[at] = this.outputUsed;
    this.outputMeta[at + 1] = length;
    this.outputMeta[at + 2] = slot;
    this.outputUsed += length;
    this.listed++;
  }

  send(response: Buffer, remoteAddress: string, remotePort: number): void {
    if (this.currentSlot >= 0 && remotePort === this.currentPort && remoteAddress === this.currentAddress) {
      this.list(response, this.currentSlot);
      return;
    }
    const code = this.socket.sendTo(response, remoteAddress, remotePort);
    if (code < 0) this.onError(code);
  }

  private onError(code: number): void {
    let name: string;
    try {
      name = getSystemErrorName(code);
    } catch {
      name = `errno ${-code}`;
    }
    const error = new Error(`UDP ${name}`) as NodeJS.ErrnoException;
    error.code = name;
    error.errno = code;
    this.error(error);
  }

  /** Counters of the addon (tests, benchmarks). */
  stats(): ReturnType<UdpBatchSocket['stats']> {
    return this.socket.stats();
  }

  close(): Promise<void> {
    this.socket.close();
    return Promise.resolve();
  }
}
