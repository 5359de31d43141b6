import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isPlainObject, type KubeObject } from './kube-object.js';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * The objects in one manifest text: YAML (several `---` documents) or JSON, `List` kinds (`v1/List`,
 * `ServiceList`, …) flattened, empty documents skipped. Throws with the document number on bad input.
 */
export function parseManifests(text: string, source = 'input'): KubeObject[] {
  const out: KubeObject[] = [];
  const documents = parseAllDocuments(text);
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    if (document.errors.length > 0) {
      throw new Error(`${source}: document ${index + 1}: ${document.errors[0]!.message.split('\n')[0]}`);
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    collect(value, `${source}: document ${index + 1}`, out);
  });
  return out;
}

function collect(value: unknown, where: string, out: KubeObject[]): void {
  if (!isPlainObject(value)) throw new Error(`${where}: not an object`);
  const kind = value['kind'];
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value['items'])) {
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
    for (const item of value['items'] as unknown[]) {
      if (isPlainObject(item) && item['kind'] === undefined && itemKind !== undefined) {
        collect({ ...item, kind: itemKind, apiVersion: value['apiVersion'] }, where, out);
      } else collect(item, where, out);
    }
    return;
  }
  if (typeof kind !== 'string') throw new Error(`${where}: object has no kind`);
  if (!isPlainObject(value['metadata'])) throw new Error(`${where}: ${kind} has no metadata`);
  out.push(value as KubeObject);
}

/** The manifest files of a folder (sorted, recursive, dotfiles skipped), or the file itself. */
export async function manifestFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const files: string[] = [];
  const entries = await readdir(path, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const full = join(path, entry.name);
    if (entry.isDirectory()) files.push(...(await manifestFiles(full)));
    else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) files.push(full);
  }
  return files;
}

/** Every object in a file or folder of manifests, in file order. */
export async function loadManifests(path: string): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const file of await manifestFiles(path)) {
    objects.push(...parseManifests(await readFile(file, 'utf8'), file));
  }
  return objects;
}
