import type http from 'node:http';
import { ApiError, badRequest, invalid } from './api-error.js';
import type { ObjectStore } from './object-store.js';
import { parseResourceVersion } from './list.js';
import type { ResourceType } from './resources.js';
import { fullJson } from './stored-object.js';
import { eventLine, matchesFilter, WatchConnection, type ObjectFilter } from './watch-connection.js';
import type { WatchHub } from './watch-hub.js';

export interface WatchParams {
  resourceVersion: string | undefined;
  resourceVersionMatch: string | undefined;
  allowWatchBookmarks: boolean;
  sendInitialEvents: boolean | undefined;
  timeoutSeconds: number | undefined;
  labelSelector: string;
  fieldSelector: string;
}

export interface WatchSettings {
  bookmarkIntervalMs: number;
  /** The server-side timeout when the request sets none: a fixed value or a random one in [min, max]. */
  timeoutMs: number | { min: number; max: number };
  now: () => Date;
}

function defaultTimeout(setting: WatchSettings['timeoutMs']): number {
  if (typeof setting === 'number') return setting;
  return setting.min + Math.floor(Math.random() * Math.max(0, setting.max - setting.min));
}

/**
 * Starts a watch stream. Without a resourceVersion (or with `0`) it first sends the current state as synthetic
 * ADDED events; from N it replays the history after N, or sends an in-stream 410 ERROR and ends when N is
 * older than the history; with sendInitialEvents=true it sends the state and then a BOOKMARK annotated
 * `k8s.io/initial-events-end`. Validation failures throw ApiError before any byte is written.
 */
export function startWatch(
  res: http.ServerResponse,
  store: ObjectStore,
  hub: WatchHub,
  type: ResourceType,
  filter: ObjectFilter,
  params: WatchParams,
  settings: WatchSettings,
  user: string,
): WatchConnection {
  const rvText = params.resourceVersion ?? '';
  const rv = rvText === '' ? undefined : parseResourceVersion(rvText);
  const match = params.resourceVersionMatch ?? '';
  if (params.sendInitialEvents === true) {
    if (match !== 'NotOlderThan') {
      throw invalid(
        type,
        '',
        'resourceVersionMatch',
        'Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
      );
    }
    if (!params.allowWatchBookmarks) {
      throw invalid(
        type,
        '',
        'allowWatchBookmarks',
        'Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true',
      );
    }
  } else if (match !== '') {
    throw invalid(
      type,
      '',
      'resourceVersionMatch',
      'Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
    );
  }
  if (params.timeoutSeconds !== undefined && (!Number.isFinite(params.timeoutSeconds) || params.timeoutSeconds < 0)) {
    throw badRequest('timeoutSeconds must be a non-negative integer');
  }
  const namespace = type.namespaced ? filter.namespace : undefined;
  const effectiveFilter: ObjectFilter = { ...filter, namespace };
  const current = store.resourceVersion;
  const connection = new WatchConnection(res, {
    id: hub.newId(),
    resource: type,
    filter: effectiveFilter,
    labelSelector: params.labelSelector,
    fieldSelector: params.fieldSelector,
    user,
    bookmarks: params.allowWatchBookmarks,
    bookmarkIntervalMs: settings.bookmarkIntervalMs,
    timeoutMs:
      params.timeoutSeconds !== undefined && params.timeoutSeconds > 0
        ? params.timeoutSeconds * 1000
        : defaultTimeout(settings.timeoutMs),
    afterRv: rv !== undefined && rv > current ? rv : current,
    currentRv: () => store.resourceVersion,
    now: settings.now,
    onClose: (c) => hub.remove(c),
  });
  const initialState = params.sendInitialEvents === true || rv === undefined || rv === 0;
  if (initialState) {
    const lines: string[] = [];
    for (const stored of store.list(type, namespace).items) {
      if (matchesFilter(effectiveFilter, stored)) lines.push(eventLine('ADDED', fullJson(stored)));
    }
    connection.open(lines.join(''));
    if (params.sendInitialEvents === true) connection.bookmark(true);
  } else {
    let events;
    try {
      events = store.eventsSince(rv);
    } catch (error) {
      if (error instanceof ApiError && error.code === 410) {
        connection.open('');
        connection.fail(error.toStatus());
        return connection;
      }
      throw error;
    }
    const lines: string[] = [];
    for (const event of events) {
      if (event.resource !== type) continue;
      const line = connection.lineFor(event);
      if (line !== undefined) lines.push(line);
    }
    connection.open(lines.join(''));
  }
  if (!connection.isClosed) hub.add(connection);
  return connection;
}
