import { ApiError, badRequest } from './api-error.js';
import { cloneJson, isPlainObject, jsonEqual } from './kube-object.js';

/** RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return cloneJson(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

/** RFC 6902 JSON patch on a copy of `document`. Failed `test` or a bad path is a 422, as on the real server. */
export function applyJsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('json patch must be an array of operations');
  let doc = cloneJson(document);
  for (const raw of operations) {
    if (!isPlainObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') {
      throw badRequest(`invalid json patch operation: ${JSON.stringify(raw)}`);
    }
    const op = raw as unknown as JsonPatchOperation;
    switch (op.op) {
      case 'add':
        doc = setAt(doc, op.path, cloneJson(op.value), 'add');
        break;
      case 'replace':
        doc = setAt(doc, op.path, cloneJson(op.value), 'replace');
        break;
      case 'remove':
        doc = removeAt(doc, op.path).doc;
        break;
      case 'move': {
        const removed = removeAt(doc, requireFrom(op));
        doc = setAt(removed.doc, op.path, removed.value, 'add');
        break;
      }
      case 'copy':
        doc = setAt(doc, op.path, cloneJson(getAt(doc, requireFrom(op))), 'add');
        break;
      case 'test':
        if (!jsonEqual(getAt(doc, op.path), op.value)) {
          throw patchFailure(`testing value ${op.path} failed`);
        }
        break;
      default:
        throw badRequest(`unexpected json patch operation: ${String((op as { op: unknown }).op)}`);
    }
  }
  return doc;
}

function requireFrom(op: JsonPatchOperation): string {
  if (typeof op.from !== 'string') throw badRequest(`json patch ${op.op} needs "from"`);
  return op.from;
}

function patchFailure(message: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`invalid json pointer: ${path}`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(doc: unknown, path: string): unknown {
  let node = doc;
  for (const part of pointer(path)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isPlainObject(node) && part in node) node = node[part];
    else throw patchFailure(`path ${path} does not exist`);
    if (node === undefined) throw patchFailure(`path ${path} does not exist`);
  }
  return node;
}

function parentOf(doc: unknown, path: string): { parent: unknown; last: string } {
  const parts = pointer(path);
  const last = parts.pop();
  if (last === undefined) throw badRequest('json patch path must not be the document root here');
  const parentPath = parts.map((p) => '/' + p.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
  return { parent: getAt(doc, parentPath), last };
}

function setAt(doc: unknown, path: string, value: unknown, mode: 'add' | 'replace'): unknown {
  if (path === '') return value;
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) {
    const index = last === '-' ? parent.length : Number(last);
    if (
      !Number.isInteger(index) ||
      index < 0 ||
      index > parent.length ||
      (mode === 'replace' && index >= parent.length)
    ) {
      throw patchFailure(`index ${last} out of range in ${path}`);
    }
    if (mode === 'add') parent.splice(index, 0, value);
    else parent[index] = value;
  } else if (isPlainObject(parent)) {
    if (mode === 'replace' && !(last in parent)) throw patchFailure(`path ${path} does not exist`);
    parent[last] = value;
  } else throw patchFailure(`path ${path} has no parent object`);
  return doc;
}

function removeAt(doc: unknown, path: string): { doc: unknown; value: unknown } {
  const { parent, last } = parentOf(doc, path);
  if (Array.isArray(parent)) {
    const index = Number(last);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length)
      throw patchFailure(`index ${last} out of range`);
    const value: unknown = parent.splice(index, 1)[0];
    return { doc, value };
  }
  if (isPlainObject(parent) && last in parent) {
    const value = parent[last];
    delete parent[last];
    return { doc, value };
  }
  throw patchFailure(`path ${path} does not exist`);
}
