import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import type { KubeObject } from './manifest-files.js';

interface Validatable {
  validate(): void;
}
type ModelConstructor = new (data: never) => Validatable;

/** The kinds our manifests use, by `apiVersion/kind`; anything else is an error, not a silent pass. */
const modelsByKind: Record<string, ModelConstructor> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
};

interface SchemaError {
  instancePath?: string;
  message?: string;
}

/**
 * The object's violations of the Kubernetes OpenAPI schema (kubernetes-models' compiled JSON schemas:
 * types, required fields, enums, formats such as quantities), as `path: message` lines; [] when valid.
 */
export function schemaErrors(object: KubeObject): string[] {
  const key = `${object.apiVersion}/${object.kind}`;
  const Model = modelsByKind[key];
  if (Model === undefined) throw new Error(`no schema for ${key}: add its kubernetes-models class`);
  try {
    new Model(object as never).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: SchemaError[] }).errors;
    if (!Array.isArray(errors)) throw error;
    return errors.map((e) => `${e.instancePath ?? ''}: ${e.message ?? 'invalid'}`);
  }
}
