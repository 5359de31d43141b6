// Builds the batched UDP I/O addon (udp_batch.c) with node-gyp, against the headers of the Node that runs this
// script, never downloading any. Optional: without a compiler, headers or node-gyp it prints one line and exits 0,
// and the listener uses node:dgram (src/udp-io/load-addon.ts). Runs as daemon-kit's `install` script.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const addon = join(here, 'build', 'Release', 'udp_batch.node');
const sources = ['udp_batch.c', 'binding.gyp', 'build.mjs'].map((name) => join(here, name));

function skip(reason) {
  console.log(`daemon-kit: batched UDP I/O not built (${reason}); using node:dgram`);
  process.exit(0);
}

function hasCommand(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function findNodeGyp(prefix) {
  // npm and pnpm tell lifecycle scripts where their bundled node-gyp is; else npm's copy beside this Node.
  const candidates = [
    process.env.npm_config_node_gyp,
    join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((candidate) => candidate && existsSync(candidate));
}

if (process.platform !== 'linux') skip(`recvmmsg/sendmmsg are Linux only, this is ${process.platform}`);
if (!existsSync(join(here, 'udp_batch.c'))) skip('no sources in this copy of the package');
const newest = Math.max(...sources.filter((path) => existsSync(path)).map((path) => statSync(path).mtimeMs));
if (existsSync(addon) && statSync(addon).mtimeMs >= newest) process.exit(0);

// <prefix>/bin/node has its headers in <prefix>/include/node (Debian's /usr, the official images' /usr/local).
const prefix = dirname(dirname(process.execPath));
if (!existsSync(join(prefix, 'include', 'node', 'node_api.h'))) skip(`no Node headers in ${prefix}/include/node`);
for (const tool of ['python3', 'make', 'cc']) if (!hasCommand(tool)) skip(`no ${tool} on PATH`);
const nodeGyp = findNodeGyp(prefix);
if (nodeGyp === undefined) skip('node-gyp not found');

const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${prefix}`, '--loglevel=warn'], {
  cwd: here,
  encoding: 'utf8',
  // Never fetch headers, whatever the user's npm config says.
  env: { ...process.env, npm_config_nodedir: prefix, npm_config_tarball: '', npm_config_dist_url: '' },
});
if (result.status !== 0 || !existsSync(addon)) {
  const output = `${result.stderr ?? ''}\n${result.stdout ?? ''}`;
  const lines = output
    .split('\n')
    .filter((line) => /error/i.test(line) && !/gyp ERR! (cwd|node -v|node-gyp -v|System|command|not ok)/.test(line));
  const reason = (lines[0] ?? result.error?.message ?? `node-gyp exited with ${result.status}`).trim();
  skip(`compiling failed: ${reason.slice(0, 200)}`);
}
console.log(`daemon-kit: batched UDP I/O built (${addon})`);
