import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository root (this file runs from test/build/manifests/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const manifestsDir = join(repoRoot, 'manifests');

/** A Kubernetes object as read from YAML: only the fields every object has are typed. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** Every YAML manifest under manifests/ (the rendered ones, not the .base template), relative to it. */
export function manifestFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.yaml')) found.push(relative(manifestsDir, path));
    }
  };
  walk(manifestsDir);
  return found.sort();
}

/** Parses YAML text into its documents; a YAML error or a document that is not an object throws. */
export function parseManifest(text: string, label: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`${label}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`${label}: a document is not an object`);
    objects.push(value as KubeObject);
  }
  return objects;
}

/** The documents of manifests/<file>. */
export function loadManifest(file: string): KubeObject[] {
  return parseManifest(readFileSync(join(manifestsDir, file), 'utf8'), file);
}

export function findObject(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
  return found[0]!;
}

/** The slices of the Pod API the checks read (kubernetes-models validates the whole shape). */
export interface ContainerPort {
  containerPort: number;
  name?: string;
  protocol?: string;
}
export interface HttpProbe {
  httpGet?: { path?: string; port: number | string; scheme?: string };
}
export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
}
export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  ports?: ContainerPort[];
  livenessProbe?: HttpProbe;
  readinessProbe?: HttpProbe;
  startupProbe?: HttpProbe;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  securityContext?: SecurityContext;
}
export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  volumes?: Array<{ name: string; [source: string]: unknown }>;
  affinity?: {
    podAntiAffinity?: {
      preferredDuringSchedulingIgnoredDuringExecution?: Array<{
        podAffinityTerm: { labelSelector: LabelSelector; topologyKey: string };
      }>;
    };
  };
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}
export interface DeploymentSpec {
  replicas?: number;
  selector: LabelSelector;
  strategy?: { type?: string; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
  template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
}

export function deploymentSpec(deployment: KubeObject): DeploymentSpec {
  return deployment.spec as DeploymentSpec;
}

/** Whether a label selector selects an object with these labels (the operators a manifest uses). */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([key, value]) => labels[key] === value);
  const byExpressions = (selector.matchExpressions ?? []).every((expression) => {
    const value = labels[expression.key];
    switch (expression.operator) {
      case 'In':
        return value !== undefined && (expression.values ?? []).includes(value);
      case 'NotIn':
        return value === undefined || !(expression.values ?? []).includes(value);
      case 'Exists':
        return value !== undefined;
      case 'DoesNotExist':
        return value === undefined;
      default:
        throw new Error(`unknown selector operator ${expression.operator}`);
    }
  });
  return byLabels && byExpressions;
}
