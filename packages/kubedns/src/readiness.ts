import type { HttpRoute } from '@kube-dns/daemon-kit';

export type ReadinessState = 'starting' | 'ready' | 'draining';

export interface Readiness {
  readonly state: ReadinessState;
  /** The first complete sync: 503 → 200. Never undone by a lost apiserver (SPEC fine print). */
  markReady(): void;
  /** SIGTERM: 200 → 503 for good, so the Service stops sending queries before we close. */
  markDraining(): void;
  routes(): HttpRoute[];
}

/**
 * `/readiness` (the manifest's readiness probe): 503 until the first sync, 200 after, 503 while shutting
 * down. `/healthz` is liveness: 200 while the process serves, including during the grace period.
 */
export function createReadiness(): Readiness {
  let state: ReadinessState = 'starting';
  return {
    get state() {
      return state;
    },
    markReady() {
      if (state === 'starting') state = 'ready';
    },
    markDraining() {
      state = 'draining';
    },
    routes: () => [
      {
        path: '/readiness',
        handle: () =>
          state === 'ready'
            ? { status: 200, body: 'ok\n' }
            : {
                status: 503,
                body: state === 'starting' ? 'waiting for the first sync with the apiserver\n' : 'shutting down\n',
              },
      },
      { path: '/healthz', handle: () => ({ status: 200, body: 'ok\n' }) },
    ],
  };
}
