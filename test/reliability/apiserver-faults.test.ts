import { test } from 'node:test';
import { runApiserverFaults } from './support/apiserver-faults.js';
import { seedFrom } from './support/random.js';

/**
 * kube-dns (the real bin) against an apiserver that cuts watches, forgets its history, goes away, answers
 * 500 and 401 and lists slowly, while the cluster changes. The outage lasts a few seconds here; the soak
 * (`npm run soak`) runs the same scenario with a 60 s outage.
 */
const OUTAGE_MS = Number(process.env['APISERVER_OUTAGE_MS'] ?? 3000);

test(
  'apiserver faults: kube-dns answers from memory throughout and ends exactly at the apiserver state',
  { timeout: 300_000 },
  async (t) => {
    await runApiserverFaults((name, fn) => t.test(name, fn), {
      outageMs: OUTAGE_MS,
      seed: seedFrom('FAULT_SEED', 7),
      churnPerFault: 12,
      log: (line) => t.diagnostic(line),
    });
  },
);
