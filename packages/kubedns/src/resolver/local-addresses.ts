import { RRType } from '@kube-dns/daemon-kit';
import type { RecordStore } from '../store/record-store.js';
import { isZoneName, resolve } from './resolve.js';

/**
 * For the forwarder's `resolveLocal`: the A and AAAA addresses of a name inside the cluster zone from the
 * store (following in-zone CNAMEs), or null when the name is outside the zone.
 */
export function storeAddressLookup(store: RecordStore): (hostname: string) => string[] | null {
  return (hostname) => {
    const name = hostname.replace(/\.$/, '').toLowerCase();
    if (!isZoneName(store.zone, name)) return null;
    const out: string[] = [];
    for (const type of [RRType.A, RRType.AAAA]) {
      const resolution = resolve(store, { name, type });
      if (resolution.kind !== 'answer') continue;
      for (const record of resolution.message.answer) {
        if (record.type === RRType.A || record.type === RRType.AAAA) out.push(record.address);
      }
    }
    return out;
  };
}
