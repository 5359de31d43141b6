import NodeCache from 'node-cache';
import type { StoredAnswer } from './stored-answer.js';

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
  readonly counters: CacheCounters = { insertions: 0, evictions: 0 };

  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Moves the entries a hit on `entry` also used to the head of the LRU order. */
  touch(entry: CacheEntry, now: number): void {
    const keys = entry.touches;
    if (keys !== null) for (let i = 0; i < keys.length; i++) this.get(keys[i]!, now);
  }

  /** The live entry for `key`, moved to the head of the LRU order; expired entries are dropped here. */
  get(key: string, now: number): CacheEntry | undefined {
    const entry = this.store.get<CacheEntry>(key);
    if (entry === undefined) return undefined;
    if (now >= entry.expiresAt) {
      this.remove(entry);
      return undefined;
    }
    if (entry !== this.newest) {
      this.unlink(entry);
      this.linkNewest(entry);
    }
    return entry;
  }

  /** Stores an answer under `key`, replacing any previous one, evicting least recently used entries to fit. */
  set(key: string, answer: StoredAnswer, now: number): CacheEntry | null {
    if (this.capacity === 0 || answer.weight > this.capacity) return null;
    const previous = this.store.get<CacheEntry>(key);
    if (previous !== undefined) this.remove(previous);
    if (this.weightInUse + answer.weight > this.capacity) this.makeRoom(answer.weight, now);
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
    };
    this.store.set(key, entry);
    this.linkNewest(entry);
    this.weightInUse += entry.weight;
    this.counters.insertions += entry.weight;
    return entry;
  }

  /** Drops every entry (SIGHUP, --clear-on-reload); not counted as evictions, as in dnsmasq. */
  clear(): void {
    this.store.flushAll();
    this.newest = null;
    this.oldest = null;
    this.weightInUse = 0;
  }

  /** Cache records in use (≤ capacity). */
  get weight(): number {
    return this.weightInUse;
  }

  /** Entries (answers) stored. */
  get size(): number {
    return this.store.keys().length;
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
