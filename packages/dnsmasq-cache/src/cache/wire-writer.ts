import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from '@kube-dns/daemon-kit';

/**
 * The labels of the (possibly compressed) name at `offset`, in their original case, and where the name ends in
 * the message. Pointers must go strictly backwards, so the walk is bounded. Null for malformed names.
 */
export function readLabels(buf: Buffer, offset: number): { labels: Buffer[]; end: number } | null {
  const labels: Buffer[] = [];
  let end = -1;
  let wireLength = 1;
  let pos = offset;
  let lowest = offset;
  while (pos < buf.length) {
    const len = buf[pos]!;
    if (len === 0) return { labels, end: end === -1 ? pos + 1 : end };
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return null;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (end === -1) end = pos + 2;
      if (target >= lowest) return null;
      lowest = target;
      pos = target;
      continue;
    }
    if (len & 0xc0 || len > MAX_LABEL_LENGTH || pos + 1 + len > buf.length) return null;
    wireLength += len + 1;
    if (wireLength > MAX_NAME_LENGTH) return null;
    labels.push(buf.subarray(pos + 1, pos + 1 + len));
    pos += len + 1;
  }
  return null;
}

/** Lower-cased dotted form of labels (ASCII case folding only, RFC 4343); used as a dictionary key, never shown. */
function labelsKey(labels: readonly Buffer[], from = 0): string {
  let key = '';
  for (let i = from; i < labels.length; i++) {
    const label = labels[i]!.toString('latin1').toLowerCase();
    key = key === '' ? label : key + '.' + label;
  }
  return key;
}

/**
 * Builds a message with name compression against the names already written (RFC 1035 §4.1.4). Slow path: used
 * when an answer is stored, never per cached hit.
 */
export class WireWriter {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  /** Lower-cased name suffix → offset where it was written in full. */
  private readonly dictionary = new Map<string, number>();

  get offset(): number {
    return this.length;
  }

  bytes(data: Buffer): void {
    this.chunks.push(data);
    this.length += data.length;
  }

  u16(value: number): void {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(value, 0);
    this.bytes(b);
  }

  u32(value: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(value >>> 0, 0);
    this.bytes(b);
  }

  /** Remembers that the name `labels` starts at `offset` (e.g. the question), so later names can point at it. */
  remember(labels: readonly Buffer[], offset: number, count = labels.length): void {
    let pos = offset;
    for (let i = 0; i < count; i++) {
      const key = labelsKey(labels, i);
      if (pos < 0x4000 && !this.dictionary.has(key)) this.dictionary.set(key, pos);
      pos += labels[i]!.length + 1;
    }
  }

  /**
   * Writes a name, pointing at an earlier copy of its longest known suffix when `compress` is allowed, and
   * remembers its suffixes for later names unless `register` is false.
   */
  name(labels: readonly Buffer[], compress: boolean, register = true): void {
    const start = this.length;
    let pointer = -1;
    let literal = labels.length;
    if (compress) {
      for (let i = 0; i < labels.length; i++) {
        const found = this.dictionary.get(labelsKey(labels, i));
        if (found !== undefined) {
          pointer = found;
          literal = i;
          break;
        }
      }
    }
    for (let i = 0; i < literal; i++) {
      this.bytes(Buffer.from([labels[i]!.length]));
      this.bytes(labels[i]!);
    }
    if (pointer >= 0) this.u16(0xc000 | pointer);
    else this.bytes(Buffer.from([0]));
    if (register) this.remember(labels, start, literal);
  }

  /** Reserves a 16-bit field and returns a setter for it (RDLENGTH is known only after RDATA). */
  placeholder16(): (value: number) => void {
    const b = Buffer.alloc(2);
    this.bytes(b);
    return (value) => b.writeUInt16BE(value, 0);
  }

  finish(): Buffer {
    // The result lives in the cache for the answer's lifetime: it gets memory of its own, not a slice of
    // Buffer's shared 8 KiB pool (Buffer.concat), where a 100-octet answer kept a whole slab alive.
    const out = Buffer.allocUnsafeSlow(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }
}
