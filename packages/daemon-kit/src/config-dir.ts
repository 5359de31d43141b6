import { createHash } from 'node:crypto';
import { watch, type Dirent, type FSWatcher } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { TextDecoder } from 'node:util';

/** The files of a mounted ConfigMap folder, and a version that changes when any of them does. */
export interface ConfigDirSnapshot {
  data: Record<string, string>;
  /** SHA-256 over `name NUL content NUL` in name order; '' for an empty or missing folder. */
  version: string;
}

/**
 * Reads the regular, non-hidden files at the top level of `dir` (kubelet's `..data` links and dotfiles are
 * skipped, no recursion). Content must be UTF-8. A missing folder reads as empty (optional ConfigMap).
 *
 * In a kubelet-mounted ConfigMap (`..data` → `..<timestamp>/`, each key a symlink through `..data`) the keys
 * are read from the version folder `..data` names, and read again if `..data` moved meanwhile: following the
 * keys' symlinks one by one could mix two versions (new upstreams with old stub domains), and a mix that
 * happens to be valid would be applied although neither version says so.
 */
export async function readConfigDir(dir: string): Promise<ConfigDirSnapshot> {
  for (let attempt = 0; ; attempt++) {
    const version = await dataLink(dir);
    try {
      const files = await readKeys(dir, version === null ? null : resolve(dir, version));
      if (version === null || (await dataLink(dir)) === version) return snapshotOf(files);
    } catch (error) {
      // With `..data`, the version folder may have been swapped away while we read it: read the new one.
      if (version === null || attempt >= 5 || (await dataLink(dir)) === version) throw error;
    }
    if (attempt >= 5) throw new Error(`${dir} kept changing while it was read`);
  }
}

/** Where kubelet's `..data` link points, or null when `dir` is a plain folder. */
async function dataLink(dir: string): Promise<string | null> {
  try {
    return await readlink(join(dir, '..data'));
  } catch {
    return null;
  }
}

async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Key name → content: top-level regular files as they are; symlinked keys from `versionDir` when given. */
async function readKeys(dir: string, versionDir: string | null): Promise<Map<string, Buffer>> {
  const keys = new Map<string, string>();
  for (const entry of await listDir(dir)) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isFile()) keys.set(entry.name, join(dir, entry.name));
    else if (entry.isSymbolicLink() && versionDir === null) keys.set(entry.name, join(dir, entry.name));
  }
  if (versionDir !== null) {
    const entries = await readdir(versionDir, { withFileTypes: true });
    for (const entry of entries) {
      if (!entry.name.startsWith('.') && entry.isFile() && !keys.has(entry.name)) {
        keys.set(entry.name, join(versionDir, entry.name));
      }
    }
  }
  const files = new Map<string, Buffer>();
  for (const name of [...keys.keys()].sort()) {
    try {
      files.set(name, await readFile(keys.get(name)!));
    } catch (error) {
      // A symlink to a folder, or a file swapped away between readdir and read: not a config key.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOENT') continue;
      throw error;
    }
  }
  return files;
}

function snapshotOf(files: Map<string, Buffer>): ConfigDirSnapshot {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const data: Record<string, string> = {};
  const hash = createHash('sha256');
  for (const [name, bytes] of files) {
    try {
      data[name] = decoder.decode(bytes);
    } catch {
      throw new Error(`${name}: not valid UTF-8`);
    }
    hash.update(name).update('\0').update(bytes).update('\0');
  }
  return { data, version: files.size === 0 ? '' : hash.digest('hex') };
}

export interface ConfigDirWatcher {
  /** Re-reads now (tests, SIGHUP). */
  check(): Promise<void>;
  stop(): void;
}

/**
 * Polls `dir` every `periodMs` and also reacts to filesystem events (kubelet swaps `..data` atomically), calling
 * `onChange` only when the version changes, and `onError` once per distinct error message.
 */
export function watchConfigDir(
  dir: string,
  periodMs: number,
  lastVersion: string,
  onChange: (snapshot: ConfigDirSnapshot) => void,
  onError: (error: Error) => void,
): ConfigDirWatcher {
  let version = lastVersion;
  let lastError = '';
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const check = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          const snapshot = await readConfigDir(dir);
          lastError = '';
          if (!stopped && snapshot.version !== version) {
            version = snapshot.version;
            onChange(snapshot);
          }
        } catch (error) {
          const message = (error as Error).message;
          if (message !== lastError) {
            lastError = message;
            onError(error as Error);
          }
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void check(), periodMs);
  timer.unref();
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dir, () => void check());
    watcher.on('error', () => undefined);
  } catch {
    // The folder may not exist yet; polling covers it.
  }
  return {
    check,
    stop() {
      stopped = true;
      clearInterval(timer);
      watcher?.close();
    },
  };
}
