import net from 'node:net';
import { MAX_LABEL_LENGTH, MAX_NAME_LENGTH, RRType } from '@kube-dns/daemon-kit';

/** The query types `--probe` accepts, spelled as on the command line (case-sensitive, as the original). */
export const PROBE_TYPES = { A: RRType.A, AAAA: RRType.AAAA, ANY: RRType.ANY, SRV: RRType.SRV } as const;
export type ProbeTypeName = keyof typeof PROBE_TYPES;

export const DEFAULT_PROBE_INTERVAL_SECONDS = 5;
/** setTimeout cannot wait longer than 2^31-1 ms; a longer interval would silently become 1 ms. */
export const MAX_PROBE_INTERVAL_SECONDS = Math.floor(2_147_483_647 / 1000);
export const LABEL_PATTERN = '^[a-zA-Z0-9_]+$';
const LABEL_REGEXP = new RegExp(LABEL_PATTERN);

/** One `--probe`: what to ask, where, and how often. */
export interface ProbeOption {
  /** Names `/healthcheck/<label>` and the `<namespace>_probe_<label>_*` metrics. */
  label: string;
  /** The server as the original stores it: `:53` appended when the text has no colon. */
  server: string;
  host: string;
  port: number;
  /** Fully qualified (trailing dot), as given otherwise. */
  name: string;
  intervalMs: number;
  type: ProbeTypeName;
}

/** A `--probe` value the original would refuse, with the original's message. */
export class ProbeOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeOptionError';
  }
}

/**
 * Parses `<label>,<server>[:port],<name>[,<interval s>][,A|AAAA|ANY|SRV]` with the original's checks and
 * messages (`cmd/sidecar/main.go` probeOptions.Set), in the same order. Added: the server must be a
 * host[:port] we can send to, the name must fit in a DNS message, and the interval must be a usable
 * number of seconds; the original accepted those and failed on every probe (or panicked on interval 0).
 */
export function parseProbeOption(value: string): ProbeOption {
  const splits = value.split(',');
  if (splits.length < 3 || splits.length > 5) throw new ProbeOptionError('invalid format to --probe');
  const [label, serverText, nameText, intervalText, typeText] = splits as [string, string, string, ...string[]];

  if (!LABEL_REGEXP.test(label)) throw new ProbeOptionError(`label must be of format ${LABEL_PATTERN}`);

  const server = serverText.includes(':') ? serverText : `${serverText}:53`;
  const { host, port } = splitServer(server);

  const name = nameText.endsWith('.') ? nameText : `${nameText}.`;
  const nameProblem = nameError(name);
  if (nameProblem !== null) throw new ProbeOptionError(`invalid name ${JSON.stringify(nameText)}: ${nameProblem}`);

  let intervalSeconds = DEFAULT_PROBE_INTERVAL_SECONDS;
  if (intervalText !== undefined) intervalSeconds = parseInterval(intervalText);

  let type: ProbeTypeName = 'ANY';
  if (typeText !== undefined) {
    if (!Object.hasOwn(PROBE_TYPES, typeText)) throw new ProbeOptionError(`invalid type for DNS: ${typeText}`);
    type = typeText as ProbeTypeName;
  }

  return { label, server, host, port, name, intervalMs: intervalSeconds * 1000, type };
}

/** Go's strconv.Atoi wording for what is not an integer, then our range check. */
function parseInterval(text: string): number {
  if (!/^[+-]?\d+$/.test(text))
    throw new ProbeOptionError(`strconv.Atoi: parsing ${JSON.stringify(text)}: invalid syntax`);
  const seconds = Number(text);
  if (seconds < 1) throw new ProbeOptionError(`interval must be at least 1 second, got ${text}`);
  if (seconds > MAX_PROBE_INTERVAL_SECONDS) {
    throw new ProbeOptionError(`interval must be at most ${MAX_PROBE_INTERVAL_SECONDS} seconds, got ${text}`);
  }
  return seconds;
}

/**
 * Go's net.SplitHostPort as the original's dialer applies it: `host:port`, `[host]:port` (IPv4 or IPv6
 * inside brackets), never a bare IPv6 address. The port must be numeric here.
 */
export function splitServer(server: string): { host: string; port: number } {
  let host: string;
  let portText: string;
  if (server.startsWith('[')) {
    const close = server.indexOf(']');
    if (close < 0) throw new ProbeOptionError(`invalid server ${JSON.stringify(server)}: missing ']' in address`);
    if (server[close + 1] !== ':') {
      throw new ProbeOptionError(`invalid server ${JSON.stringify(server)}: missing port after ']'`);
    }
    host = server.slice(1, close);
    portText = server.slice(close + 2);
    if (net.isIP(host) === 0) throw new ProbeOptionError(`invalid server ${JSON.stringify(server)}: not an IP in []`);
  } else {
    const colon = server.lastIndexOf(':');
    host = server.slice(0, colon);
    portText = server.slice(colon + 1);
    if (host.includes(':')) {
      throw new ProbeOptionError(
        `invalid server ${JSON.stringify(server)}: too many colons in address (write IPv6 as [addr]:port)`,
      );
    }
    if (host === '' || (net.isIP(host) === 0 && !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9.])?$/.test(host))) {
      throw new ProbeOptionError(`invalid server ${JSON.stringify(server)}: not an IP address or host name`);
    }
  }
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw new ProbeOptionError(`invalid server ${JSON.stringify(server)}: invalid port ${JSON.stringify(portText)}`);
  }
  return { host, port: Number(portText) };
}

/** Why a fully qualified name cannot go into a query (RFC 1035 §2.3.4), or null. */
function nameError(name: string): string | null {
  if (name === '.') return null;
  const labels = name.slice(0, -1).split('.');
  let wireLength = 1;
  for (const label of labels) {
    const octets = Buffer.byteLength(label);
    if (octets === 0) return 'empty label';
    if (octets > MAX_LABEL_LENGTH) return `label longer than ${MAX_LABEL_LENGTH} octets`;
    wireLength += octets + 1;
  }
  return wireLength > MAX_NAME_LENGTH ? `longer than ${MAX_NAME_LENGTH} octets` : null;
}
