/**
 * DNS over TCP frames each message with a two-octet length (RFC 1035 §4.2.2, RFC 7766 §8).
 * Chunks arrive split anywhere, several messages per chunk or one message across many.
 */
export class TcpFrameReader {
  private pending: Buffer | null = null;

  /** Feeds a chunk; returns the complete messages it finishes, in order. */
  push(chunk: Buffer): Buffer[] {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    const frames: Buffer[] = [];
    let offset = 0;
    while (data.length - offset >= 2) {
      const length = data.readUInt16BE(offset);
      if (data.length - offset - 2 < length) break;
      frames.push(data.subarray(offset + 2, offset + 2 + length));
      offset += 2 + length;
    }
    if (offset < data.length) {
      // Copy so the retained remainder does not pin a large chunk in memory.
      data = Buffer.from(data.subarray(offset));
      this.pending = data;
    }
    return frames;
  }

  /** Octets received but not yet part of a complete message. */
  get buffered(): number {
    return this.pending?.length ?? 0;
  }
}

/** Prefixes a message with its two-octet length. */
export function frameMessage(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length + 2);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}
