import { bytesToIp } from '@kube-dns/daemon-kit';

export const IN_ADDR_ARPA = 'in-addr.arpa';
export const IP6_ARPA = 'ip6.arpa';

/**
 * A name under in-addr.arpa or ip6.arpa:
 * - `address`: exactly 4 decimal octets / 32 hex nibbles: the (canonical) IP it names;
 * - `malformed`: anything else (a bad label, too few or too many labels).
 */
export type ReverseName = { kind: 'address'; ip: string } | { kind: 'malformed' };

/** The reverse zone `name` (lower case, no trailing dot) lies in, or null. */
export function reverseZoneOf(name: string): typeof IN_ADDR_ARPA | typeof IP6_ARPA | null {
  if (name === IN_ADDR_ARPA || name.endsWith('.' + IN_ADDR_ARPA)) return IN_ADDR_ARPA;
  if (name === IP6_ARPA || name.endsWith('.' + IP6_ARPA)) return IP6_ARPA;
  return null;
}

export function parseReverseName(name: string): ReverseName {
  const zone = reverseZoneOf(name);
  if (zone === null || name === zone) return malformed;
  const labels = name.slice(0, name.length - zone.length - 1).split('.');
  if (zone === IN_ADDR_ARPA) {
    if (labels.length !== 4) return malformed;
    const bytes = Buffer.alloc(4);
    for (let i = 0; i < 4; i++) {
      const label = labels[3 - i]!;
      // Decimal without leading zeros, 0–255: one spelling per address.
      if (!/^(0|[1-9][0-9]{0,2})$/.test(label) || Number(label) > 255) return malformed;
      bytes[i] = Number(label);
    }
    return { kind: 'address', ip: bytesToIp(bytes) };
  }
  if (labels.length !== 32) return malformed;
  const bytes = Buffer.alloc(16);
  for (let i = 0; i < 32; i++) {
    const label = labels[31 - i]!;
    if (!/^[0-9a-f]$/.test(label)) return malformed;
    const nibble = parseInt(label, 16);
    bytes[i >> 1] = bytes[i >> 1]! | (i % 2 === 0 ? nibble << 4 : nibble);
  }
  return { kind: 'address', ip: bytesToIp(bytes) };
}

const malformed: ReverseName = { kind: 'malformed' };

/** `10.1.2.3` → `3.2.1.10.in-addr.arpa`; IPv6 → 32 nibbles under ip6.arpa. For tests and stub lookups. */
export function reverseNameOf(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[3]}.${bytes[2]}.${bytes[1]}.${bytes[0]}.${IN_ADDR_ARPA}`;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((bytes[i]! & 0xf).toString(16), (bytes[i]! >> 4).toString(16));
  return `${nibbles.join('.')}.${IP6_ARPA}`;
}
