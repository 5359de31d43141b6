/**
 * Preloaded (`node --import`) into the daemons a reliability test spawns, never shipped: on SIGUSR2 it runs
 * a full garbage collection and prints one JSON line `{"memprobe":{…}}` on stderr, so a test can compare the
 * live heap of the real process before and after a campaign without guessing when V8 collects.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// SIGWINCH: a heap snapshot into MEMPROBE_SNAPSHOT_DIR (leak hunting by hand; no test sends it).
process.on('SIGWINCH', () => {
  const dir = process.env['MEMPROBE_SNAPSHOT_DIR'];
  if (dir === undefined) return;
  const file = v8.writeHeapSnapshot(`${dir}/heap-${process.pid}-${Date.now()}.heapsnapshot`);
  process.stderr.write(JSON.stringify({ memprobe_snapshot: file }) + '\n');
});

process.on('SIGUSR2', () => {
  gc();
  gc();
  const m = process.memoryUsage();
  process.stderr.write(
    JSON.stringify({
      memprobe: {
        heapUsed: m.heapUsed,
        heapTotal: m.heapTotal,
        rss: m.rss,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
      },
    }) + '\n',
  );
});
