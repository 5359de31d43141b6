import NodeCache from 'node-cache';
import { nameMatches, questionHash, withType, type RawQuestion } from '@kube-dns/daemon-kit';
import type { StoredAnswer } from './stored-answer.js';

/**
 * The raw-index type of a name-error entry (`<name>/NX`, answering every type of the name): above every wire type,
 * so it never equals one.
 */
export const NAME_ERROR_TYPE = 0x10000;

/** Cache keys: lower-cased name and type (class IN, the only one cached); NXDOMAIN of a name answers every type. */
export function cacheKey(name: string, qtype: number, nameError = false): string {
  return nameError ? name + '/NX' : name + '/' + qtype;
}

/** A cached answer plus its place in the least-recently-used order. */
export interface CacheEntry extends StoredAnswer {
  key: string;
  /** Clock milliseconds when stored; remaining TTLs count down from here. */
  insertedAt: number;
  expiresAt: number;
  /**
   * Keys of entries a hit on this one also uses, refreshed in the LRU order with it (dnsmasq looks up the CNAME's
   * target and the negative answer's SOA record, which moves them to the front): null when none.
   */
  touches: string[] | null;
  /** Neighbours in the LRU list (intrusive, so a hit moves an entry without allocating). */
  newer: CacheEntry | null;
  older: CacheEntry | null;
  /** The key's name and type (NAME_ERROR_TYPE for `/NX`), and their wire-question hash: the raw index. */
  rawName: string;
  rawType: number;
  rawHash: number;
  /** The next entry in the raw index with the same hash. */
  nextSameHash: CacheEntry | null;
}

/** What the cache reports for `insertions.bind` and `evictions.bind`, in dnsmasq's units (cache records). */
export interface CacheCounters {
  insertions: number;
  evictions: number;
}

/**
 * The answer cache. node-cache is the store (key → entry, `useClones: false`, no TTL or timer of its own: expiry
 * follows the injected clock and is checked on lookup). node-cache has no size bound by weight and no LRU, so this
 * class keeps the recency order itself in a doubly linked list threaded through the entries: a hit unlinks the entry
 * and puts it at the head, an insertion that does not fit removes from the tail.
 *
 * Sizes are in dnsmasq's unit, cache records (one per A/AAAA/SRV/PTR/CNAME record, one per negative answer, one per
 * SOA kept with it): `capacity` is `--cache-size`, an entry weighs as many records as it holds. As in dnsmasq
 * (cache.c really_insert), all expired entries are dropped before a live one is evicted, and an eviction frees the
 * least recently used record together with the rest of its RRset but counts once in `evictions`: here, one evicted
 * live entry counts one.
 */
export class ResponseCache {
  private readonly store = new NodeCache({ stdTTL: 0, checkperiod: 0, useClones: false, deleteOnExpire: false });
  private newest: CacheEntry | null = null;
  private oldest: CacheEntry | null = null;
  private weightInUse = 0;
  /**
   * Every entry by the hash of its key as a wire question (daemon-kit raw-question), for the UDP fast path: the
   * same entries as the store, found from a query's bytes (`findRaw`).
   */
  private readonly byHash = new Map<number, CacheEntry>();
  readonly counters: CacheCounters = { insertions: 0, evictions: 0 };
  /** What `counters` held before each clear (they restart from 0): with them, totals that never go back. */
  readonly lifetime: CacheCounters = { insertions: 0, evictions: 0 };

  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Moves the entries a hit on `entry` also used to the head of the LRU order. */
  touch(entry: CacheEntry, now: number): void {
    const keys = entry.touches;
    if (keys !== null) for (let i = 0; i < keys.length; i++) this.get(keys[i]!, now);
  }

  /**
   * The live entry answering (name, qtype): the type's own, else the name error of the name. Moved to the head of the
   * LRU order; expired entries are dropped here.
   */
  lookup(name: string, qtype: number, now: number): CacheEntry | undefined {
    return this.get(cacheKey(name, qtype), now) ?? this.get(cacheKey(name, qtype, true), now);
  }

  /** The live entry for `key`, moved to the head of the LRU order; expired entries are dropped here. */
  private get(key: string, now: number): CacheEntry | undefined {
    const entry = this.store.get<CacheEntry>(key);
    if (entry === undefined) return undefined;
    if (now >= entry.expiresAt) {
      this.remove(entry);
      return undefined;
    }
    this.promote(entry);
    return entry;
  }

  /**
   * `lookup` read off the bytes of a query whose question has been scanned into `question`: the stored entry for its
   * name and type, else the name error of the name, live or expired (an expired type's entry is returned, not passed
   * over for a name error); the LRU order is not touched.
   */
  findRaw(query: Buffer, question: RawQuestion): CacheEntry | undefined {
    return (
      this.findInChain(query, question.hash, question.qtype) ??
      this.findInChain(query, withType(question.nameHash, NAME_ERROR_TYPE), NAME_ERROR_TYPE)
    );
  }

  private findInChain(query: Buffer, hash: number, rawType: number): CacheEntry | undefined {
    for (let entry = this.byHash.get(hash) ?? null; entry !== null; entry = entry.nextSameHash) {
      if (entry.rawType === rawType && nameMatches(query, entry.rawName)) return entry;
    }
    return undefined;
  }

  /** Moves a live entry to the head of the LRU order, as a hit through `get` does. */
  promote(entry: CacheEntry): void {
    if (entry !== this.newest) {
      this.unlink(entry);
      this.linkNewest(entry);
    }
  }

  /**
   * Stores the answer for (name, qtype), or for every type of the name when it is a name error (`cacheKey`), replacing
   * any previous one, evicting least recently used entries to fit.
   */
  set(name: string, qtype: number, answer: StoredAnswer, now: number): CacheEntry | null {
    if (this.capacity === 0 || answer.weight > this.capacity) return null;
    const key = cacheKey(name, qtype, answer.nameError);
    const previous = this.store.get<CacheEntry>(key);
    if (previous !== undefined) this.remove(previous);
    if (this.weightInUse + answer.weight > this.capacity) this.makeRoom(answer.weight, now);
    const rawType = answer.nameError ? NAME_ERROR_TYPE : qtype;
    const rawHash = questionHash(name, rawType);
    // Every entry is built with the same fields in the same order: one hidden class on the hot path.
    const entry: CacheEntry = {
      wire: answer.wire,
      questionEnd: answer.questionEnd,
      rcode: answer.rcode,
      ttlOffsets: answer.ttlOffsets,
      ttls: answer.ttls,
      lifetime: answer.lifetime,
      weight: answer.weight,
      nameError: answer.nameError,
      key,
      insertedAt: now,
      expiresAt: now + answer.lifetime * 1000,
      touches: null,
      newer: null,
      older: null,
      rawName: name,
      rawType,
      rawHash,
      nextSameHash: this.byHash.get(rawHash) ?? null,
    };
    this.byHash.set(rawHash, entry);
    this.store.set(key, entry);
    this.linkNewest(entry);
    this.weightInUse += entry.weight;
    this.counters.insertions += entry.weight;
    return entry;
  }

  /**
   * Drops every entry (SIGHUP, --clear-on-reload); not counted as evictions. As dnsmasq's cache_reload, it starts
   * insertions.bind and evictions.bind again from 0 (hits and misses go on).
   */
  clear(): void {
    this.lifetime.insertions += this.counters.insertions;
    this.lifetime.evictions += this.counters.evictions;
    this.counters.insertions = 0;
    this.counters.evictions = 0;
    this.store.flushAll();
    this.byHash.clear();
    this.newest = null;
    this.oldest = null;
    this.weightInUse = 0;
  }

  /** Cache records in use (≤ capacity). */
  get weight(): number {
    return this.weightInUse;
  }

  /** Keys from most to least recently used (tests, SIGUSR1 dumps). */
  keysByRecency(): string[] {
    const keys: string[] = [];
    for (let entry = this.newest; entry !== null; entry = entry.older) keys.push(entry.key);
    return keys;
  }

  private makeRoom(needed: number, now: number): void {
    // dnsmasq frees every expired record before it spills a live one (cache.c really_insert).
    for (let entry = this.oldest; entry !== null;) {
      const newer = entry.newer;
      if (now >= entry.expiresAt) this.remove(entry);
      entry = newer;
    }
    while (this.weightInUse + needed > this.capacity && this.oldest !== null) {
      const victim = this.oldest;
      this.remove(victim);
      this.counters.evictions++;
    }
  }

  private remove(entry: CacheEntry): void {
    this.store.del(entry.key);
    this.unlink(entry);
    this.weightInUse -= entry.weight;
    const first = this.byHash.get(entry.rawHash);
    if (first === entry) {
      if (entry.nextSameHash === null) this.byHash.delete(entry.rawHash);
      else this.byHash.set(entry.rawHash, entry.nextSameHash);
    } else {
      for (let previous = first ?? null; previous !== null; previous = previous.nextSameHash) {
        if (previous.nextSameHash === entry) {
          previous.nextSameHash = entry.nextSameHash;
          break;
        }
      }
    }
  }

  private unlink(entry: CacheEntry): void {
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    entry.newer = null;
    entry.older = null;
  }

  private linkNewest(entry: CacheEntry): void {
    entry.older = this.newest;
    entry.newer = null;
    if (this.newest) this.newest.newer = entry;
    this.newest = entry;
    if (this.oldest === null) this.oldest = entry;
  }
}
