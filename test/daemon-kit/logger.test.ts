import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '@kube-dns/daemon-kit';

test('JSON lines carry the component, and a child can name its own', async () => {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n')));
  const logger = createLogger({ component: 'kube-dns', format: 'json', stream });
  logger.info('started', { port: 53 });
  logger.child({ component: 'watch' }).warn('lost', { kind: 'services' });
  logger.debug('not shown at info');
  await new Promise((resolve) => setImmediate(resolve));
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.equal(parsed.length, 2);
  assert.equal(parsed[0]!['component'], 'kube-dns');
  assert.equal(parsed[0]!['port'], 53);
  assert.equal(parsed[1]!['component'], 'watch');
  assert.equal(parsed[1]!['level'], 'warn');
});
