import type http from 'node:http';
import { ApiError, badRequest } from './api-error.js';
import type { FaultSwitches } from './faults.js';
import { sendJson } from './http-util.js';
import type { RequestFilter, RequestLog } from './request-log.js';
import type { WatchInfo } from './watch-connection.js';

export interface AdminContext {
  faults: FaultSwitches;
  requests: RequestLog;
  compact(): string;
  state(): object;
  openWatches(): WatchInfo[];
  /** Goes down now and comes back after `ms` (the admin API itself is down meanwhile). */
  downFor(ms: number, expireHistory: boolean): void;
}

/** The longest an admin `down` may last, so a typo cannot leave a test's server down for an hour. */
const MAX_DOWN_MS = 10 * 60_000;

function intParam(query: URLSearchParams, name: string, fallback?: number): number {
  const text = query.get(name);
  if (text === null || text === '') {
    if (fallback !== undefined) return fallback;
    throw badRequest(`query parameter ${name} is required`);
  }
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`query parameter ${name} must be a non-negative integer`);
  return n;
}

function listParam(query: URLSearchParams, name: string): string[] | undefined {
  const text = query.get(name);
  return text === null || text === '' ? undefined : text.split(',').map((s) => s.trim());
}

function requestFilter(query: URLSearchParams): RequestFilter {
  const filter: RequestFilter = {};
  for (const key of [
    'method',
    'path',
    'verb',
    'apiGroup',
    'resource',
    'subresource',
    'namespace',
    'name',
    'user',
  ] as const) {
    const value = query.get(key);
    if (value !== null) filter[key] = value;
  }
  return filter;
}

/**
 * `/_sim/*`: the fault switches and observations over HTTP (documented in the README). Authenticated like
 * the API, but exempt from the faults themselves.
 */
export async function serveAdmin(
  ctx: AdminContext,
  path: string,
  query: URLSearchParams,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET';
  const route = `${method} ${path.replace(/\/+$/, '')}`;
  const reply = (body: unknown, status = 200): Promise<void> => sendJson(req, res, status, JSON.stringify(body));
  const f = ctx.faults;
  switch (route) {
    case 'GET /_sim/state':
      return reply(ctx.state());
    case 'GET /_sim/watches':
      return reply({ watches: ctx.openWatches() });
    case 'GET /_sim/requests':
      return reply({ requests: ctx.requests.entries(requestFilter(query)) });
    case 'GET /_sim/requests/count':
      return reply({ count: ctx.requests.count(requestFilter(query)) });
    case 'DELETE /_sim/requests':
      ctx.requests.clear();
      return reply({ cleared: true });
    case 'GET /_sim/rbac':
      return reply({ rules: ctx.requests.rbac() });
    case 'POST /_sim/compact':
      return reply({ resourceVersion: ctx.compact() });
    case 'GET /_sim/faults':
      return reply(f.state());
    case 'POST /_sim/faults/drop-watches':
      return reply({ dropped: f.dropWatches() });
    case 'POST /_sim/faults/end-watches':
      return reply({ ended: f.endWatches() });
    case 'POST /_sim/faults/fail': {
      const count = query.get('count');
      const verbs = listParam(query, 'verbs');
      const resources = listParam(query, 'resources');
      f.failRequests({
        status: intParam(query, 'status', 500),
        ...(count !== null && count !== '' ? { count: intParam(query, 'count') } : {}),
        ...(verbs ? { verbs } : {}),
        ...(resources ? { resources } : {}),
      });
      return reply(f.state());
    }
    case 'DELETE /_sim/faults/fail':
      f.failRequests({ count: 0 });
      return reply(f.state());
    case 'POST /_sim/faults/slow-lists':
      f.slowLists(intParam(query, 'ms'));
      return reply(f.state());
    case 'DELETE /_sim/faults/slow-lists':
      f.slowLists(0);
      return reply(f.state());
    case 'POST /_sim/faults/reject-auth':
      f.rejectAuth(true);
      return reply(f.state());
    case 'DELETE /_sim/faults/reject-auth':
      f.rejectAuth(false);
      return reply(f.state());
    case 'POST /_sim/faults/expire-history':
      return reply({ resourceVersion: f.expireHistory() });
    case 'POST /_sim/faults/clear':
      f.clear();
      return reply(f.state());
    case 'POST /_sim/faults/down': {
      const ms = intParam(query, 'ms');
      if (ms > MAX_DOWN_MS) throw badRequest(`ms must be at most ${MAX_DOWN_MS}`);
      const expire = query.get('expireHistory') === 'true';
      // Answer first: the listener (and this connection) go away right after.
      await reply({ downForMs: ms, expireHistory: expire }, 202);
      ctx.downFor(ms, expire);
      return;
    }
    default:
      throw new ApiError(404, 'NotFound', `no admin route ${route}`);
  }
}
