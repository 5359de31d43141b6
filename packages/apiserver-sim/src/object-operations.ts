import { ApiError, badRequest, notFound } from './api-error.js';
import { cloneJson, isPlainObject, type KubeObject } from './kube-object.js';
import type { ObjectStore } from './object-store.js';
import { applyMergePatch } from './patch.js';
import { resourceByName, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { toPlainObject } from './stored-object.js';
import { matchesFilter } from './watch-connection.js';

/** Names one object: `kind` is a kind (`Service`), a plural (`services`) or a short name (`svc`). */
export interface ObjectRef {
  kind: string;
  apiVersion?: string;
  /** Defaults to `default` for namespaced kinds. */
  namespace?: string;
  name: string;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Direct access to the cluster state, for tests and seeds. Writes go through the same store as the REST API
 * (same resourceVersions, defaults, watch events and history) but keep `status` as given, like a controller
 * writing both. Objects in and out are plain JSON copies; failures throw ApiError (code, reason).
 */
export interface ObjectOperations {
  create(object: KubeObject): KubeObject;
  /** Replace; a metadata.resourceVersion in the object is a precondition (409 Conflict on mismatch). */
  update(object: KubeObject): KubeObject;
  /** Create or replace, ignoring resourceVersion (`kubectl apply`-like upsert). */
  apply(object: KubeObject): KubeObject;
  /** Applies many in order, one event each; returns them. */
  applyAll(objects: readonly KubeObject[]): KubeObject[];
  /** RFC 7386 merge patch of an existing object. */
  patch(ref: ObjectRef, mergePatch: Record<string, unknown>): KubeObject;
  /** Deletes (a namespace with its contents) and returns the last state, or undefined if it did not exist. */
  delete(ref: ObjectRef): KubeObject | undefined;
  get(ref: ObjectRef): KubeObject | undefined;
  /** In key (namespace/name) order. */
  list(kind: string, options?: ListOptions): KubeObject[];
  count(kind: string): number;
}

export function typeOf(kind: string | undefined, apiVersion?: string): ResourceType {
  const type = kind === undefined ? undefined : resourceByName(kind, apiVersion);
  if (type === undefined) {
    throw badRequest(
      `apiserver-sim does not serve kind ${JSON.stringify(kind)}${apiVersion ? ` in ${apiVersion}` : ''}`,
    );
  }
  return type;
}

function refNamespace(type: ResourceType, ref: ObjectRef): string {
  return type.namespaced ? (ref.namespace ?? 'default') : '';
}

export function createObjectOperations(
  store: ObjectStore,
  onWrite: (what: string, key: string, resource: string, rv: number) => void = () => undefined,
): ObjectOperations {
  const typeOfObject = (object: KubeObject): ResourceType => {
    if (!isPlainObject(object)) throw badRequest('an object must be a JSON object');
    return typeOf(object.kind, object.apiVersion);
  };
  const ops: ObjectOperations = {
    create(object) {
      const stored = store.create(typeOfObject(object), object, { mode: 'direct' });
      onWrite('created', stored.key, stored.resource.resource, stored.rv);
      return toPlainObject(stored);
    },
    update(object) {
      const type = typeOfObject(object);
      const before = store.resourceVersion;
      const stored = store.update(type, object, { mode: 'direct' });
      if (store.resourceVersion !== before) onWrite('updated', stored.key, stored.resource.resource, stored.rv);
      return toPlainObject(stored);
    },
    apply(object) {
      const type = typeOfObject(object);
      const before = store.resourceVersion;
      const existed =
        store.get(type, object.metadata?.namespace ?? 'default', object.metadata?.name ?? '') !== undefined;
      const stored = store.apply(type, object, { mode: 'direct' });
      if (store.resourceVersion !== before)
        onWrite(existed ? 'updated' : 'created', stored.key, stored.resource.resource, stored.rv);
      return toPlainObject(stored);
    },
    applyAll(objects) {
      return objects.map((o) => ops.apply(o));
    },
    patch(ref, mergePatch) {
      const type = typeOf(ref.kind, ref.apiVersion);
      const current = store.get(type, refNamespace(type, ref), ref.name);
      if (current === undefined) throw notFound(type, ref.name);
      const patched = applyMergePatch(toPlainObject(current), cloneJson(mergePatch)) as KubeObject;
      return ops.update(patched);
    },
    delete(ref) {
      const type = typeOf(ref.kind, ref.apiVersion);
      try {
        const gone = store.delete(type, refNamespace(type, ref), ref.name);
        onWrite('deleted', gone.key, type.resource, gone.rv);
        return toPlainObject(gone);
      } catch (error) {
        if (error instanceof ApiError && error.code === 404) return undefined;
        throw error;
      }
    },
    get(ref) {
      const type = typeOf(ref.kind, ref.apiVersion);
      const stored = store.get(type, refNamespace(type, ref), ref.name);
      return stored === undefined ? undefined : toPlainObject(stored);
    },
    list(kind, options = {}) {
      const type = typeOf(kind);
      const filter = {
        namespace: options.namespace,
        labels: parseLabelSelector(options.labelSelector),
        fields: parseFieldSelector(options.fieldSelector, type),
      };
      return store
        .list(type, type.namespaced ? options.namespace : undefined)
        .items.filter((s) => matchesFilter(filter, s))
        .map(toPlainObject);
    },
    count(kind) {
      return store.count(typeOf(kind));
    },
  };
  return ops;
}
