import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  deploymentSpec,
  findObject,
  loadManifest,
  manifestFiles,
  type Container,
  type DeploymentSpec,
  type KubeObject,
} from './manifest-files.js';
import { schemaErrors } from './schema-validator.js';
import { modelTypeName, unknownFields } from './strict-fields.js';

const files = manifestFiles();

function strictErrors(object: KubeObject): string[] {
  return unknownFields(object, modelTypeName(object.apiVersion, object.kind));
}

/** A deep copy of the kube-dns Deployment with one change applied. */
function brokenDeployment(change: (spec: DeploymentSpec, containers: Container[]) => void): KubeObject {
  const deployment = structuredClone(findObject(loadManifest('kube-dns.yaml'), 'Deployment', 'kube-dns'));
  const spec = deploymentSpec(deployment);
  change(spec, spec.template.spec.containers);
  return deployment;
}

/** Sets or deletes a field regardless of its declared type: the point is to break the manifest. */
function setField(object: object, name: string, value: unknown): void {
  const fields = object as Record<string, unknown>;
  if (value === undefined) delete fields[name];
  else fields[name] = value;
}

describe('manifests against the Kubernetes API schemas', () => {
  test('the manifest files are the ones we ship', () => {
    assert.deepEqual(files, [
      'dns-horizontal-autoscaler.yaml',
      'kube-dns.yaml',
      'optional/rbac-config-map.yaml',
      'optional/rbac-endpoints-api.yaml',
      'optional/rbac-pod-records-verified.yaml',
    ]);
  });

  for (const file of files) {
    describe(file, () => {
      const objects = loadManifest(file);
      test('has documents', () => assert.ok(objects.length > 0));
      for (const object of objects) {
        const label = `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`;
        test(`${label} validates against the OpenAPI schema`, () => {
          assert.deepEqual(schemaErrors(object), []);
        });
        test(`${label} has no field the API does not know`, () => {
          assert.deepEqual(strictErrors(object), []);
        });
      }
    });
  }

  test('kube-dns.yaml.base is valid YAML with the same objects', () => {
    const base = loadManifest('kube-dns.yaml.base');
    const rendered = loadManifest('kube-dns.yaml');
    assert.deepEqual(
      base.map((o) => `${o.kind}/${o.metadata.name}`),
      rendered.map((o) => `${o.kind}/${o.metadata.name}`),
    );
  });
});

describe('the validators reject broken manifests', () => {
  test('a wrong field type (containerPort as a string)', () => {
    const broken = brokenDeployment((_, containers) => setField(containers[1]!.ports![0]!, 'containerPort', '53'));
    const errors = schemaErrors(broken);
    assert.ok(
      errors.some((e) => e.includes('/spec/template/spec/containers/1/ports/0/containerPort') && e.includes('integer')),
      errors.join('\n'),
    );
  });

  test('a missing required field (the Deployment selector)', () => {
    const broken = brokenDeployment((spec) => setField(spec, 'selector', undefined));
    assert.ok(schemaErrors(broken).some((e) => e.includes('selector')));
  });

  test('a value outside an enum (protocol SCTPX) and a malformed quantity (170 Mi)', () => {
    const broken = brokenDeployment((_, containers) => {
      setField(containers[0]!.ports![0]!, 'protocol', 'SCTPX');
      setField(containers[0]!, 'resources', { limits: { memory: '170 Mi' } });
    });
    const errors = schemaErrors(broken);
    assert.ok(
      errors.some((e) => e.includes('/ports/0/protocol')),
      errors.join('\n'),
    );
    assert.ok(
      errors.some((e) => e.includes('/resources/limits/memory')),
      errors.join('\n'),
    );
  });

  test('a misspelt field (readinessprobe) and an unknown one in the security context', () => {
    const broken = brokenDeployment((_, containers) => {
      const kubedns = containers[0]!;
      setField(kubedns, 'readinessprobe', kubedns.readinessProbe);
      setField(kubedns, 'readinessProbe', undefined);
      setField(kubedns.securityContext!, 'runAsNonroot', true);
    });
    assert.deepEqual(schemaErrors(broken), [], 'the JSON schemas let unknown fields through');
    assert.deepEqual(strictErrors(broken).sort(), [
      'spec.template.spec.containers[0].readinessprobe',
      'spec.template.spec.containers[0].securityContext.runAsNonroot',
    ]);
  });

  test('a kind without a schema is an error, not a pass', () => {
    const object = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    assert.throws(() => schemaErrors(object), /no schema for example\.com\/v1\/Widget/);
    assert.throws(() => strictErrors(object), /no client-node model/);
  });
});
