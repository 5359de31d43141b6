import net from 'node:net';

/**
 * IP address helpers shared by the servers: canonical text forms and raw bytes. Kubernetes objects carry
 * IPs as text in any valid spelling; records and indexes need one spelling per address.
 */

/** The 4 or 16 octets of an address, or null if it is not a valid IP. */
export function ipToBytes(ip: string): Buffer | null {
  const family = net.isIP(ip);
  if (family === 4) {
    const parts = ip.split('.');
    const out = Buffer.alloc(4);
    for (let i = 0; i < 4; i++) {
      const part = parts[i]!;
      // Leading zeros are ambiguous (octal in some parsers); Kubernetes rejects them too.
      if (part.length > 1 && part.startsWith('0')) return null;
      out[i] = Number(part);
    }
    return out;
  }
  if (family === 6) return ipv6ToBytes(ip);
  return null;
}

function ipv6ToBytes(ip: string): Buffer | null {
  let text = ip;
  const zone = text.indexOf('%');
  if (zone >= 0) return null; // zoned addresses never appear in cluster data
  const out = Buffer.alloc(16);
  let tail: number[] = [];
  if (text.includes('.')) {
    const lastColon = text.lastIndexOf(':');
    const v4 = ipToBytes(text.slice(lastColon + 1));
    if (v4 === null || v4.length !== 4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups =
    halves.length === 2 ? [...head, ...Array<string>(8 - head.length - rest.length).fill('0'), ...rest] : head;
  if (groups.length !== 8) return null;
  for (let i = 0; i < 8; i++) {
    const value = parseInt(groups[i]!, 16);
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i]!)) return null;
    out.writeUInt16BE(value, i * 2);
  }
  if (tail.length === 2) {
    out.writeUInt16BE(tail[0]!, 12);
    out.writeUInt16BE(tail[1]!, 14);
  }
  return out;
}

/** The text form of 4 or 16 octets: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run as ::). */
export function bytesToIp(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** One spelling per address (RFC 5952 for IPv6), or null if not an IP. */
export function canonicalIp(ip: string): string | null {
  const bytes = ipToBytes(ip);
  return bytes === null ? null : bytesToIp(bytes);
}

/** 4 or 6, or 0 for anything that is not an IP. */
export function ipFamily(ip: string): 0 | 4 | 6 {
  return net.isIP(ip) as 0 | 4 | 6;
}
