import { readFileSync } from 'node:fs';
import { ipFamily } from './ip.js';
import type { UpstreamServer } from './upstream-exchange.js';

export interface ResolvConf {
  nameservers: UpstreamServer[];
  search: string[];
  ndots: number;
}

/** Parses resolv.conf(5) text: nameserver, search/domain, options ndots. Unknown lines are ignored. */
export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], ndots: 1 };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [keyword, ...args] = line.split(/\s+/);
    if (keyword === 'nameserver' && args[0]) {
      const host = args[0].replace(/%.*$/, '');
      if (ipFamily(host) !== 0) conf.nameservers.push({ host, port: 53 });
    } else if (keyword === 'search' || keyword === 'domain') {
      conf.search = args;
    } else if (keyword === 'options') {
      for (const option of args) {
        const match = /^ndots:(\d+)$/.exec(option);
        if (match) conf.ndots = Math.min(Number(match[1]), 15);
      }
    }
  }
  return conf;
}

/** Reads a resolv.conf file; a missing or unreadable file gives no nameservers rather than an exception. */
export function readResolvConf(path = '/etc/resolv.conf'): ResolvConf {
  try {
    return parseResolvConf(readFileSync(path, 'utf8'));
  } catch {
    return { nameservers: [], search: [], ndots: 1 };
  }
}
