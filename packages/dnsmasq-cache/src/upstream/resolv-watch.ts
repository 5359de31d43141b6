import { stat, readFile } from 'node:fs/promises';
import { parseResolvConf, type UpstreamServer } from '@kube-dns/daemon-kit';

export interface ResolvReading {
  path: string;
  servers: UpstreamServer[];
}

/** What the watcher remembers about each file to notice a change: modification time and inode, as dnsmasq. */
interface FileState {
  path: string;
  mtimeMs: number;
  ino: number;
}

/**
 * dnsmasq's resolv file handling (dnsmasq.c poll_resolv): the first `--resolv-file` replaces /etc/resolv.conf, more
 * are added; when files change (mtime or inode), the one changed most recently is read. A missing file is no
 * error (it may appear later). A file without nameservers leaves no resolv servers and is retried.
 */
export class ResolvWatcher {
  private readonly states: FileState[];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  private readonly onChange: (reading: ResolvReading) => void;

  constructor(files: readonly string[], onChange: (reading: ResolvReading) => void) {
    this.onChange = onChange;
    this.states = files.map((path) => ({ path, mtimeMs: -1, ino: -1 }));
  }

  /** Reads now; the newest readable file wins. Null when none can be read. */
  async check(force = false): Promise<ResolvReading | null> {
    if (this.busy) return null;
    this.busy = true;
    try {
      let latest: { state: FileState; mtimeMs: number } | null = null;
      for (const state of this.states) {
        let info;
        try {
          info = await stat(state.path);
        } catch {
          state.mtimeMs = -1;
          state.ino = -1;
          continue;
        }
        if (force || info.mtimeMs !== state.mtimeMs || info.ino !== state.ino) {
          state.mtimeMs = info.mtimeMs;
          state.ino = info.ino;
          if (latest === null || info.mtimeMs > latest.mtimeMs) latest = { state, mtimeMs: info.mtimeMs };
        }
      }
      if (latest === null) return null;
      let text: string;
      try {
        text = await readFile(latest.state.path, 'utf8');
      } catch {
        latest.state.mtimeMs = -1;
        return null;
      }
      const servers = parseResolvConf(text).nameservers;
      // No servers yet: forget the mtime so the next poll reads the file again (dnsmasq "will retry").
      if (servers.length === 0) latest.state.mtimeMs = -1;
      const reading = { path: latest.state.path, servers };
      this.onChange(reading);
      return reading;
    } finally {
      this.busy = false;
    }
  }

  /** Polls every `periodMs` (dnsmasq checks at most once a second). */
  start(periodMs: number): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.check(), periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}
