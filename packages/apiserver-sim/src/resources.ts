/** One kind of object the simulator serves, as the discovery documents describe it. */
export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** The plural resource name used in paths and RBAC: `services`. */
  readonly resource: string;
  readonly singular: string;
  readonly kind: string;
  readonly listKind: string;
  readonly namespaced: boolean;
  readonly shortNames: readonly string[];
  /** The `status` subresource exists: PUT/PATCH of the main resource keep the old status, and the reverse. */
  readonly hasStatus: boolean;
  /** metadata.generation is set at 1 and bumped when anything but metadata and status changes. */
  readonly tracksGeneration: boolean;
  /** Field selector keys besides metadata.name and metadata.namespace, as the real server allows. */
  readonly fieldSelectors: readonly string[];
  /** Service names must be DNS-1035 labels; most others DNS-1123 subdomains. */
  readonly nameRule: 'dns1035-label' | 'dns1123-label' | 'dns1123-subdomain';
}

function define(r: Omit<ResourceType, 'listKind'> & { listKind?: string }): ResourceType {
  return { ...r, listKind: r.listKind ?? `${r.kind}List` };
}

export const RESOURCES: readonly ResourceType[] = [
  define({
    group: '',
    version: 'v1',
    resource: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    hasStatus: true,
    tracksGeneration: false,
    fieldSelectors: ['status.phase'],
    nameRule: 'dns1123-label',
  }),
  define({
    group: '',
    version: 'v1',
    resource: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    hasStatus: true,
    tracksGeneration: false,
    fieldSelectors: ['spec.clusterIP', 'spec.type'],
    nameRule: 'dns1035-label',
  }),
  define({
    group: '',
    version: 'v1',
    resource: 'endpoints',
    singular: 'endpoints',
    kind: 'Endpoints',
    namespaced: true,
    shortNames: ['ep'],
    hasStatus: false,
    tracksGeneration: false,
    fieldSelectors: [],
    nameRule: 'dns1123-subdomain',
  }),
  define({
    group: '',
    version: 'v1',
    resource: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    hasStatus: true,
    tracksGeneration: true,
    fieldSelectors: [
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.nominatedNodeName',
    ],
    nameRule: 'dns1123-subdomain',
  }),
  define({
    group: '',
    version: 'v1',
    resource: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
    hasStatus: false,
    tracksGeneration: false,
    fieldSelectors: [],
    nameRule: 'dns1123-subdomain',
  }),
  define({
    group: 'discovery.k8s.io',
    version: 'v1',
    resource: 'endpointslices',
    singular: 'endpointslice',
    kind: 'EndpointSlice',
    namespaced: true,
    shortNames: [],
    hasStatus: false,
    tracksGeneration: true,
    fieldSelectors: ['addressType'],
    nameRule: 'dns1123-subdomain',
  }),
];

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** `services` or `endpointslices.discovery.k8s.io`, as error messages name a resource. */
export function qualifiedResource(type: ResourceType): string {
  return type.group === '' ? type.resource : `${type.resource}.${type.group}`;
}

/** The resource a path names: by group, version and plural. */
export function resourceByPath(group: string, version: string, resource: string): ResourceType | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
}

/**
 * The resource an object or a caller names: a kind (`Service`), a plural (`services`), a singular, a short
 * name (`svc`) or `endpointslices.discovery.k8s.io`; an apiVersion, when given, must match.
 */
export function resourceByName(name: string, apiVersion?: string): ResourceType | undefined {
  const lower = name.toLowerCase();
  return RESOURCES.find(
    (r) =>
      (apiVersion === undefined || apiVersion === apiVersionOf(r)) &&
      (r.kind === name ||
        r.resource === lower ||
        r.singular === lower ||
        r.shortNames.includes(lower) ||
        qualifiedResource(r) === lower),
  );
}
