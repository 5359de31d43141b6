import { ApiError, badRequest } from './api-error.js';
import type { ObjectStore, Snapshot } from './object-store.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import type { StoredObject } from './stored-object.js';
import { matchesFilter, type ObjectFilter } from './watch-connection.js';

export interface ListParams {
  resourceVersion: string | undefined;
  resourceVersionMatch: string | undefined;
  limit: number | undefined;
  continueToken: string | undefined;
}

interface ContinueToken {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

/** Parses a resourceVersion parameter: a non-negative integer. */
export function parseResourceVersion(value: string): number {
  if (!/^\d+$/.test(value)) throw badRequest(`invalid resource version: ${JSON.stringify(value)}`);
  return Number(value);
}

function encodeContinue(rv: number, lastKey: string): string {
  const token: ContinueToken = { v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const token = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (token.v === 'meta.k8s.io/v1' && typeof token.rv === 'number' && typeof token.start === 'string') {
      return token as ContinueToken;
    }
  } catch {
    // reported below
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

const EXPIRED_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

export interface ListPage {
  rv: number;
  items: StoredObject[];
  continueToken?: string;
  remainingItemCount?: number;
}

/**
 * A list with the real server's resourceVersion semantics: unset = the latest state; `0` = any state
 * (here the latest, without pagination, as the watch cache serves it); N with NotOlderThan (or no match)
 * = at least N; N with Exact = the state at N from the history. `limit`/`continue` page through one
 * consistent snapshot; an expired continue token is 410.
 */
export function listObjects(
  store: ObjectStore,
  type: ResourceType,
  filter: ObjectFilter,
  params: ListParams,
): ListPage {
  const { resourceVersion, resourceVersionMatch, continueToken } = params;
  let limit = params.limit;
  if (resourceVersionMatch !== undefined && resourceVersionMatch !== '') {
    if (resourceVersion === undefined || resourceVersion === '') {
      throw badRequest(
        'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided',
      );
    }
    if (resourceVersionMatch !== 'Exact' && resourceVersionMatch !== 'NotOlderThan') {
      throw badRequest(`resourceVersionMatch: Unsupported value: ${JSON.stringify(resourceVersionMatch)}`);
    }
  }
  const namespace = type.namespaced ? filter.namespace : undefined;
  let snapshot: Snapshot;
  let start = '';
  if (continueToken !== undefined && continueToken !== '') {
    if ((resourceVersion !== undefined && resourceVersion !== '') || (resourceVersionMatch ?? '') !== '') {
      throw badRequest('specifying resource version is not allowed when using continue');
    }
    const token = decodeContinue(continueToken);
    start = token.start;
    if (token.rv === 0) snapshot = store.list(type, namespace);
    else {
      try {
        snapshot = store.listAt(type, token.rv, namespace);
      } catch (error) {
        if (error instanceof ApiError && error.code === 410) {
          const fresh = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: 0, start })).toString('base64url');
          throw new ApiError(410, 'Expired', EXPIRED_CONTINUE, undefined, { continueToken: fresh });
        }
        throw error;
      }
    }
  } else if (resourceVersion === undefined || resourceVersion === '') {
    snapshot = store.list(type, namespace);
  } else {
    const rv = parseResourceVersion(resourceVersion);
    if (resourceVersionMatch === 'Exact') {
      if (rv === 0) throw badRequest('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
      if (rv > store.resourceVersion) throw tooLarge(rv, store.resourceVersion);
      snapshot = store.listAt(type, rv, namespace);
    } else {
      if (rv > store.resourceVersion) throw tooLarge(rv, store.resourceVersion);
      snapshot = store.list(type, namespace);
      if (rv === 0) limit = undefined;
    }
  }
  return page(snapshot, filter, start, limit);
}

function tooLarge(rv: number, current: number): ApiError {
  return new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
  });
}

function page(snapshot: Snapshot, filter: ObjectFilter, start: string, limit: number | undefined): ListPage {
  const all = snapshot.items;
  let i = 0;
  if (start !== '') {
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (all[mid]!.key < start) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
  }
  const selective = filter.labels.length > 0 || filter.fields.length > 0;
  const items: StoredObject[] = [];
  for (; i < all.length; i++) {
    const stored = all[i]!;
    if (selective && !matchesFilter(filter, stored)) continue;
    if (limit !== undefined && limit > 0 && items.length === limit) break;
    items.push(stored);
  }
  if (i >= all.length || items.length === 0) return { rv: snapshot.rv, items };
  const more = selective ? all.slice(i).some((s) => matchesFilter(filter, s)) : true;
  if (!more) return { rv: snapshot.rv, items };
  const result: ListPage = {
    rv: snapshot.rv,
    items,
    continueToken: encodeContinue(snapshot.rv, items[items.length - 1]!.key),
  };
  // Like the real server, the count is only given when no selector makes it a guess.
  if (!selective) result.remainingItemCount = all.length - i;
  return result;
}

/** The list response: a `<Kind>List` built from the cached item JSON. */
export function listJson(type: ResourceType, listPage: ListPage): string {
  let meta = `"resourceVersion":"${listPage.rv}"`;
  if (listPage.continueToken !== undefined) meta += `,"continue":"${listPage.continueToken}"`;
  if (listPage.remainingItemCount !== undefined) meta += `,"remainingItemCount":${listPage.remainingItemCount}`;
  const items = listPage.items.map((s) => s.itemJson).join(',');
  return `{"kind":"${type.listKind}","apiVersion":"${apiVersionOf(type)}","metadata":{${meta}},"items":[${items}]}`;
}
