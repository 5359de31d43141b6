import { bytesToIp, canonicalIp, ipFamily, ipToBytes } from '@kube-dns/daemon-kit';

/** One service CIDR: allocates addresses in order, above the static band the real allocator keeps for fixed IPs. */
class CidrAllocator {
  readonly family: 4 | 6;
  private readonly base: bigint;
  private readonly size: bigint;
  private readonly firstDynamic: bigint;
  private next: bigint;
  private readonly bytes: number;

  constructor(cidr: string) {
    const [address, prefixText] = cidr.split('/');
    const raw = address === undefined ? null : ipToBytes(address);
    const prefix = Number(prefixText);
    if (raw === null || !Number.isInteger(prefix)) throw new Error(`invalid service CIDR: ${cidr}`);
    this.bytes = raw.length;
    this.family = raw.length === 4 ? 4 : 6;
    const bits = BigInt(raw.length * 8);
    if (prefix < 0 || BigInt(prefix) > bits - 2n) throw new Error(`invalid service CIDR: ${cidr}`);
    const hostBits = bits - BigInt(prefix);
    const mask = ((1n << bits) - 1n) ^ ((1n << hostBits) - 1n);
    this.base = bytesToBigint(raw) & mask;
    this.size = 1n << hostBits;
    // Kubernetes reserves the lower band min(max(16, size/16), 256) for statically chosen IPs.
    let band = this.size / 16n;
    if (band < 16n) band = 16n;
    if (band > 256n) band = 256n;
    this.firstDynamic = band < this.size - 2n ? band : 1n;
    this.next = this.firstDynamic + 1n < this.size - 1n ? this.firstDynamic + 1n : this.firstDynamic;
  }

  allocate(inUse: ReadonlySet<string>): string | undefined {
    // Network and broadcast-style last addresses are never handed out.
    const span = this.size - 1n - this.firstDynamic;
    for (let tried = 0n; tried < span; tried++) {
      const offset = this.next;
      this.next = this.next + 1n >= this.size - 1n ? this.firstDynamic : this.next + 1n;
      const ip = bytesToIp(bigintToBytes(this.base + offset, this.bytes));
      if (!inUse.has(ip)) return ip;
    }
    return undefined;
  }
}

function bytesToBigint(bytes: Buffer): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function bigintToBytes(n: bigint, length: number): Buffer {
  const out = Buffer.alloc(length);
  let rest = n;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** Service cluster IPs from one or two CIDRs (one per family): the first CIDR's family is the primary one. */
export class ClusterIpAllocator {
  private readonly cidrs: CidrAllocator[];
  private readonly inUse = new Set<string>();

  constructor(cidrs: readonly string[]) {
    this.cidrs = cidrs.map((c) => new CidrAllocator(c));
    if (this.cidrs.length === 0) throw new Error('at least one service CIDR is needed');
  }

  get families(): (4 | 6)[] {
    return this.cidrs.map((c) => c.family);
  }

  allocate(family: 4 | 6): string | undefined {
    const cidr = this.cidrs.find((c) => c.family === family);
    const ip = cidr?.allocate(this.inUse);
    if (ip !== undefined) this.inUse.add(ip);
    return ip;
  }

  /** Marks explicitly chosen or restored IPs as taken (any spelling). */
  reserve(ip: string): void {
    const canonical = canonicalIp(ip);
    if (canonical !== null) this.inUse.add(canonical);
  }

  release(ip: string): void {
    const canonical = canonicalIp(ip);
    if (canonical !== null) this.inUse.delete(canonical);
  }

  static familyOf(ip: string): 4 | 6 | 0 {
    return ipFamily(ip);
  }
}
