import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Logger } from '@kube-dns/daemon-kit';
import type { KubeObject } from './kube-object.js';
import { manifestFiles, parseManifests } from './manifest-files.js';
import type { ObjectOperations, ObjectRef } from './object-operations.js';
import { typeOf } from './object-operations.js';

export interface ManifestDirSync {
  /** Re-reads the folder now; resolves when the objects match it. */
  sync(): Promise<void>;
  stop(): void;
}

interface FileState {
  hash: string;
  refs: ObjectRef[];
}

function refOf(object: KubeObject): ObjectRef {
  const type = typeOf(object.kind, object.apiVersion);
  return {
    kind: type.kind,
    name: object.metadata.name ?? '',
    ...(type.namespaced ? { namespace: object.metadata.namespace ?? 'default' } : {}),
  };
}

const refKey = (ref: ObjectRef): string => `${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;

const SETTLE_MS = 50;

/**
 * Whether the file still holds `text` SETTLE_MS later. An editor that truncates and then writes would otherwise
 * be caught with no objects in the file, and its Services would flap (deleted, then added again).
 */
async function unchangedAfterPause(path: string, text: string): Promise<boolean> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  try {
    return (await readFile(path, 'utf8')) === text;
  } catch {
    return false;
  }
}

/**
 * Keeps the objects in sync with the manifests in a folder: a new or edited file is applied, objects that
 * left a file (or whose file was removed) are deleted. A file that does not parse is reported once per
 * change and its objects stay as they were. Polls every `intervalMs`, and sooner on fs.watch hints.
 */
export function syncManifestDir(
  dir: string,
  objects: ObjectOperations,
  logger: Logger,
  intervalMs = 1000,
): ManifestDirSync {
  const files = new Map<string, FileState>();
  const failed = new Map<string, string>();
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const pass = async (): Promise<void> => {
    let paths: string[];
    try {
      paths = await manifestFiles(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      paths = [];
    }
    const seen = new Set<string>();
    for (const path of paths) {
      seen.add(path);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        continue; // replaced between listing and reading: the next pass sees it
      }
      const hash = createHash('sha256').update(text).digest('hex');
      if (files.get(path)?.hash === hash || failed.get(path) === hash) continue;
      if (!(await unchangedAfterPause(path, text))) {
        again = true; // still being written: look again
        continue;
      }
      let parsed: KubeObject[];
      try {
        parsed = parseManifests(text, path);
        parsed.forEach(refOf);
      } catch (error) {
        failed.set(path, hash);
        logger.warn('manifest not applied', { file: path, error: (error as Error).message });
        continue;
      }
      failed.delete(path);
      const refs: ObjectRef[] = [];
      const previous = new Set((files.get(path)?.refs ?? []).map(refKey));
      for (const object of parsed) {
        try {
          objects.apply(object);
          refs.push(refOf(object));
        } catch (error) {
          // A rejected edit (an immutable field changed) leaves the object as it was: it stays the file's.
          if (previous.has(refKey(refOf(object)))) refs.push(refOf(object));
          logger.warn('object not applied', {
            file: path,
            object: refKey(refOf(object)),
            error: (error as Error).message,
          });
        }
      }
      const keep = new Set(refs.map(refKey));
      for (const ref of files.get(path)?.refs ?? []) {
        if (!keep.has(refKey(ref)) && !ownedElsewhere(ref, path)) objects.delete(ref);
      }
      files.set(path, { hash, refs });
    }
    for (const [path, state] of [...files]) {
      if (seen.has(path)) continue;
      files.delete(path);
      failed.delete(path);
      for (const ref of state.refs) if (!ownedElsewhere(ref, path)) objects.delete(ref);
      logger.info('manifest removed', { file: path });
    }
  };

  const ownedElsewhere = (ref: ObjectRef, path: string): boolean => {
    const key = refKey(ref);
    for (const [other, state] of files) if (other !== path && state.refs.some((r) => refKey(r) === key)) return true;
    return false;
  };

  const sync = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await pass();
        } while (again && !stopped);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const report = (error: unknown): void => logger.warn('manifest folder sync failed', { dir, error: String(error) });
  const timer = setInterval(() => void sync().catch(report), intervalMs);
  timer.unref();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { recursive: false }, () => void sync().catch(report));
    watcher.on('error', () => undefined);
  } catch {
    watcher = undefined; // polling alone still works
  }
  return {
    sync,
    stop() {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
    },
  };
}
