/** What a wait says when it fails: after the timeout, or when the process ended first (with its exit). */
export interface LineWaitErrors<E> {
  timeout(): string;
  exited(exit: E): string;
}

/**
 * The lines a child process printed, kept in order, and waits for the first line (already seen or to come) a
 * test expects. A wait fails after its timeout, or as soon as `exited` resolves without a match.
 */
export interface LineWaiter<L, E> {
  readonly lines: L[];
  /** Records a line and resolves the waits it satisfies. */
  push(line: L): void;
  /** The first non-empty result of `find` over the lines. */
  waitFor<R>(find: (line: L) => R | null | undefined | false, timeoutMs: number, errors: LineWaitErrors<E>): Promise<R>;
}

export function createLineWaiter<L, E>(exited: Promise<E>): LineWaiter<L, E> {
  const lines: L[] = [];
  const waiters = new Set<(line: L) => boolean>();
  return {
    lines,
    push(line) {
      lines.push(line);
      for (const waiter of waiters) if (waiter(line)) waiters.delete(waiter);
    },
    waitFor(find, timeoutMs, errors) {
      for (const line of lines) {
        const found = find(line);
        if (found) return Promise.resolve(found);
      }
      return new Promise((resolve, reject) => {
        const waiter = (line: L): boolean => {
          const found = find(line);
          if (!found) return false;
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(errors.timeout()));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then((exit) => {
          if (!waiters.delete(waiter)) return;
          clearTimeout(timer);
          reject(new Error(errors.exited(exit)));
        });
      });
    },
  };
}
