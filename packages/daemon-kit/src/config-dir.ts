import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
 */
export async function readConfigDir(dir: string): Promise<ConfigDirSnapshot> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { data: {}, version: '' };
    throw error;
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const names = entries
    .filter((entry) => !entry.name.startsWith('.') && (entry.isFile() || entry.isSymbolicLink()))
    .map((entry) => entry.name)
    .sort();
  const data: Record<string, string> = {};
  const hash = createHash('sha256');
  for (const name of names) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, name));
    } catch (error) {
      // A symlink to a folder, or a file swapped away between readdir and read: not a config key.
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOENT') continue;
      throw error;
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new Error(`${name}: not valid UTF-8`);
    }
    data[name] = text;
    hash.update(name).update('\0').update(bytes).update('\0');
  }
  return { data, version: names.length === 0 ? '' : hash.digest('hex') };
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
