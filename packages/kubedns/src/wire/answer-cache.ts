import type { Scope } from '../store/scope.js';
import type { EncodedAnswer } from './answer-encoder.js';

interface CachedAnswer {
  encoded: EncodedAnswer;
  scopes: Scope[];
  /** `scopes[i].gen` when the answer was built. */
  gens: number[];
}

/**
 * Pre-encoded answers by (qtype, lower-cased qname). An entry is valid while the store scopes it was built
 * from are unchanged, so a store write invalidates exactly the answers that read that part of the store
 * (a namespace, the reverse index, the pods) without walking the cache. Bounded: past `maxEntries` the
 * oldest entries of the same qtype go first (insertion order), and a write of a new qtype clears it all.
 */
export class AnswerCache {
  private readonly byType = new Map<number, Map<string, CachedAnswer>>();
  private count = 0;
  private readonly maxEntries: number;

  constructor(maxEntries = 20_000) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.count;
  }

  get(qtype: number, qname: string): EncodedAnswer | undefined {
    const names = this.byType.get(qtype);
    if (names === undefined) return undefined;
    const entry = names.get(qname);
    if (entry === undefined) return undefined;
    const { scopes, gens } = entry;
    for (let i = 0; i < scopes.length; i++) {
      if (scopes[i]!.gen !== gens[i]) {
        names.delete(qname);
        this.count--;
        return undefined;
      }
    }
    return entry.encoded;
  }

  set(qtype: number, qname: string, encoded: EncodedAnswer, scopes: readonly Scope[]): void {
    let names = this.byType.get(qtype);
    if (names?.delete(qname)) this.count--;
    if (this.count >= this.maxEntries) {
      const oldest = names?.keys().next();
      if (names === undefined || oldest === undefined || oldest.done) {
        this.clear();
        names = undefined;
      } else {
        names.delete(oldest.value);
        this.count--;
      }
    }
    if (names === undefined) {
      names = new Map();
      this.byType.set(qtype, names);
    }
    const unique = [...new Set(scopes)];
    names.set(qname, { encoded, scopes: unique, gens: unique.map((s) => s.gen) });
    this.count++;
  }

  clear(): void {
    this.byType.clear();
    this.count = 0;
  }
}
