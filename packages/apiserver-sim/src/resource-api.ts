import type http from 'node:http';
import type { Logger } from '@kube-dns/daemon-kit';
import { ApiError, badRequest, invalid, notFound } from './api-error.js';
import type { WriteMode } from './defaults.js';
import type { RequestFaults } from './faults.js';
import { parseBody, readBody, sendJson } from './http-util.js';
import { isPlainObject, type KubeObject } from './kube-object.js';
import { listJson, listObjects } from './list.js';
import type { DeletePreconditions, ObjectStore } from './object-store.js';
import { applyJsonPatch, applyMergePatch } from './patch.js';
import type { RequestInfo } from './request-info.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { fullJson, toPlainObject, type StoredObject } from './stored-object.js';
import { startWatch, type WatchSettings } from './watch.js';
import type { ObjectFilter } from './watch-connection.js';
import type { WatchHub } from './watch-hub.js';

export interface ResourceApiContext {
  store: ObjectStore;
  hub: WatchHub;
  watch: WatchSettings;
  faults: RequestFaults;
  gzipMinBytes: number | undefined;
  logger: Logger;
}

export function notFoundPath(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource');
}

function methodNotAllowed(method: string): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource (${method})`,
  );
}

const PATCH_TYPES =
  'application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml';

/** Serves one request for a resource the simulator knows (the caller has authenticated it and applied faults). */
export async function serveResource(
  ctx: ResourceApiContext,
  info: RequestInfo,
  req: http.IncomingMessage,
  res: http.ServerResponse,
  user: string,
): Promise<void> {
  const type = info.type;
  if (type === undefined) throw notFoundPath();
  const namespace = type.namespaced ? info.namespace : '';
  if (type.namespaced && namespace === '' && (info.name !== '' || info.verb === 'create')) throw notFoundPath();
  if (!type.namespaced && info.namespace !== '' && type.resource !== 'namespaces') throw notFoundPath();
  let mode: WriteMode = 'api';
  if (info.subresource !== '') {
    const known =
      (info.subresource === 'status' && type.hasStatus) ||
      (info.subresource === 'finalize' && type.resource === 'namespaces');
    if (!known || info.name === '') throw notFoundPath();
    if (!['get', 'update', 'patch'].includes(info.verb)) throw methodNotAllowed(req.method ?? '');
    mode = info.subresource === 'status' ? 'status' : 'api';
  }
  const query = info.query;
  if (query.has('dryRun') && info.verb !== 'get' && info.verb !== 'list' && info.verb !== 'watch') {
    throw badRequest('dryRun is not supported by apiserver-sim');
  }
  const filter = (): ObjectFilter => ({
    namespace: namespace === '' ? undefined : namespace,
    labels: parseLabelSelector(query.get('labelSelector') ?? undefined),
    fields: parseFieldSelector(query.get('fieldSelector') ?? undefined, type),
  });
  const send = (status: number, json: string): Promise<void> =>
    sendJson(req, res, status, json, { gzipMinBytes: ctx.gzipMinBytes });

  switch (info.verb) {
    case 'watch': {
      const objectFilter = filter();
      // A watch on one object's path is a watch with metadata.name=<name>.
      const fields =
        info.name === ''
          ? objectFilter.fields
          : [...objectFilter.fields, { field: 'metadata.name', value: info.name, negate: false }];
      const timeout = query.get('timeoutSeconds');
      const initial = query.get('sendInitialEvents');
      startWatch(
        res,
        ctx.store,
        ctx.hub,
        type,
        { ...objectFilter, fields },
        {
          resourceVersion: query.get('resourceVersion') ?? undefined,
          resourceVersionMatch: query.get('resourceVersionMatch') ?? undefined,
          allowWatchBookmarks: query.get('allowWatchBookmarks') === 'true' || query.get('allowWatchBookmarks') === '1',
          sendInitialEvents: initial === null ? undefined : initial === 'true' || initial === '1',
          timeoutSeconds: timeout === null ? undefined : Number(timeout),
          labelSelector: query.get('labelSelector') ?? '',
          fieldSelector: query.get('fieldSelector') ?? '',
        },
        ctx.watch,
        user,
      );
      ctx.logger.debug('watch opened', { resource: type.resource, namespace, user });
      return;
    }
    case 'list': {
      const objectFilter = filter();
      const limitText = query.get('limit');
      const limit = limitText === null || limitText === '' ? undefined : Number(limitText);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 0))
        throw badRequest('limit must be a non-negative integer');
      if (ctx.faults.slowListsMs > 0) await new Promise((resolve) => setTimeout(resolve, ctx.faults.slowListsMs));
      const page = listObjects(ctx.store, type, objectFilter, {
        resourceVersion: query.get('resourceVersion') ?? undefined,
        resourceVersionMatch: query.get('resourceVersionMatch') ?? undefined,
        limit,
        continueToken: query.get('continue') ?? undefined,
      });
      await send(200, listJson(type, page));
      return;
    }
    case 'get': {
      const stored = ctx.store.get(type, namespace, info.name);
      if (stored === undefined) throw notFound(type, info.name);
      await send(200, fullJson(stored));
      return;
    }
    case 'create': {
      if (info.name !== '') throw methodNotAllowed('POST');
      const body = await readObject(req, type);
      const stored = ctx.store.create(type, body, { mode: 'api', namespace: type.namespaced ? namespace : undefined });
      await send(201, fullJson(stored));
      return;
    }
    case 'update': {
      const body = await readObject(req, type);
      const bodyName = body.metadata.name;
      if (bodyName !== undefined && bodyName !== '' && bodyName !== info.name) {
        throw badRequest(`the name of the object (${bodyName}) does not match the name on the URL (${info.name})`);
      }
      body.metadata.name = info.name;
      const ns = type.namespaced ? namespace : undefined;
      // Endpoints are the one kind here whose PUT creates a missing object (AllowCreateOnUpdate).
      if (type.resource === 'endpoints' && ctx.store.get(type, namespace, info.name) === undefined) {
        const created = ctx.store.create(type, body, { mode: 'api', namespace: ns });
        await send(201, fullJson(created));
        return;
      }
      const stored = ctx.store.update(type, body, { mode, namespace: ns });
      await send(200, fullJson(stored));
      return;
    }
    case 'patch': {
      const stored = await patchObject(ctx, type, namespace, info, req, mode);
      await send(200, fullJson(stored));
      return;
    }
    case 'delete': {
      const preconditions = await readDeletePreconditions(req);
      const stored = ctx.store.delete(type, namespace, info.name, preconditions);
      await send(200, fullJson(stored));
      return;
    }
    case 'deletecollection': {
      const objectFilter = filter();
      const { items } = listObjects(ctx.store, type, objectFilter, {
        resourceVersion: undefined,
        resourceVersionMatch: undefined,
        limit: undefined,
        continueToken: undefined,
      });
      const deleted: StoredObject[] = [];
      for (const item of items) {
        if (ctx.store.get(type, item.namespace, item.name) === undefined) continue; // gone with its namespace
        const gone = ctx.store.delete(type, item.namespace, item.name);
        deleted.push(gone);
      }
      await send(200, listJson(type, { rv: ctx.store.resourceVersion, items: deleted }));
      return;
    }
    default:
      throw methodNotAllowed(req.method ?? '');
  }
}

async function readObject(req: http.IncomingMessage, type: ResourceType): Promise<KubeObject> {
  const body = parseBody(await readBody(req), req.headers['content-type']);
  if (!isPlainObject(body)) throw badRequest('the request body must be an object');
  checkKind(body, type);
  if (!isPlainObject(body['metadata'])) body['metadata'] = {};
  return body as KubeObject;
}

function checkKind(body: Record<string, unknown>, type: ResourceType): void {
  const kind = body['kind'];
  const apiVersion = body['apiVersion'];
  if ((kind !== undefined && kind !== type.kind) || (apiVersion !== undefined && apiVersion !== apiVersionOf(type))) {
    throw badRequest(
      `the API version in the data (${String(apiVersion)}) does not match the expected API version (${apiVersionOf(type)}) or kind ${String(kind)} is not ${type.kind}`,
    );
  }
}

async function readDeletePreconditions(req: http.IncomingMessage): Promise<DeletePreconditions> {
  const raw = await readBody(req);
  if (raw.length === 0 || raw.toString().trim() === '') return {};
  const body = parseBody(raw, req.headers['content-type']);
  if (!isPlainObject(body) || !isPlainObject(body['preconditions'])) return {};
  const p = body['preconditions'];
  const out: DeletePreconditions = {};
  if (typeof p['uid'] === 'string') out.uid = p['uid'];
  if (typeof p['resourceVersion'] === 'string') out.resourceVersion = p['resourceVersion'];
  return out;
}

async function patchObject(
  ctx: ResourceApiContext,
  type: ResourceType,
  namespace: string,
  info: RequestInfo,
  req: http.IncomingMessage,
  mode: WriteMode,
): Promise<StoredObject> {
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
  const raw = await readBody(req);
  const ns = type.namespaced ? namespace : undefined;
  const current = ctx.store.get(type, namespace, info.name);
  let patched: unknown;
  switch (contentType) {
    case 'application/merge-patch+json':
    case 'application/strategic-merge-patch+json':
      if (current === undefined) throw notFound(type, info.name);
      patched = applyMergePatch(toPlainObject(current), parseBody(raw, 'application/json'));
      break;
    case 'application/json-patch+json':
      if (current === undefined) throw notFound(type, info.name);
      patched = applyJsonPatch(toPlainObject(current), parseBody(raw, 'application/json'));
      break;
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+json': {
      if ((info.query.get('fieldManager') ?? '') === '') {
        throw badRequest(
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      }
      const body = parseBody(raw, 'application/yaml');
      if (!isPlainObject(body)) throw badRequest('the apply patch must be an object');
      checkKind(body, type);
      if (current === undefined) {
        const object = body as KubeObject;
        if (!isPlainObject(object.metadata)) object.metadata = {};
        object.metadata.name = info.name;
        return ctx.store.create(type, object, { mode: 'api', namespace: ns });
      }
      patched = applyMergePatch(toPlainObject(current), body);
      break;
    }
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES}`,
      );
  }
  if (!isPlainObject(patched) || !isPlainObject(patched['metadata'])) {
    throw invalid(type, info.name, 'metadata', 'Required value: the patched object has no metadata');
  }
  const object = patched as KubeObject;
  if (object.metadata.name !== info.name)
    throw invalid(type, info.name, 'metadata.name', 'Invalid value: field is immutable');
  return ctx.store.update(type, object, { mode, namespace: ns });
}
