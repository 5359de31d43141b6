import type { KubeObject } from './manifest-files.js';

/**
 * The API calls each of our service accounts makes, one table, and an RBAC evaluator for the rules in
 * our manifests. The static test checks the manifests grant exactly these; a dynamic test can feed the
 * apiserver simulator's request log through `permits` to prove the table covers every real call.
 */

export interface ApiCall {
  verb: string;
  /** '' for the core group. */
  apiGroup: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
  /** Set for namespaced calls; undefined for cluster-wide lists and watches. */
  namespace?: string;
  /** Set when the call names one object (get, update, or list/watch with `metadata.name=`). */
  name?: string;
}

export interface AccountCalls {
  /** The manifest file (under manifests/) that grants them. */
  file: string;
  /** When the calls are made. */
  when: string;
  /** The flags (beyond the manifest's) that make the program take this path; rbac-calls.test.ts runs them. */
  flags?: string[];
  calls: ApiCall[];
}

const listWatch = (apiGroup: string, resource: string): ApiCall[] => [
  { verb: 'list', apiGroup, resource },
  { verb: 'watch', apiGroup, resource },
];

/** kube-system/kube-dns: the kube-dns process (the cache and the sidecar never call the API). */
export const kubeDnsCalls: AccountCalls[] = [
  {
    file: 'kube-dns.yaml',
    when: 'always (default flags: --endpoints-api=endpointslices, --config-dir)',
    flags: [],
    calls: [
      ...listWatch('', 'services'),
      ...listWatch('', 'namespaces'),
      ...listWatch('discovery.k8s.io', 'endpointslices'),
    ],
  },
  {
    file: 'optional/rbac-endpoints-api.yaml',
    when: '--endpoints-api=endpoints',
    flags: ['--endpoints-api=endpoints'],
    calls: listWatch('', 'endpoints'),
  },
  {
    file: 'optional/rbac-pod-records-verified.yaml',
    when: '--pod-records=verified',
    flags: ['--pod-records=verified'],
    calls: listWatch('', 'pods'),
  },
  {
    file: 'optional/rbac-config-map.yaml',
    when: '--config-map=kube-dns (--config-map-namespace=kube-system)',
    flags: ['--config-map=kube-dns'],
    calls: ['list', 'watch'].map((verb) => ({
      verb,
      apiGroup: '',
      resource: 'configmaps',
      namespace: 'kube-system',
      name: 'kube-dns',
    })),
  },
];

/** kube-system/kube-dns-autoscaler: cluster-proportional-autoscaler with --target=deployment/kube-dns. */
export const autoscalerCalls: AccountCalls[] = [
  {
    file: 'dns-horizontal-autoscaler.yaml',
    when: 'always',
    calls: [
      ...listWatch('', 'nodes'),
      ...['get', 'update'].map((verb) => ({
        verb,
        apiGroup: 'apps',
        resource: 'deployments/scale',
        namespace: 'kube-system',
        name: 'kube-dns',
      })),
      { verb: 'get', apiGroup: '', resource: 'configmaps', namespace: 'kube-system', name: 'kube-dns-autoscaler' },
    ],
  },
];

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** A role's rules with where they apply: a ClusterRole bound cluster-wide, or a Role in its namespace. */
export interface Grant {
  role: string;
  /** undefined: every namespace and cluster-scoped resources. */
  namespace?: string;
  rules: PolicyRule[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}
interface RoleRef {
  kind: string;
  name: string;
}

/** The grants that the (Cluster)RoleBindings in `objects` give to ServiceAccount namespace/name. */
export function grantsFor(objects: KubeObject[], namespace: string, name: string): Grant[] {
  const grants: Grant[] = [];
  for (const binding of objects) {
    if (binding.kind !== 'ClusterRoleBinding' && binding.kind !== 'RoleBinding') continue;
    const subjects = (binding.subjects as Subject[] | undefined) ?? [];
    if (!subjects.some((s) => s.kind === 'ServiceAccount' && s.name === name && s.namespace === namespace)) continue;
    const ref = binding.roleRef as RoleRef;
    const bindingNamespace = binding.kind === 'RoleBinding' ? binding.metadata.namespace : undefined;
    const role = objects.find(
      (o) =>
        o.kind === ref.kind &&
        o.metadata.name === ref.name &&
        (ref.kind === 'ClusterRole' || o.metadata.namespace === bindingNamespace),
    );
    if (role === undefined) throw new Error(`${binding.kind} ${binding.metadata.name}: no ${ref.kind} ${ref.name}`);
    grants.push({
      role: `${ref.kind} ${ref.name}`,
      namespace: bindingNamespace,
      rules: (role.rules as PolicyRule[] | undefined) ?? [],
    });
  }
  return grants;
}

function ruleAllows(rule: PolicyRule, call: ApiCall): boolean {
  const has = (list: string[] | undefined, value: string): boolean =>
    list !== undefined && (list.includes(value) || list.includes('*'));
  if (!has(rule.verbs, call.verb) || !has(rule.apiGroups, call.apiGroup) || !has(rule.resources, call.resource)) {
    return false;
  }
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (call.name !== undefined && names.includes(call.name));
}

/** RBAC's decision (allow-only, as RBAC is) for one call by the holder of `grants`. */
export function permits(grants: Grant[], call: ApiCall): boolean {
  return grants.some(
    (grant) =>
      (grant.namespace === undefined || grant.namespace === call.namespace) &&
      grant.rules.some((rule) => ruleAllows(rule, call)),
  );
}

/** Every (verb, group, resource, name) tuple a grant allows, for comparing with a table. */
export function expandGrants(grants: Grant[]): string[] {
  const tuples = new Set<string>();
  for (const grant of grants) {
    for (const rule of grant.rules) {
      const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
      for (const verb of rule.verbs)
        for (const apiGroup of rule.apiGroups ?? [])
          for (const resource of rule.resources ?? [])
            for (const name of names)
              tuples.add(callKey({ verb, apiGroup, resource, namespace: grant.namespace, name }));
    }
  }
  return [...tuples].sort();
}

/**
 * The hook for a dynamic check: turns RBAC request attributes (the shape of the apiserver simulator's
 * `requestLog.rbac()` entries) into an ApiCall for `permits`. Non-resource requests (discovery, /version)
 * return null: every authenticated account may make them (system:discovery).
 */
export function callFromRequestAttributes(attributes: {
  verb: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  nonResourceURL?: string;
}): ApiCall | null {
  if (attributes.nonResourceURL !== undefined || attributes.resource === undefined || attributes.resource === '') {
    return null;
  }
  const call: ApiCall = {
    verb: attributes.verb,
    apiGroup: attributes.apiGroup ?? '',
    resource: attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource,
  };
  if (attributes.namespace) call.namespace = attributes.namespace;
  if (attributes.name) call.name = attributes.name;
  return call;
}

export function callKey(call: ApiCall): string {
  const scope = call.namespace === undefined ? '*' : call.namespace;
  return `${call.verb} ${call.apiGroup || 'core'}/${call.resource} in ${scope}${call.name === undefined ? '' : ` named ${call.name}`}`;
}
