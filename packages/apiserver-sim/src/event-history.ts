import type { ResourceType } from './resources.js';
import type { StoredObject } from './stored-object.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One committed write, as watchers see it and as the history keeps it. */
export interface StoreEvent {
  readonly rv: number;
  readonly type: WatchEventType;
  readonly resource: ResourceType;
  /** The state after the write; for DELETED the last state, carrying the deletion's resourceVersion. */
  readonly object: StoredObject;
  /** The state before the write (absent for ADDED): lets lists be served as of an older version. */
  readonly previous: StoredObject | undefined;
}

/**
 * The last `capacity` events in a ring. `compactedRv` is the newest version whose events may be missing: a
 * watch or an Exact list from a version older than it gets 410 Expired, like etcd after compaction.
 */
export class EventHistory {
  private readonly buffer: (StoreEvent | undefined)[];
  private start = 0;
  private size = 0;
  private compacted = 0;

  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('history size must be a positive integer');
    this.buffer = new Array<StoreEvent | undefined>(capacity);
  }

  get compactedRv(): number {
    return this.compacted;
  }

  get length(): number {
    return this.size;
  }

  push(event: StoreEvent): void {
    if (this.size === this.capacity) {
      const dropped = this.buffer[this.start]!;
      this.compacted = dropped.rv;
      this.buffer[this.start] = event;
      this.start = (this.start + 1) % this.capacity;
      return;
    }
    this.buffer[(this.start + this.size) % this.capacity] = event;
    this.size++;
  }

  /** Forgets everything up to and including `rv`. */
  compact(rv: number): void {
    while (this.size > 0 && this.at(0).rv <= rv) {
      this.buffer[this.start] = undefined;
      this.start = (this.start + 1) % this.capacity;
      this.size--;
    }
    this.compacted = Math.max(this.compacted, rv);
  }

  /** Whether every event after `rv` is still here. */
  covers(rv: number): boolean {
    return rv >= this.compacted;
  }

  /** The events after `rv`, oldest first; call `covers(rv)` first. */
  since(rv: number): StoreEvent[] {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    const out: StoreEvent[] = [];
    for (let i = lo; i < this.size; i++) out.push(this.at(i));
    return out;
  }

  private at(i: number): StoreEvent {
    return this.buffer[(this.start + i) % this.capacity]!;
  }
}
