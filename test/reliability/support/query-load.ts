import type { RecordType } from 'dns-packet';
import type { UpstreamServer } from '@kube-dns/daemon-kit';
import { queryDns, type QueryResult } from '../../helpers/index.js';

/** One question of a load mix: a fresh name per query or a fixed one, and what counts as a right answer. */
export interface LoadQuestion {
  name: (i: number) => string;
  type: RecordType;
  /** null when the answer is right. */
  check(result: QueryResult): string | null;
}

export interface QueryLoad {
  readonly sent: number;
  readonly failures: string[];
  /** Stops the clients and waits for the queries in flight. */
  stop(): Promise<void>;
}

/**
 * `clients` loops, each sending one query at a time (UDP, or TCP every `tcpEvery`), round-robin over
 * `questions`. A timeout, an error or a wrong answer is a failure, with its time.
 */
export function startQueryLoad(
  server: UpstreamServer,
  questions: LoadQuestion[],
  options: { clients?: number; timeoutMs?: number; tcpEvery?: number } = {},
): QueryLoad {
  let running = true;
  const state = { sent: 0, failures: [] as string[] };
  let counter = 0;
  const client = async (): Promise<void> => {
    while (running) {
      const i = counter++;
      const question = questions[i % questions.length]!;
      const name = question.name(i);
      const tcp = options.tcpEvery !== undefined && i % options.tcpEvery === 0;
      state.sent++;
      try {
        const result = await queryDns(server, name, question.type, { tcp, timeoutMs: options.timeoutMs ?? 1500 });
        const problem = question.check(result);
        if (problem !== null && state.failures.length < 100)
          state.failures.push(`${new Date().toISOString()} ${name}: ${problem}`);
      } catch (error) {
        if (state.failures.length < 100)
          state.failures.push(`${new Date().toISOString()} ${name}: ${(error as Error).message}`);
      }
    }
  };
  const clients = Promise.all(Array.from({ length: options.clients ?? 4 }, () => client()));
  return {
    get sent() {
      return state.sent;
    },
    failures: state.failures,
    async stop() {
      running = false;
      await clients;
    },
  };
}
