import { performance } from 'node:perf_hooks';

/** Time as the probe and poll loops see it; tests pass a fake that they advance by hand. */
export interface Clock {
  /** Monotonic milliseconds, for latencies and schedules. */
  now(): number;
  /** Epoch milliseconds, for what people read (the status page, /healthz). */
  wallNow(): number;
  /** Runs `callback` once after `ms`; the returned function cancels it. */
  schedule(ms: number, callback: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  schedule(ms, callback) {
    const timer = setTimeout(callback, Math.max(0, ms));
    return () => clearTimeout(timer);
  },
};
