import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deploymentSpec, findObject, loadManifest, manifestFiles, type KubeObject } from './manifest-files.js';
import {
  autoscalerCalls,
  callFromRequestAttributes,
  callKey,
  expandGrants,
  grantsFor,
  kubeDnsCalls,
  permits,
  type AccountCalls,
  type PolicyRule,
} from './rbac.js';

const writeVerbs = ['create', 'update', 'patch', 'delete', 'deletecollection', 'escalate', 'bind', 'impersonate'];

function checkAccount(account: string, table: AccountCalls[]): void {
  for (const entry of table) {
    test(`${entry.file} grants ${account} exactly the calls made ${entry.when}`, () => {
      const grants = grantsFor(loadManifest(entry.file), 'kube-system', account);
      assert.ok(grants.length > 0, `nothing in ${entry.file} is bound to kube-system/${account}`);
      assert.deepEqual(expandGrants(grants), [...new Set(entry.calls.map(callKey))].sort());
      for (const call of entry.calls) assert.ok(permits(grants, call), callKey(call));
    });
  }
}

function allRoles(): Array<{ file: string; role: KubeObject }> {
  return manifestFiles().flatMap((file) =>
    loadManifest(file)
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .map((role) => ({ file, role })),
  );
}

describe('RBAC', () => {
  describe('kube-system/kube-dns', () => {
    checkAccount('kube-dns', kubeDnsCalls);

    test('no write verb for kube-dns in any file', () => {
      for (const file of manifestFiles().filter((f) => f !== 'dns-horizontal-autoscaler.yaml')) {
        for (const grant of grantsFor(loadManifest(file), 'kube-system', 'kube-dns')) {
          for (const rule of grant.rules) {
            const writes = rule.verbs.filter((verb) => writeVerbs.includes(verb));
            assert.deepEqual(writes, [], `${file} ${grant.role}`);
          }
        }
      }
    });

    test('the Deployment runs as that account, which mounts no token by itself', () => {
      const objects = loadManifest('kube-dns.yaml');
      const account = findObject(objects, 'ServiceAccount', 'kube-dns');
      assert.equal(account.metadata.namespace, 'kube-system');
      assert.equal(account.automountServiceAccountToken, false);
      const pod = deploymentSpec(findObject(objects, 'Deployment', 'kube-dns')).template.spec;
      assert.equal(pod.serviceAccountName, 'kube-dns');
    });
  });

  describe('kube-system/kube-dns-autoscaler', () => {
    checkAccount('kube-dns-autoscaler', autoscalerCalls);

    test('the autoscaler Deployment runs as that account and targets the kube-dns Deployment', () => {
      const objects = loadManifest('dns-horizontal-autoscaler.yaml');
      findObject(objects, 'ServiceAccount', 'kube-dns-autoscaler');
      const pod = deploymentSpec(findObject(objects, 'Deployment', 'kube-dns-autoscaler')).template.spec;
      assert.equal(pod.serviceAccountName, 'kube-dns-autoscaler');
      const command = pod.containers[0]!.command ?? [];
      assert.ok(command.includes('--target=deployment/kube-dns'));
      assert.ok(command.includes('--namespace=kube-system'));
      assert.ok(command.includes('--configmap=kube-dns-autoscaler'));
      findObject(loadManifest('kube-dns.yaml'), 'Deployment', 'kube-dns');
      const configMap = findObject(objects, 'ConfigMap', 'kube-dns-autoscaler');
      const linear = JSON.parse((configMap.data as Record<string, string>).linear!) as Record<string, unknown>;
      assert.deepEqual(linear, { coresPerReplica: 256, nodesPerReplica: 16, preventSinglePointFailure: true });
    });
  });

  test('no rule anywhere uses a wildcard or a non-resource URL', () => {
    for (const { file, role } of allRoles()) {
      for (const rule of (role.rules as PolicyRule[] | undefined) ?? []) {
        const values = [
          ...rule.verbs,
          ...(rule.apiGroups ?? []),
          ...(rule.resources ?? []),
          ...(rule.resourceNames ?? []),
        ];
        assert.ok(!values.some((v) => v.includes('*')), `${file} ${role.metadata.name}: wildcard`);
        assert.equal(rule.nonResourceURLs, undefined, `${file} ${role.metadata.name}: nonResourceURLs`);
      }
    }
  });

  test('no role takes the names the apiserver bootstrap policy owns (system:…)', () => {
    for (const { file, role } of allRoles()) assert.ok(!role.metadata.name.startsWith('system:'), `${file}`);
  });

  test('request attributes (the simulator request log shape) map onto the table', () => {
    const main = grantsFor(loadManifest('kube-dns.yaml'), 'kube-system', 'kube-dns');
    const watchSlices = callFromRequestAttributes({
      verb: 'watch',
      apiGroup: 'discovery.k8s.io',
      resource: 'endpointslices',
      subresource: '',
      namespace: '',
      name: '',
    });
    assert.deepEqual(watchSlices, { verb: 'watch', apiGroup: 'discovery.k8s.io', resource: 'endpointslices' });
    assert.ok(permits(main, watchSlices));
    assert.equal(callFromRequestAttributes({ verb: 'get', nonResourceURL: '/version' }), null);
    const scale = callFromRequestAttributes({
      verb: 'update',
      apiGroup: 'apps',
      resource: 'deployments',
      subresource: 'scale',
      namespace: 'kube-system',
      name: 'kube-dns',
    });
    const autoscaler = grantsFor(loadManifest('dns-horizontal-autoscaler.yaml'), 'kube-system', 'kube-dns-autoscaler');
    assert.ok(scale && permits(autoscaler, scale));
  });

  test('the evaluator denies what is not granted', () => {
    const grants = grantsFor(loadManifest('optional/rbac-config-map.yaml'), 'kube-system', 'kube-dns');
    const configMap = { apiGroup: '', resource: 'configmaps', namespace: 'kube-system' };
    assert.ok(permits(grants, { ...configMap, verb: 'watch', name: 'kube-dns' }));
    assert.ok(!permits(grants, { ...configMap, verb: 'watch', name: 'coredns' }), 'another name');
    assert.ok(!permits(grants, { ...configMap, verb: 'list' }), 'a list without the name selector');
    assert.ok(!permits(grants, { ...configMap, verb: 'get', name: 'kube-dns' }), 'a get kube-dns never makes');
    assert.ok(!permits(grants, { ...configMap, verb: 'update', name: 'kube-dns' }), 'a write');
    assert.ok(!permits(grants, { ...configMap, verb: 'list', name: 'kube-dns', namespace: 'default' }), 'elsewhere');
    const main = grantsFor(loadManifest('kube-dns.yaml'), 'kube-system', 'kube-dns');
    assert.ok(permits(main, { verb: 'watch', apiGroup: 'discovery.k8s.io', resource: 'endpointslices' }));
    assert.ok(!permits(main, { verb: 'watch', apiGroup: '', resource: 'endpoints' }), 'endpoints are optional');
    assert.ok(!permits(main, { verb: 'get', apiGroup: '', resource: 'secrets', namespace: 'kube-system' }));
  });
});
