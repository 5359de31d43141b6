import { randomBytes, randomUUID } from 'node:crypto';
import {
  alreadyExists,
  ApiError,
  badRequest,
  conflict,
  MODIFIED_CONFLICT,
  namespaceNotFound,
  notFound,
  tooOldResourceVersion,
} from './api-error.js';
import { applyDefaults, releaseAllocations, ServiceAllocations, validateName, type WriteMode } from './defaults.js';
import { EventHistory, type StoreEvent, type WatchEventType } from './event-history.js';
import { cloneJson, isPlainObject, jsonEqual, type KubeObject } from './kube-object.js';
import { RESOURCES, type ResourceType } from './resources.js';
import { objectKey, storedObject, type StoredObject } from './stored-object.js';

export interface ObjectStoreOptions {
  /** Events kept for watch resumption and consistent pagination. */
  historySize: number;
  /** Creating into a missing namespace creates it (true) or fails with 404 like the real server (false). */
  autoCreateNamespaces: boolean;
  serviceCidrs: readonly string[];
  now: () => Date;
}

export interface WriteOptions {
  mode?: WriteMode;
  /** The namespace the request path names; the body's must match it. */
  namespace?: string;
}

export interface DeletePreconditions {
  uid?: string;
  resourceVersion?: string;
}

class Collection {
  readonly objects = new Map<string, StoredObject>();
  private sorted: string[] | undefined;

  set(stored: StoredObject): void {
    if (!this.objects.has(stored.key)) this.sorted = undefined;
    this.objects.set(stored.key, stored);
  }

  delete(key: string): void {
    if (this.objects.delete(key)) this.sorted = undefined;
  }

  sortedKeys(): string[] {
    this.sorted ??= [...this.objects.keys()].sort();
    return this.sorted;
  }
}

/** A list as of one resourceVersion: items in key order. */
export interface Snapshot {
  rv: number;
  items: StoredObject[];
}

/**
 * The cluster state: one global resourceVersion, every write an event in a bounded history, listeners
 * called synchronously after each commit (the watch hub). Nothing here knows about HTTP.
 */
export class ObjectStore {
  private readonly collections = new Map<ResourceType, Collection>();
  private readonly history: EventHistory;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  private readonly allocations: ServiceAllocations;
  private readonly options: ObjectStoreOptions;
  private rv = 0;

  constructor(options: ObjectStoreOptions) {
    this.options = options;
    this.history = new EventHistory(options.historySize);
    this.allocations = new ServiceAllocations(options.serviceCidrs);
    for (const type of RESOURCES) this.collections.set(type, new Collection());
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Events after this version may be gone: a resume from an older one gets 410. */
  get compactedResourceVersion(): number {
    return this.history.compactedRv;
  }

  onEvent(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Forgets the history. The version moves on by one first, so every version handed out before is now
   * too old: the next watch resume from any of them gets 410 Expired.
   */
  compact(): number {
    this.rv++;
    this.history.compact(this.rv);
    return this.rv;
  }

  count(type: ResourceType): number {
    return this.collection(type).objects.size;
  }

  get(type: ResourceType, namespace: string, name: string): StoredObject | undefined {
    return this.collection(type).objects.get(objectKey(type.namespaced ? namespace : '', name));
  }

  /** The current state, in key order, optionally one namespace. */
  list(type: ResourceType, namespace?: string): Snapshot {
    const collection = this.collection(type);
    const items: StoredObject[] = [];
    const prefix = namespace === undefined || namespace === '' || !type.namespaced ? undefined : `${namespace}/`;
    for (const key of collection.sortedKeys()) {
      if (prefix !== undefined && !key.startsWith(prefix)) continue;
      items.push(collection.objects.get(key)!);
    }
    return { rv: this.rv, items };
  }

  /**
   * The state as of `rv` (for Exact lists and continue tokens): the current state with the history's newer
   * events undone. 410 if the history no longer reaches back that far.
   */
  listAt(type: ResourceType, rv: number, namespace?: string): Snapshot {
    if (rv >= this.rv) return this.list(type, namespace);
    if (!this.history.covers(rv)) throw tooOldResourceVersion(rv, this.history.compactedRv + 1);
    const overlay = new Map<string, StoredObject | undefined>();
    const newer = this.history.since(rv);
    for (let i = newer.length - 1; i >= 0; i--) {
      const event = newer[i]!;
      if (event.resource === type) overlay.set(event.object.key, event.previous);
    }
    if (overlay.size === 0) return { rv, items: this.list(type, namespace).items };
    const collection = this.collection(type);
    const keys = new Set(collection.sortedKeys());
    for (const key of overlay.keys()) keys.add(key);
    const prefix = namespace === undefined || namespace === '' || !type.namespaced ? undefined : `${namespace}/`;
    const items: StoredObject[] = [];
    for (const key of [...keys].sort()) {
      if (prefix !== undefined && !key.startsWith(prefix)) continue;
      const stored = overlay.has(key) ? overlay.get(key) : collection.objects.get(key);
      if (stored !== undefined) items.push(stored);
    }
    return { rv, items };
  }

  /** The events after `rv`, oldest first, or 410 when the history no longer reaches back that far. */
  eventsSince(rv: number): StoreEvent[] {
    if (!this.history.covers(rv)) throw tooOldResourceVersion(rv, this.history.compactedRv + 1);
    return this.history.since(rv);
  }

  create(type: ResourceType, input: KubeObject, options: WriteOptions = {}): StoredObject {
    const mode = options.mode ?? 'direct';
    const object = this.normalize(type, input, options.namespace);
    const meta = object.metadata;
    if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string') {
      meta.name = meta.generateName + randomSuffix();
    }
    const name = meta.name ?? '';
    validateName(type, name);
    const namespace = type.namespaced ? (meta.namespace ?? '') : '';
    if (this.get(type, namespace, name) !== undefined) throw alreadyExists(type, name);
    if (type.namespaced) this.ensureNamespace(namespace);
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp(this.options.now());
    delete meta.deletionTimestamp;
    if (type.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    applyDefaults(type, object, undefined, mode, this.allocations);
    return this.commit(type, 'ADDED', object, undefined);
  }

  /**
   * Replaces an object. A resourceVersion in the body is a precondition (409 on mismatch); without one the
   * write is unconditional. `mode` decides what happens to status (see WriteMode).
   */
  update(type: ResourceType, input: KubeObject, options: WriteOptions = {}): StoredObject {
    const mode = options.mode ?? 'direct';
    const object = this.normalize(type, input, options.namespace);
    const name = object.metadata.name ?? '';
    if (name === '') throw badRequest('name is required in the object to update');
    const namespace = type.namespaced ? (object.metadata.namespace ?? '') : '';
    const current = this.get(type, namespace, name);
    if (current === undefined) throw notFound(type, name);
    const expected = object.metadata.resourceVersion;
    if (expected !== undefined && expected !== '' && expected !== String(current.rv)) {
      throw conflict(type, name, MODIFIED_CONFLICT);
    }
    const old = current.object;
    let next: KubeObject;
    if (mode === 'status') {
      next = cloneJson(old);
      if (object['status'] !== undefined) next['status'] = object['status'];
      else delete next['status'];
    } else {
      next = object;
      if (mode === 'api' && type.hasStatus) {
        if (old['status'] !== undefined) next['status'] = cloneJson(old['status']);
        else delete next['status'];
      }
    }
    const meta = next.metadata;
    meta.uid = old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp !== undefined) meta.deletionTimestamp = old.metadata.deletionTimestamp;
    else delete meta.deletionTimestamp;
    applyDefaults(type, next, old, mode, this.allocations);
    if (type.tracksGeneration) {
      const oldGeneration = old.metadata.generation ?? 1;
      meta.generation = specChanged(old, next) ? oldGeneration + 1 : oldGeneration;
    } else delete meta.generation;
    meta.resourceVersion = String(current.rv);
    // The real server does not write (nor bump the version) when nothing changed.
    if (jsonEqual(withoutType(next), old)) return current;
    return this.commit(type, 'MODIFIED', next, current);
  }

  /** Creates or replaces, ignoring any resourceVersion: `kubectl apply` for tests and seeds. */
  apply(type: ResourceType, input: KubeObject, options: WriteOptions = {}): StoredObject {
    const object = this.normalize(type, input, options.namespace);
    delete object.metadata.resourceVersion;
    const namespace = type.namespaced ? (object.metadata.namespace ?? '') : '';
    const existing = this.get(type, namespace, object.metadata.name ?? '');
    return existing === undefined ? this.create(type, object, options) : this.update(type, object, options);
  }

  /** Deletes one object (a namespace with everything in it) and returns its last state. */
  delete(type: ResourceType, namespace: string, name: string, preconditions: DeletePreconditions = {}): StoredObject {
    const current = this.get(type, namespace, name);
    if (current === undefined) throw notFound(type, name);
    if (preconditions.uid !== undefined && preconditions.uid !== current.object.metadata.uid) {
      throw conflict(
        type,
        name,
        `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.object.metadata.uid}`,
      );
    }
    if (preconditions.resourceVersion !== undefined && preconditions.resourceVersion !== String(current.rv)) {
      throw conflict(
        type,
        name,
        `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.rv}`,
      );
    }
    if (type.resource === 'namespaces') return this.deleteNamespace(current);
    return this.remove(current);
  }

  private deleteNamespace(current: StoredObject): StoredObject {
    // As the namespace controller does: Terminating first, then the contents, then the namespace itself.
    const terminating = cloneJson(current.object);
    terminating.metadata.deletionTimestamp = timestamp(this.options.now());
    terminating['status'] = { phase: 'Terminating' };
    const marked = this.commit(current.resource, 'MODIFIED', terminating, current);
    for (const type of RESOURCES) {
      if (!type.namespaced) continue;
      for (const stored of this.list(type, current.name).items) this.remove(stored);
    }
    return this.remove(marked);
  }

  private remove(current: StoredObject): StoredObject {
    const type = current.resource;
    const last = cloneJson(current.object);
    releaseAllocations(type, last, this.allocations);
    this.rv++;
    const gone = storedObject(type, last, this.rv);
    this.collection(type).delete(current.key);
    this.publish({ rv: this.rv, type: 'DELETED', resource: type, object: gone, previous: current });
    return gone;
  }

  private commit(
    type: ResourceType,
    eventType: WatchEventType,
    object: KubeObject,
    previous: StoredObject | undefined,
  ): StoredObject {
    this.rv++;
    const stored = storedObject(type, object, this.rv);
    this.collection(type).set(stored);
    this.publish({ rv: this.rv, type: eventType, resource: type, object: stored, previous });
    return stored;
  }

  private publish(event: StoreEvent): void {
    this.history.push(event);
    for (const listener of this.listeners) listener(event);
  }

  private ensureNamespace(namespace: string): void {
    const namespaces = RESOURCES.find((r) => r.resource === 'namespaces')!;
    if (namespace === '') throw badRequest('the namespace of the object is required');
    if (this.get(namespaces, '', namespace) !== undefined) return;
    if (!this.options.autoCreateNamespaces) throw namespaceNotFound(namespace);
    this.create(namespaces, { metadata: { name: namespace } });
  }

  /** A private deep copy with metadata present and the namespace checked against the request's. */
  private normalize(type: ResourceType, input: KubeObject, pathNamespace: string | undefined): KubeObject {
    if (!isPlainObject(input)) throw badRequest('the request body must be a JSON object');
    const object = cloneJson(input);
    if (!isPlainObject(object.metadata)) object.metadata = {};
    const meta = object.metadata;
    if (type.namespaced) {
      if (
        pathNamespace !== undefined &&
        meta.namespace !== undefined &&
        meta.namespace !== '' &&
        meta.namespace !== pathNamespace
      ) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace =
        pathNamespace ?? (meta.namespace === undefined || meta.namespace === '' ? 'default' : meta.namespace);
    } else delete meta.namespace;
    delete object.kind;
    delete object.apiVersion;
    return object;
  }

  private collection(type: ResourceType): Collection {
    return this.collections.get(type)!;
  }
}

function withoutType(object: KubeObject): KubeObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  return rest;
}

function specChanged(old: KubeObject, next: KubeObject): boolean {
  const strip = (o: KubeObject): Record<string, unknown> => {
    const { metadata: _m, status: _s, kind: _k, apiVersion: _a, ...rest } = o;
    return rest;
  };
  return !jsonEqual(strip(old), strip(next));
}

/** RFC 3339 at second precision, as the apiserver writes metav1.Time. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** generateName's 5 random characters, from the real server's alphabet (no vowels, no confusable digits). */
function randomSuffix(): string {
  const bytes = randomBytes(5);
  let out = '';
  for (const b of bytes) out += SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length];
  return out;
}

export { ApiError };
