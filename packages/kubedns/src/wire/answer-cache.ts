import type { Scope } from '../store/scope.js';
import type { EncodedAnswer } from './answer-encoder.js';
import { nameMatches, questionHash } from '@kube-dns/daemon-kit';

/** One pre-encoded answer, reachable by (qtype, qname) and by the hash of its raw question (the UDP fast path). */
export interface CachedAnswer {
  readonly encoded: EncodedAnswer;
  readonly scopes: Scope[];
  /** `scopes[i].gen` when the answer was built. */
  readonly gens: number[];
  readonly qname: string;
  readonly qtype: number;
  /** What the handler tagged it with when caching it (kube-dns: the metrics `system` of the name). */
  readonly tag: number;
  readonly hash: number;
  /** The next entry whose question has the same hash. */
  nextSameHash: CachedAnswer | null;
  /** Where it sits in the cache's entry list (for eviction). */
  slot: number;
}

export interface AnswerCacheOptions {
  /** Entries kept at most (default 50,000: A, AAAA and SRV of 10k services and then some). */
  maxEntries?: number | undefined;
  /** [0, 1); picks what to evict (tests inject their own). */
  random?: () => number;
}

/**
 * Pre-encoded answers by (qtype, lower-cased qname). An entry is valid while the store scopes it was built
 * from are unchanged, so a store write invalidates exactly the answers that read that part of the store
 * (a namespace, the reverse index, the pods) without walking the cache.
 *
 * Bounded: when full, a random entry makes room (as CoreDNS's cache does). Unlike evicting the oldest, that
 * degrades gracefully when clients cycle through more names than fit: cycling through 22k questions with room
 * for 20k still finds ~80% of them, where oldest-first finds none.
 *
 * Every entry is also indexed by the hash of its question as it appears on the wire (raw-question.ts), so the
 * UDP fast path finds it from the query's bytes alone (`findRaw`); both ways lead to the same entries.
 */
export class AnswerCache {
  private readonly byType = new Map<number, Map<string, CachedAnswer>>();
  /** Question hash → the first entry with it (the rest chained through nextSameHash). */
  private readonly byHash = new Map<number, CachedAnswer>();
  /** Every entry, densely: a random one is evicted when full. */
  private readonly entries: CachedAnswer[] = [];
  private readonly maxEntries: number;
  private readonly random: () => number;

  constructor(options: AnswerCacheOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 50_000);
    this.random = options.random ?? Math.random;
  }

  get size(): number {
    return this.entries.length;
  }

  get(qtype: number, qname: string): EncodedAnswer | undefined {
    const names = this.byType.get(qtype);
    if (names === undefined) return undefined;
    const entry = names.get(qname);
    if (entry === undefined) return undefined;
    if (!this.valid(entry)) {
      this.drop(entry);
      return undefined;
    }
    return entry.encoded;
  }

  /**
   * The valid entry whose question is the one at offset 12 of `query` (already scanned: its hash and type), or
   * undefined. An entry found stale is dropped, as `get` does.
   */
  findRaw(query: Buffer, hash: number, qtype: number): CachedAnswer | undefined {
    for (let entry = this.byHash.get(hash) ?? null; entry !== null; entry = entry.nextSameHash) {
      if (entry.qtype !== qtype || !nameMatches(query, entry.qname)) continue;
      if (this.valid(entry)) return entry;
      this.drop(entry);
      return undefined;
    }
    return undefined;
  }

  set(qtype: number, qname: string, encoded: EncodedAnswer, scopes: readonly Scope[], tag = 0): void {
    const previous = this.byType.get(qtype)?.get(qname);
    if (previous !== undefined) this.drop(previous);
    if (this.entries.length >= this.maxEntries) {
      const victim = this.entries[Math.floor(this.random() * this.entries.length)]!;
      this.drop(victim);
    }
    // Looked up after the drops: a drop that empties a type's map removes it.
    let names = this.byType.get(qtype);
    if (names === undefined) {
      names = new Map();
      this.byType.set(qtype, names);
    }
    const unique = [...new Set(scopes)];
    const hash = questionHash(qname, qtype);
    const entry: CachedAnswer = {
      encoded,
      scopes: unique,
      gens: unique.map((s) => s.gen),
      qname,
      qtype,
      tag,
      hash,
      nextSameHash: this.byHash.get(hash) ?? null,
      slot: this.entries.length,
    };
    this.byHash.set(hash, entry);
    names.set(qname, entry);
    this.entries.push(entry);
  }

  clear(): void {
    this.byType.clear();
    this.byHash.clear();
    this.entries.length = 0;
  }

  private valid(entry: CachedAnswer): boolean {
    const { scopes, gens } = entry;
    for (let i = 0; i < scopes.length; i++) if (scopes[i]!.gen !== gens[i]) return false;
    return true;
  }

  private drop(entry: CachedAnswer): void {
    const names = this.byType.get(entry.qtype)!;
    names.delete(entry.qname);
    // Clients choose the types (65536 of them): a type with no answers left keeps no map behind.
    if (names.size === 0) this.byType.delete(entry.qtype);
    // Swap-remove from the entry list.
    const last = this.entries.pop()!;
    if (last !== entry) {
      this.entries[entry.slot] = last;
      last.slot = entry.slot;
    }
    const first = this.byHash.get(entry.hash);
    if (first === entry) {
      if (entry.nextSameHash === null) this.byHash.delete(entry.hash);
      else this.byHash.set(entry.hash, entry.nextSameHash);
      return;
    }
    for (let previous = first ?? null; previous !== null; previous = previous.nextSameHash) {
      if (previous.nextSameHash === entry) {
        previous.nextSameHash = entry.nextSameHash;
        return;
      }
    }
  }
}
