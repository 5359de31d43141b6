import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { StartupError } from '@kube-dns/daemon-kit';
import { parseAllDocuments } from 'yaml';
import { COMPONENT } from './cli.js';

/** A Kubernetes object as read from a manifest: only what every object has is typed. */
export interface ClusterObject {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/**
 * Creates the local folders: the state dir, the config dir (an empty ConfigMap: no stub domains, upstreams from
 * resolv.conf), and the cluster dir from the examples when it does not exist yet. Returns whether the examples
 * were copied (a later run keeps the user's edits).
 */
export function prepareLocalDirs(dirs: {
  stateDir: string;
  configDir: string;
  clusterDir: string | null;
  examplesDir: string;
}): { copiedExamples: boolean } {
  try {
    mkdirSync(dirs.stateDir, { recursive: true });
    mkdirSync(dirs.configDir, { recursive: true });
    if (dirs.clusterDir === null || existsSync(dirs.clusterDir)) return { copiedExamples: false };
    if (!existsSync(dirs.examplesDir)) throw new Error(`${dirs.examplesDir} does not exist`);
    cpSync(dirs.examplesDir, dirs.clusterDir, { recursive: true });
    return { copiedExamples: true };
  } catch (error) {
    throw new StartupError(COMPONENT, `cannot prepare ${dirs.stateDir}: ${(error as Error).message}`, { cause: error });
  }
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** The manifest files of a folder, recursively, sorted (what the simulator's --watch-dir reads). */
export function manifestFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (MANIFEST_EXTENSIONS.has(extname(entry.name))) files.push(path);
    }
  };
  if (existsSync(dir)) walk(dir);
  return files.sort();
}

/**
 * The objects in a folder's manifests, for the commands to suggest. A file that does not parse is skipped:
 * the simulator reports it.
 */
export function readClusterObjects(dir: string): ClusterObject[] {
  const objects: ClusterObject[] = [];
  for (const file of manifestFiles(dir)) {
    let docs;
    try {
      docs = parseAllDocuments(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    for (const doc of docs) {
      if (doc.errors.length > 0) continue;
      const value = doc.toJS() as Partial<ClusterObject> | null;
      if (value === null || typeof value !== 'object') continue;
      const items =
        value.kind?.endsWith('List') && Array.isArray(value['items']) ? (value['items'] as unknown[]) : [value];
      for (const item of items) {
        const object = item as Partial<ClusterObject>;
        if (typeof object.kind === 'string' && typeof object.metadata?.name === 'string') {
          objects.push(object as ClusterObject);
        }
      }
    }
  }
  return objects;
}
