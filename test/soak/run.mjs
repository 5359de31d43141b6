// The soak: the long reliability runs (test/soak/*.soak.ts, compiled to test/build/soak/*.soak.js), one file
// at a time. `npm run soak` installs and builds first; `node test/soak/run.mjs [substring …]` runs some.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = new URL('../build/soak/', import.meta.url).pathname;
const filters = process.argv.slice(2);
let files = [];
try {
  files = readdirSync(dir)
    .filter((f) => f.endsWith('.soak.js'))
    .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
    .sort()
    .map((f) => join(dir, f));
} catch {
  // reported below
}
if (files.length === 0) {
  console.error('soak: no compiled soak files under test/build/soak (did the build run?)');
  process.exit(1);
}
const started = Date.now();
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
});
child.on('exit', (code, signal) => {
  console.log(`soak: ${Math.round((Date.now() - started) / 1000)} s`);
  process.exit(code ?? (signal ? 1 : 0));
});
