import { writeFileSync } from 'node:fs';
import { delay, startupErrorLine, waitForTermination } from '@kube-dns/daemon-kit';
import { COMPONENT, parseCommandLine } from './cli.js';
import type { DnsmasqCacheConfig } from './config.js';
import { main, type DnsmasqCacheHandle } from './main.js';

// The only file with signal handling and process.exit.
let config: DnsmasqCacheConfig;
try {
  config = parseCommandLine(process.argv.slice(2), process.env);
} catch (error) {
  process.stderr.write(`${startupErrorLine(COMPONENT, error)}\n`);
  process.exit(2);
}
if (config.print !== null) {
  process.stdout.write(config.print);
  process.exit(0);
}
if (config.testOnly) {
  process.stderr.write(`${COMPONENT}: syntax check OK.\n`);
  process.exit(0);
}

let started: DnsmasqCacheHandle | null = null;
let terminating = false;
const terminated = waitForTermination(async () => {
  terminating = true;
  // Lameduck: the Service stops sending us queries while we still answer the ones that arrive.
  if (started !== null) {
    await delay(config.shutdownGraceMs);
    await started.close();
  }
});

try {
  started = await main(config);
} catch (error) {
  if (!terminating) {
    process.stderr.write(`${startupErrorLine(COMPONENT, error)}\n`);
    process.exit(1);
  }
}
if (config.pidFile !== null) {
  try {
    writeFileSync(config.pidFile, `${process.pid}\n`);
  } catch (error) {
    process.stderr.write(`${COMPONENT}: cannot write ${config.pidFile}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}
// dnsmasq's signals: HUP clears the cache and re-reads hosts files, USR1 logs the statistics.
process.on('SIGHUP', () => started?.reload());
process.on('SIGUSR1', () => started?.logStatistics());
process.exit(await terminated);
