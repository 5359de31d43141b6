import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH } from './constants.js';

/**
 * Wire-format name walking (RFC 1035 §4.1.4). Every function here is bounded: compression pointers
 * may only point backwards, and a name may not exceed 255 octets, so hostile input cannot loop.
 * Failures return -1 / null instead of throwing: bad packets are values on the hot path.
 */

/** Offset just after the name starting at `offset`, or -1 if malformed or truncated. */
export function skipName(buf: Buffer, offset: number): number {
  let length = 0;
  while (offset < buf.length) {
    const len = buf[offset]!;
    if (len === 0) return offset + 1;
    if ((len & 0xc0) === 0xc0) return offset + 2 <= buf.length ? offset + 2 : -1;
    if (len & 0xc0) return -1; // 01/10 label types are reserved (RFC 6891 retired EDNS0 extended labels)
    length += len + 1;
    if (length > MAX_NAME_LENGTH - 1) return -1;
    offset += len + 1;
  }
  return -1;
}

/**
 * Reads the name at `offset` in lower case, dotted, without the trailing dot ('' is the root).
 * Returns null for malformed names: bad pointers, labels over 63, names over 255 octets.
 */
export function readName(buf: Buffer, offset: number): { name: string; end: number } | null {
  let name = '';
  let end = -1;
  let wireLength = 1;
  let pos = offset;
  // A pointer must go strictly backwards from the lowest offset seen so far: that bounds the walk.
  let lowest = offset;
  while (pos < buf.length) {
    const len = buf[pos]!;
    if (len === 0) {
      return { name, end: end === -1 ? pos + 1 : end };
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) return null;
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (end === -1) end = pos + 2;
      if (target >= lowest) return null;
      lowest = target;
      pos = target;
      continue;
    }
    if (len & 0xc0 || len > MAX_LABEL_LENGTH) return null;
    wireLength += len + 1;
    if (wireLength > MAX_NAME_LENGTH) return null;
    if (pos + 1 + len > buf.length) return null;
    const label = lowerLabel(buf, pos + 1, pos + 1 + len);
    name = name === '' ? label : name + '.' + label;
    pos += len + 1;
  }
  return null;
}

/** Lower-cases ASCII A–Z only (RFC 4343); other octets are kept, with dots and non-printables escaped. */
function lowerLabel(buf: Buffer, start: number, end: number): string {
  let upper = false;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x41 && c <= 0x5a) upper = true;
    else if (c === 0x2e || c === 0x5c || c <= 0x20 || c >= 0x7f) return escapedLowerLabel(buf, start, end);
  }
  const label = buf.toString('latin1', start, end);
  return upper ? label.toLowerCase() : label;
}

function escapedLowerLabel(buf: Buffer, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i++) {
    let c = buf[i]!;
    if (c >= 0x41 && c <= 0x5a) c += 0x20;
    if (c === 0x2e || c === 0x5c) out += '\\' + String.fromCharCode(c);
    else if (c <= 0x20 || c >= 0x7f) out += '\\' + String(c).padStart(3, '0');
    else out += String.fromCharCode(c);
  }
  return out;
}

/** Encodes a dotted name (trailing dot optional) without compression. Throws on invalid names: for trusted input. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  const labels = trimmed.split('.');
  const parts: Buffer[] = [];
  let total = 1;
  for (const label of labels) {
    const bytes = Buffer.from(label, 'latin1');
    if (bytes.length === 0 || bytes.length > MAX_LABEL_LENGTH) throw new Error(`invalid label in name ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
    total += bytes.length + 1;
  }
  if (total > MAX_NAME_LENGTH) throw new Error(`name too long: ${name}`);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts, total);
}

/** Case-insensitive comparison of two wire names at the given offsets, following pointers. */
export function namesEqual(a: Buffer, aOffset: number, b: Buffer, bOffset: number): boolean {
  const x = readName(a, aOffset);
  const y = readName(b, bOffset);
  return x !== null && y !== null && x.name === y.name;
}
