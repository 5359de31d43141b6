import type { Scope } from '../store/scope.js';

/**
 * A resolver's answer as data: record names are lower case, dotted, without the trailing dot. How a name is
 * spelled on the wire (the question's case echoed) is the encoder's business.
 */
export type ResourceRecord = AddressRecord | NameRecord | SrvRecord | SoaRecord | TxtRecord;

interface RecordBase {
  name: string;
  ttl: number;
}

export interface AddressRecord extends RecordBase {
  /** RRType.A or RRType.AAAA. */
  type: 1 | 28;
  /** Canonical IP text of the matching family. */
  address: string;
}

export interface NameRecord extends RecordBase {
  /** RRType.NS, RRType.CNAME or RRType.PTR. */
  type: 2 | 5 | 12;
  target: string;
}

export interface SrvRecord extends RecordBase {
  type: 33;
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface SoaRecord extends RecordBase {
  type: 6;
  mname: string;
  rname: string;
  /** The serial when the answer was built; the wire path patches in the current one on every send. */
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export interface TxtRecord extends RecordBase {
  type: 16;
  strings: string[];
}

export interface AnswerMessage {
  rcode: number;
  authoritative: boolean;
  answer: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

/**
 * - `answer`: a complete reply. It may be cached until one of `scopes` changes (SERVFAIL never is).
 * - `forward`: not ours to answer (an IP we do not know under in-addr.arpa/ip6.arpa): ask upstream.
 * - `chase`: an ExternalName chain ending outside the zone: the handler resolves `target` upstream and
 *   appends what it gets to `message`.
 */
export type Resolution =
  | { kind: 'answer'; message: AnswerMessage; scopes: Scope[] }
  | { kind: 'forward' }
  | { kind: 'chase'; message: AnswerMessage; target: string; qtype: number; scopes: Scope[] };
