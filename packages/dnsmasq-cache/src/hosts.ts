import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ipToBytes } from '@kube-dns/daemon-kit';

/** Addresses of one name from hosts files, in file order. */
export interface HostsName {
  v4: Buffer[];
  v6: Buffer[];
}

/**
 * Names and addresses from /etc/hosts and `--addn-hosts` (hosts(5): `address name [aliases…]`, `#` comments).
 * Forward lookups are case-insensitive; reverse lookups give the first name of the first line with that address,
 * as dnsmasq answers PTR for hosts addresses.
 */
export class HostsTable {
  private readonly forward = new Map<string, HostsName>();
  private readonly reverse = new Map<string, string>();
  /** Files read and how many names each gave (for the startup log line). */
  readonly loaded: { path: string; names: number }[] = [];

  add(text: string): number {
    let names = 0;
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*$/, '').trim();
      if (line === '') continue;
      const [address, ...hostnames] = line.split(/\s+/);
      const bytes = address ? ipToBytes(address.replace(/%.*$/, '')) : null;
      if (bytes === null || hostnames.length === 0) continue;
      const arpa = reverseName(bytes);
      for (const hostname of hostnames) {
        const name = hostname.toLowerCase().replace(/\.$/, '');
        if (name === '') continue;
        let entry = this.forward.get(name);
        if (entry === undefined) {
          entry = { v4: [], v6: [] };
          this.forward.set(name, entry);
        }
        const list = bytes.length === 4 ? entry.v4 : entry.v6;
        if (!list.some((b) => b.equals(bytes))) list.push(bytes);
        names++;
      }
      // dnsmasq keeps hosts-file names in lower case: a PTR answer reads `tabbed.ext.test` for `Tabbed.Ext.Test`.
      if (!this.reverse.has(arpa)) this.reverse.set(arpa, hostnames[0]!.toLowerCase().replace(/\.$/, ''));
    }
    return names;
  }

  lookup(name: string): HostsName | undefined {
    return this.forward.get(name);
  }

  /** The name for a reverse (PTR) query name, e.g. `3.2.1.10.in-addr.arpa`. */
  reverseLookup(arpaName: string): string | undefined {
    return this.reverse.get(arpaName);
  }

  has(name: string): boolean {
    return this.forward.has(name);
  }

  get empty(): boolean {
    return this.forward.size === 0 && this.reverse.size === 0;
  }
}

/**
 * Reads hosts files: `hostsFile` unless `noHosts`, then each `--addn-hosts` (a folder means every file in it, in
 * name order). Missing files are reported through `onError` and skipped, as dnsmasq logs and carries on.
 */
export function loadHosts(
  hostsFile: string | null,
  addnHosts: readonly string[],
  onError: (path: string, error: Error) => void,
): HostsTable {
  const table = new HostsTable();
  const files: string[] = [];
  if (hostsFile !== null) files.push(hostsFile);
  for (const path of addnHosts) {
    try {
      if (statSync(path).isDirectory()) {
        for (const name of readdirSync(path).sort()) files.push(join(path, name));
        continue;
      }
    } catch {
      // Reported by the read below.
    }
    files.push(path);
  }
  for (const path of files) {
    try {
      const names = table.add(readFileSync(path, 'utf8'));
      table.loaded.push({ path, names });
    } catch (error) {
      onError(path, error as Error);
    }
  }
  return table;
}

/** `d.c.b.a.in-addr.arpa` or the 32-nibble `ip6.arpa` name of an address. */
export function reverseName(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[3]}.${bytes[2]}.${bytes[1]}.${bytes[0]}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = bytes.length - 1; i >= 0; i--) {
    nibbles.push((bytes[i]! & 0xf).toString(16), (bytes[i]! >> 4).toString(16));
  }
  return `${nibbles.join('.')}.ip6.arpa`;
}
