import { createLogger, startupErrorLine, waitForTermination } from '@kube-dns/daemon-kit';
import { parseCommandLine, type SimulatorConfig } from './cli.js';
import { main, type SimulatorHandle } from './main.js';

// The only file with signal handling and process.exit.
let config: SimulatorConfig;
try {
  config = parseCommandLine(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${startupErrorLine('apiserver-sim', error)}\n`);
  process.exit(2);
}
if (config.print !== null) {
  process.stdout.write(config.print);
  process.exit(0);
}

const logger = createLogger({
  component: 'apiserver-sim',
  level: config.logLevel,
  ...(config.logFormat ? { format: config.logFormat } : {}),
});

let started: SimulatorHandle | null = null;
const terminated = waitForTermination(async (signal) => {
  logger.info('received signal, exiting', { signal });
  await started?.close();
});

try {
  started = await main(config, { logger });
  // The one line on stdout: scripts read the URL from it (useful with --port 0).
  process.stdout.write(`${started.url}\n`);
} catch (error) {
  process.stderr.write(`${startupErrorLine('apiserver-sim', error)}\n`);
  process.exit(1);
}
process.exit(await terminated);
