import { RRClass, RRType } from '@kube-dns/daemon-kit';
import type { DnsClient } from './dns-client.js';

/** A dnsmasq statistics counter (CHAOS TXT `misses.bind`, `hits.bind`, …) as a number; NaN if unreadable. */
export async function chaosCounter(client: DnsClient, port: number, name: string): Promise<number> {
  const response = await client.query(port, name, RRType.TXT, { qclass: RRClass.CH, timeoutMs: 1000 });
  const record = response?.records.find((r) => r.type === RRType.TXT);
  if (!record) return NaN;
  // TXT RDATA as hex: one length-prefixed string.
  const bytes = Buffer.from(record.data, 'hex');
  return Number(bytes.subarray(1, 1 + bytes[0]!).toString('latin1'));
}
