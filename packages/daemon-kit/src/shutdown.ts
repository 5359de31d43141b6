/**
 * Termination for the bins: the first SIGTERM/SIGINT runs `onSignal` (which drains: readiness down, a
 * lameduck grace period, then close); a second signal while draining resolves at once so the bin can exit.
 * Returns a promise of the exit code the bin should use.
 */
export function waitForTermination(
  onSignal: (signal: NodeJS.Signals) => Promise<void>,
  signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'],
): Promise<number> {
  return new Promise((resolve) => {
    let draining = false;
    const handler = (signal: NodeJS.Signals): void => {
      if (draining) {
        resolve(130);
        return;
      }
      draining = true;
      onSignal(signal).then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    for (const signal of signals) process.on(signal, handler);
  });
}

/** Resolves after `ms`; a shutdown grace period that tests can shorten to 0. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
