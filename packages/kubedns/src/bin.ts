import { register } from 'node:module';
import v8 from 'node:v8';
import { createLogger, levelFromVerbosity, startupErrorLine, waitForTermination } from '@kube-dns/daemon-kit';
import { parseCommandLine, type KubeDnsConfig } from './cli.js';
import type { KubeDnsHandle } from './main.js';

// The only file with signal handling and process.exit.

// Memory at 10k services (bench/README.md). V8 keeps the heap close to what is live: it grows it less eagerly and
// compacts more (~35% less RSS; read by the collector as it runs, so setting it here takes effect, also where the
// image starts `node bin/kube-dns` without flags). And client-node's generated API clients and models are never
// loaded (client-node/slim-hooks.ts), which is why main.js, the first module importing client-node, is loaded only
// after the hooks are registered.
v8.setFlagsFromString('--optimize-for-size');
register('./client-node/slim-hooks.js', import.meta.url);

let config: KubeDnsConfig;
try {
  config = parseCommandLine(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`${startupErrorLine('kube-dns', error)}\n`);
  process.exit(2);
}
if (config.print !== null) {
  process.stdout.write(config.print);
  process.exit(0);
}

const logger = createLogger({
  component: 'kube-dns',
  level: levelFromVerbosity(config.verbosity),
  ...(config.logFormat ? { format: config.logFormat } : {}),
});

let started: KubeDnsHandle | null = null;
let terminating = false;
const grace = config.shutdownGraceMs;
const terminated = waitForTermination(async (signal) => {
  terminating = true;
  logger.info('received signal', { signal });
  // Before the ports are bound there is nothing to drain.
  if (started) await started.shutdown(started.ready === 'ready' ? grace : 0);
});

const { main } = await import('./main.js');
main(config, {
  logger,
  onListening: (handle) => {
    started = handle;
  },
}).catch((error: unknown) => {
  // A signal during startup closes everything, which also ends main: not an error then.
  if (terminating) return;
  process.stderr.write(`${startupErrorLine('kube-dns', error)}\n`);
  process.exit(1);
});
process.exit(await terminated);
