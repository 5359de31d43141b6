import { startupErrorLine, waitForTermination } from '@kube-dns/daemon-kit';
import { COMPONENT, parseCommandLine, type SidecarConfig } from './cli.js';
import { main } from './main.js';

let config: SidecarConfig;
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

try {
  const sidecar = await main(config);
  // The sidecar holds no state worth draining: stop probing and close the HTTP server.
  process.exit(await waitForTermination(() => sidecar.close()));
} catch (error) {
  process.stderr.write(`${startupErrorLine(COMPONENT, error)}\n`);
  process.exit(1);
}
