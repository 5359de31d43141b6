import { test } from 'node:test';
import { runApiserverFaults } from '../reliability/support/apiserver-faults.js';
import { seedFrom } from '../reliability/support/random.js';

/** The suite's apiserver-fault scenario with the apiserver down for a full minute (SOAK_OUTAGE_MS). */
const OUTAGE_MS = Number(process.env['SOAK_OUTAGE_MS'] ?? 60_000);

test(`soak: apiserver faults with a ${OUTAGE_MS / 1000} s outage`, { timeout: 15 * 60_000 }, async (t) => {
  await runApiserverFaults((name, fn) => t.test(name, fn), {
    outageMs: OUTAGE_MS,
    seed: seedFrom('FAULT_SEED', 11),
    churnPerFault: 40,
    log: (line) => t.diagnostic(line),
  });
});
