import { fileURLToPath } from 'node:url';
import { startupErrorLine } from '@kube-dns/daemon-kit';
import { COMPONENT, parseCommandLine, type LocalPodConfig } from './cli.js';
import { main } from './main.js';
import { createOutput, LAUNCHER } from './output.js';

// The only file with signal handling and process.exit.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
let config: LocalPodConfig;
try {
  config = parseCommandLine(process.argv.slice(2), {
    repoRoot,
    uid: process.getuid?.() ?? null,
    // npm runs scripts from the repository root; INIT_CWD is where the user typed `npm start`.
    cwd: process.env['INIT_CWD'] ?? process.cwd(),
    env: process.env,
    isTty: process.stdout.isTTY === true,
  });
} catch (error) {
  process.stderr.write(`${startupErrorLine(COMPONENT, error)}\n`);
  process.exit(2);
}
if (config.print !== null) {
  process.stdout.write(config.print);
  process.exit(0);
}

const output = createOutput((text) => process.stdout.write(text), { color: config.color });
// `npm start` forwards the terminal's SIGINT to us a moment after the terminal itself sent it: one Ctrl-C
// arrives twice. Signals within this window count as one; a later one kills what is still running.
const DUPLICATE_SIGNAL_MS = 1500;
let firstSignalAt: number | null = null;
let handle: Awaited<ReturnType<typeof main>> | null = null;
const onSignal = (signal: NodeJS.Signals): void => {
  const now = Date.now();
  if (firstSignalAt === null) {
    firstSignalAt = now;
    if (handle) void handle.stop(signal);
    return;
  }
  if (now - firstSignalAt < DUPLICATE_SIGNAL_MS) return;
  output.line(LAUNCHER, `${signal} again: killing everything`, 'warn');
  handle?.kill();
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// The terminal went away: stop as for Ctrl-C, and never die of writing to it.
process.on('SIGHUP', onSignal);
process.stdout.on('error', () => undefined);

try {
  handle = await main(config, { output });
} catch (error) {
  process.stderr.write(`${startupErrorLine(COMPONENT, error)}\n`);
  process.exit(1);
}
if (firstSignalAt !== null) void handle.stop('SIGINT');
process.exit(await handle.done);
