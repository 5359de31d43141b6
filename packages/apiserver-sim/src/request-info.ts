import { resourceByPath, type ResourceType } from './resources.js';

export type ResourceVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** What a request asks for, parsed the way the apiserver's RequestInfoFactory does (and RBAC sees it). */
export interface RequestInfo {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly isResourceRequest: boolean;
  /** RBAC's verb: resource verbs, or the lower-case HTTP method for non-resource paths. */
  readonly verb: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  /** The plural resource named in the path, known or not. */
  readonly resource: string;
  readonly subresource: string;
  /** As RBAC sees it: for `/api/v1/namespaces/x` this is `x` too. Cluster-scoped handlers ignore it. */
  readonly namespace: string;
  /** The name in the URL path. */
  readonly name: string;
  /** The served resource, when the path names one the simulator knows. */
  readonly type: ResourceType | undefined;
  /** `/api/v1/watch/...` paths (deprecated, still served). */
  readonly legacyWatch: boolean;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function isWatchParam(value: string | null): boolean {
  return value === 'true' || value === '1';
}

export function parseRequestInfo(method: string, rawUrl: string): RequestInfo {
  const url = new URL(rawUrl, 'http://apiserver-sim');
  const path = url.pathname;
  const query = url.searchParams;
  const nonResource: RequestInfo = {
    path,
    query,
    isResourceRequest: false,
    verb: method.toLowerCase(),
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
    type: undefined,
    legacyWatch: false,
  };
  const segments = path.split('/').filter((s) => s !== '');
  let rest: string[];
  let apiGroup: string;
  let apiVersion: string;
  if (segments[0] === 'api' && segments.length >= 3) {
    apiGroup = '';
    apiVersion = segments[1]!;
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    apiGroup = segments[1]!;
    apiVersion = segments[2]!;
    rest = segments.slice(3);
  } else return nonResource;
  try {
    rest = rest.map((s) => decodeURIComponent(s));
  } catch {
    return nonResource; // a malformed escape names nothing: 404
  }
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]!;
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  const name = rest[1] ?? '';
  const subresource = rest.slice(2).join('/');
  const type = resourceByPath(apiGroup, apiVersion, resource);
  let verb: string;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = legacyWatch || isWatchParam(query.get('watch')) ? 'watch' : name === '' ? 'list' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === '' ? 'deletecollection' : 'delete';
      break;
    default:
      verb = method.toLowerCase();
  }
  return {
    path,
    query,
    isResourceRequest: true,
    verb,
    apiGroup,
    apiVersion,
    resource,
    subresource,
    namespace,
    name,
    type,
    legacyWatch,
  };
}
