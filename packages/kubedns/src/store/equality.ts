import type { PortRecord, ServiceRecord } from '../model.js';
import type { StoredSubset } from './record-store.js';

/**
 * Structural equality of the slim records, so that a re-delivered object (informer resync, relist) is not a
 * change: no serial bump, no cache invalidation.
 */
export function sameService(a: ServiceRecord, b: ServiceRecord): boolean {
  return (
    a.kind === b.kind &&
    (a.kind !== 'ExternalName' || a.externalName === b.externalName?.replace(/\.$/, '').toLowerCase()) &&
    sameStrings(a.clusterIPs, b.clusterIPs) &&
    samePorts(a.ports, b.ports)
  );
}

export function sameStoredSubsets(a: readonly StoredSubset[], b: readonly StoredSubset[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (!samePorts(x.ports, y.ports) || !sameStrings(x.ips, y.ips)) return false;
    for (let j = 0; j < x.hosts.length; j++) if (x.hosts[j] !== y.hosts[j]) return false;
  }
  return true;
}

function samePorts(a: readonly PortRecord[], b: readonly PortRecord[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.protocol !== y.protocol || x.port !== y.port) return false;
  }
  return true;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
