import type { UpstreamServer } from '@kube-dns/daemon-kit';
import { queryDns, waitUntil } from '../../helpers/index.js';
import type { ExpectedAnswer } from './cluster-model.js';
import { answerData } from './fixture.js';

export interface Mismatch {
  name: string;
  type: string;
  expected: string;
  got: string;
}

function describe(rcode: string, data: string[]): string {
  return `${rcode} ${JSON.stringify(data)}`;
}

/** Asks `server` every expected question (UDP, TCP when truncated) and returns the differences. */
export async function compareAnswers(
  server: UpstreamServer,
  expected: readonly ExpectedAnswer[],
  concurrency = 24,
): Promise<Mismatch[]> {
  const mismatches: Mismatch[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < expected.length) {
      const want = expected[next++]!;
      let got: string;
      try {
        let result = await queryDns(server, want.name, want.type, { edns: 4096, timeoutMs: 2000 });
        if (result.flags.tc) result = await queryDns(server, want.name, want.type, { tcp: true, timeoutMs: 2000 });
        got = describe(result.rcode, answerData(result));
      } catch (error) {
        got = `no answer: ${(error as Error).message}`;
      }
      const wanted = describe(want.rcode, want.data);
      if (got !== wanted) mismatches.push({ name: want.name, type: want.type, expected: wanted, got });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return mismatches;
}

/**
 * Polls until the server answers exactly what `expectations()` says (recomputed each round), or fails
 * listing what still differs. Returns how long it took.
 */
export async function waitForConvergence(
  server: UpstreamServer,
  expectations: () => ExpectedAnswer[],
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  let last: Mismatch[] = [];
  try {
    await waitUntil(
      'kube-dns answers to match the apiserver state',
      async () => {
        last = await compareAnswers(server, expectations());
        return last.length === 0;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch {
    const shown = last
      .slice(0, 12)
      .map((m) => `  ${m.name} ${m.type}: expected ${m.expected}, got ${m.got}`)
      .join('\n');
    throw new Error(`after ${timeoutMs} ms, ${last.length} answers still differ from the apiserver state:\n${shown}`);
  }
  return Date.now() - started;
}
