import * as kubernetesClient from '@kubernetes/client-node';

/**
 * Unknown-field check, as `kubectl apply --validate=strict` does it. The JSON schemas of kubernetes-models
 * check types, required fields, enums and formats but let any extra field through, so a misspelt field
 * (`readinessprobe:`, `runAsNonroot:`) would pass them and be silently dropped by the apiserver. The
 * generated models of @kubernetes/client-node (Kubernetes 1.34 OpenAPI) list every field of every type.
 */

interface Attribute {
  baseName: string;
  type: string;
}
interface ModelClass {
  getAttributeTypeMap(): Attribute[];
}

const models = kubernetesClient as unknown as Record<string, unknown>;

function modelClass(typeName: string): ModelClass | null {
  const candidate = models[typeName];
  if (typeof candidate !== 'function') return null;
  const withMap = candidate as unknown as Partial<ModelClass>;
  return typeof withMap.getAttributeTypeMap === 'function' ? (candidate as unknown as ModelClass) : null;
}

/** The client-node model of a top-level object: `apps/v1` Deployment → V1Deployment. */
export function modelTypeName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop() ?? apiVersion;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

const arrayType = /^Array<(.+)>$/;
const mapType = /^\{ \[key: string\]: (.+); \}$/;
const leafTypes = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString']);

/** Every field in `value` that its type does not have, as JSON paths (`spec.template.spec.containers[0].bogus`). */
export function unknownFields(value: unknown, typeName: string, path = ''): string[] {
  if (value === null || value === undefined || leafTypes.has(typeName)) return [];
  const asArray = arrayType.exec(typeName);
  if (asArray) {
    if (!Array.isArray(value)) return [];
    return value.flatMap((item, index) => unknownFields(item, asArray[1]!, `${path}[${index}]`));
  }
  const asMap = mapType.exec(typeName);
  if (asMap) {
    if (typeof value !== 'object') return [];
    return Object.entries(value).flatMap(([key, item]) => unknownFields(item, asMap[1]!, `${path}.${key}`));
  }
  const model = modelClass(typeName);
  if (model === null) throw new Error(`${path || '(root)'}: no client-node model named ${typeName}`);
  if (typeof value !== 'object' || Array.isArray(value)) return [];
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, item]) => {
    const fieldPath = path === '' ? key : `${path}.${key}`;
    const fieldType = attributes.get(key);
    return fieldType === undefined ? [fieldPath] : unknownFields(item, fieldType, fieldPath);
  });
}
