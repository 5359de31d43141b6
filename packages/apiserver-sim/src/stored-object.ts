import type { KubeObject } from './kube-object.js';
import type { ResourceType } from './resources.js';
import { apiVersionOf } from './resources.js';

/**
 * An object as stored: immutable, with its list-item JSON (no kind/apiVersion, as the real server writes list
 * items) serialized once, so lists and watch events are string concatenation.
 */
export interface StoredObject {
  readonly resource: ResourceType;
  /** `namespace/name`, or `name` for cluster-scoped kinds: the sort key of lists and continue tokens. */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly rv: number;
  /** Without kind and apiVersion; never mutated once stored. */
  readonly object: KubeObject;
  readonly itemJson: string;
}

export function objectKey(namespace: string, name: string): string {
  return namespace === '' ? name : `${namespace}/${name}`;
}

export function storedObject(resource: ResourceType, object: KubeObject, rv: number): StoredObject {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object;
  rest.metadata.resourceVersion = String(rv);
  const namespace = resource.namespaced ? (rest.metadata.namespace ?? '') : '';
  const name = rest.metadata.name ?? '';
  return {
    resource,
    key: objectKey(namespace, name),
    namespace,
    name,
    rv,
    object: rest,
    itemJson: JSON.stringify(rest),
  };
}

/** The JSON prefix that turns a list item into a full object: `{"kind":"Service","apiVersion":"v1",`. */
export function typePrefix(resource: ResourceType): string {
  return `{"kind":${JSON.stringify(resource.kind)},"apiVersion":${JSON.stringify(apiVersionOf(resource))},`;
}

/** The object's JSON with kind and apiVersion, as GET and watch events carry it. */
export function fullJson(stored: StoredObject): string {
  return typePrefix(stored.resource) + stored.itemJson.slice(1);
}

/** A fresh, caller-owned copy with kind and apiVersion. */
export function toPlainObject(stored: StoredObject): KubeObject {
  return JSON.parse(fullJson(stored)) as KubeObject;
}
