import { apiVersionOf, RESOURCES, type ResourceType } from './resources.js';

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface VersionInfo {
  major: string;
  minor: string;
  gitVersion: string;
  gitCommit: string;
  gitTreeState: string;
  buildDate: string;
  goVersion: string;
  compiler: string;
  platform: string;
}

/** `/version`: what `kubectl version` prints for the server. */
export function versionInfo(gitVersion: string): VersionInfo {
  const match = /^v(\d+)\.(\d+)/.exec(gitVersion);
  return {
    major: match?.[1] ?? '1',
    minor: match?.[2] ?? '0',
    gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-01-01T00:00:00Z',
    goVersion: 'go1.22.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

function groups(): Map<string, ResourceType[]> {
  const out = new Map<string, ResourceType[]>();
  for (const r of RESOURCES) {
    if (r.group === '') continue;
    const list = out.get(r.group) ?? [];
    list.push(r);
    out.set(r.group, list);
  }
  return out;
}

function groupDocument(group: string, types: ResourceType[]): object {
  const versions = [...new Set(types.map((t) => t.version))].map((v) => ({
    groupVersion: `${group}/${v}`,
    version: v,
  }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/**
 * The discovery document for a non-resource path (`/api`, `/apis`, `/api/v1`, `/apis/<group>[/<version>]`),
 * or undefined when the path is not one.
 */
export function discoveryDocument(path: string, serverAddress: string): object | undefined {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '/api') {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
    };
  }
  if (trimmed === '/apis') {
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups()].map(([group, types]) => groupDocument(group, types)),
    };
  }
  const core = /^\/api\/([^/]+)$/.exec(trimmed);
  if (core) return resourceList('', core[1]!);
  const group = /^\/apis\/([^/]+)$/.exec(trimmed);
  if (group) {
    const types = groups().get(group[1]!);
    return types ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(group[1]!, types) } : undefined;
  }
  const groupVersion = /^\/apis\/([^/]+)\/([^/]+)$/.exec(trimmed);
  if (groupVersion) return resourceList(groupVersion[1]!, groupVersion[2]!);
  return undefined;
}

function resourceList(group: string, version: string): object | undefined {
  const types = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (types.length === 0) return undefined;
  const resources: object[] = [];
  for (const t of types) {
    resources.push({
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: VERBS,
      ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
    });
    if (t.hasStatus) {
      resources.push({
        name: `${t.resource}/status`,
        singularName: '',
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(types[0]!), resources };
}
