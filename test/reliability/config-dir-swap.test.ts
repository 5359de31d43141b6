import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readConfigDir } from '@kube-dns/daemon-kit';
import { tempDir, writeConfigDir } from './support/launch.js';

/**
 * Regression (found when a rejected ConfigMap update was sometimes half applied): the kubelet updates a
 * mounted ConfigMap by swapping `..data`; a reader that opened each key's symlink in turn could read one
 * key from the old version and the next from the new one, and a valid mix was applied although the new
 * version as a whole was invalid (and then stayed, since the next read of the invalid version is rejected).
 */
test('daemon-kit readConfigDir never mixes two versions of a kubelet-swapped ConfigMap', async () => {
  const dir = await tempDir('swap');
  const version = (n: number): Record<string, string> => ({
    stubDomains: `{"v${n}.example": ["10.0.0.${n % 200}"]}`,
    upstreamNameservers: `["10.1.0.${n % 200}"]`,
    zzz: String(n),
  });
  await writeConfigDir(dir, version(0));
  let writing = true;
  const writer = (async () => {
    for (let n = 1; n <= 300; n++) await writeConfigDir(dir, version(n));
    writing = false;
  })();
  let reads = 0;
  let busy = 0;
  const torn: string[] = [];
  while (writing) {
    let data: Record<string, string>;
    try {
      ({ data } = await readConfigDir(dir));
    } catch (error) {
      // A writer swapping back to back can outrun a few re-reads: an error (the caller keeps its previous
      // configuration), never a mix.
      assert.match((error as Error).message, /kept changing while it was read/);
      busy++;
      continue;
    }
    reads++;
    const n = Number(data['zzz']);
    if (JSON.stringify(data) !== JSON.stringify(version(n))) torn.push(JSON.stringify(data));
  }
  await writer;
  assert.deepEqual(torn.slice(0, 3), [], `${torn.length} of ${reads} reads mixed two versions`);
  assert.ok(reads > 20, `${reads} reads raced the swaps (${busy} gave up on a folder that kept changing)`);
});
