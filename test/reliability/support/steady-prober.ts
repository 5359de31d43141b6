import type { UpstreamServer } from '@kube-dns/daemon-kit';
import { queryDns } from '../../helpers/index.js';
import type { ExpectedAnswer } from './cluster-model.js';
import { answerData } from './fixture.js';

/**
 * Keeps asking a fixed set of names whose answers never change (and, optionally, polling a readiness URL)
 * while a test injects faults: every wrong answer, SERVFAIL, timeout or readiness change is recorded.
 */
export interface SteadyProber {
  readonly queries: number;
  readonly failures: string[];
  readonly readinessChanges: string[];
  /** Stops and waits for the loops to finish. */
  stop(): Promise<void>;
}

export function startSteadyProber(
  server: UpstreamServer,
  answers: readonly ExpectedAnswer[],
  options: { intervalMs?: number; readinessUrl?: string; expectedReadiness?: number; tcpEvery?: number } = {},
): SteadyProber {
  let running = true;
  const state = { queries: 0, failures: [] as string[], readinessChanges: [] as string[] };
  const intervalMs = options.intervalMs ?? 10;
  const record = (text: string): void => {
    if (state.failures.length < 50) state.failures.push(`${new Date().toISOString()} ${text}`);
  };
  const queryLoop = async (): Promise<void> => {
    let i = 0;
    while (running) {
      const want = answers[i % answers.length]!;
      const tcp = options.tcpEvery !== undefined && i % options.tcpEvery === 0;
      i++;
      try {
        const result = await queryDns(server, want.name, want.type, { tcp, edns: 1232, timeoutMs: 1500 });
        state.queries++;
        const got = `${result.rcode} ${JSON.stringify(answerData(result))}`;
        const expected = `${want.rcode} ${JSON.stringify(want.data)}`;
        if (got !== expected) record(`${want.name} ${want.type}: ${got}, expected ${expected}`);
      } catch (error) {
        state.queries++;
        record(`${want.name} ${want.type}: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  const readinessLoop = async (): Promise<void> => {
    if (options.readinessUrl === undefined) return;
    const expected = options.expectedReadiness ?? 200;
    while (running) {
      try {
        const status = (await fetch(options.readinessUrl)).status;
        if (status !== expected && state.readinessChanges.length < 50) {
          state.readinessChanges.push(`${new Date().toISOString()} readiness ${status}`);
        }
      } catch (error) {
        if (state.readinessChanges.length < 50) state.readinessChanges.push(`readiness: ${(error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const loops = Promise.all([queryLoop(), queryLoop(), readinessLoop()]);
  return {
    get queries() {
      return state.queries;
    },
    failures: state.failures,
    readinessChanges: state.readinessChanges,
    async stop() {
      running = false;
      await loops;
    },
  };
}
