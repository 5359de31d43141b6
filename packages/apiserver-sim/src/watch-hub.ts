import type { StoreEvent } from './event-history.js';
import type { WatchConnection, WatchInfo } from './watch-connection.js';

/** The open watches: live events fan out to them; faults end or cut them all. */
export class WatchHub {
  private readonly connections = new Set<WatchConnection>();
  private readonly waiters = new Set<{ match: (info: WatchInfo) => boolean; resolve: (info: WatchInfo) => void }>();
  private nextId = 1;

  newId(): number {
    return this.nextId++;
  }

  add(connection: WatchConnection): void {
    this.connections.add(connection);
    const info = connection.info();
    for (const waiter of this.waiters) {
      if (waiter.match(info)) {
        this.waiters.delete(waiter);
        waiter.resolve(info);
      }
    }
  }

  remove(connection: WatchConnection): void {
    this.connections.delete(connection);
  }

  dispatch(event: StoreEvent): void {
    if (this.connections.size === 0) return;
    const cache: { line?: string } = {};
    for (const connection of this.connections) connection.deliver(event, cache);
  }

  list(): WatchInfo[] {
    return [...this.connections].map((c) => c.info());
  }

  /** Resolves with the first watch (already open or opening later) that `match` accepts. */
  waitFor(match: (info: WatchInfo) => boolean, timeoutMs: number): Promise<WatchInfo> {
    const open = this.list().find(match);
    if (open) return Promise.resolve(open);
    return new Promise((resolve, reject) => {
      const waiter = {
        match,
        resolve: (info: WatchInfo) => {
          clearTimeout(timer);
          resolve(info);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching watch opened within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Ends every watch cleanly, as a server-side timeout would. Returns how many. */
  endAll(): number {
    const all = [...this.connections];
    for (const connection of all) connection.end(true);
    return all.length;
  }

  /** Cuts every watch's connection mid-stream. Returns how many. */
  destroyAll(): number {
    const all = [...this.connections];
    for (const connection of all) connection.destroy();
    return all.length;
  }
}
