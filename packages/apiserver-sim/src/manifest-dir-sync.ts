import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
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

/**
 * A changed file is applied only when a second read SETTLE_MS later agrees. An editor that truncates and then
 * writes would otherwise be caught with no objects in the file, and its Services would flap (deleted, then added
 * again). One pause per pass serves every changed file, so start-up waits once, not once per file.
 */
const SETTLE_MS = 50;

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null; // replaced between listing and reading: the next pass sees it
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
    const changed: Array<{ path: string; text: string; hash: string }> = [];
    for (const path of paths) {
      const text = await readOrNull(path);
      if (text === null) continue;
      const hash = createHash('sha256').update(text).digest('hex');
      if (files.get(path)?.hash !== hash && failed.get(path) !== hash) changed.push({ path, text, hash });
    }
    if (changed.length > 0) await sleep(SETTLE_MS);
    for (const { path, text, hash } of changed) {
      if ((await readOrNull(path)) !== text) {
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
        const ref = refOf(object);
        try {
          objects.apply(object);
          refs.push(ref);
        } catch (error) {
          // A rejected edit (an immutable field changed) leaves the object as it was: it stays the file's.
          if (previous.has(refKey(ref))) refs.push(ref);
          logger.warn('object not applied', {
            file: path,
            object: refKey(ref),
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
    const seen = new Set(paths);
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
