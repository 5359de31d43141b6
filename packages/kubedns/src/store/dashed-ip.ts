import { canonicalIp } from '@kube-dns/daemon-kit';

/**
 * The label that names an endpoint without a hostname, and a pod under `<ns>.pod.<zone>`: the IP with its
 * separators turned into dashes (CoreDNS `endpointHostname`): `10.1.2.3` → `10-1-2-3`, `fd00::1` → `fd00--1`.
 * An IPv6 form that would start or end with a dash gets a `0` there (`2001:db8::` → `2001-db8--0`,
 * `::1` → `0--1`), so every such label is a valid hostname.
 */
export function dashedIp(ip: string): string {
  if (ip.includes('.') && !ip.includes(':')) return ip.replaceAll('.', '-');
  let label = ip.replaceAll(':', '-');
  if (label.endsWith('-')) label += '0';
  if (label.startsWith('-')) label = '0' + label;
  return label;
}

/**
 * The IP a pod label names, canonical, or null (CoreDNS `findPods`): exactly three dashes and no `--` is
 * IPv4 (`10-1-2-3`); anything else is IPv6 with dashes for colons (`fd00--1`).
 */
export function podLabelToIp(label: string): string | null {
  let dashes = 0;
  for (let i = 0; i < label.length; i++) if (label.charCodeAt(i) === 0x2d) dashes++;
  const text = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return canonicalIp(text);
}
