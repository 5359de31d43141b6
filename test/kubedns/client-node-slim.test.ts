import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import * as gen from '@kubernetes/client-node/dist/gen/index.js';
import { ObjectSerializer as RealSerializer } from '@kubernetes/client-node/dist/serializer.js';
import * as genExports from '@kube-dns/kubedns/client-node/gen-config-exports';
import { replacementFor, replacements } from '@kube-dns/kubedns/client-node/slim-hooks';
import { ObjectSerializer } from '@kube-dns/kubedns/client-node/string-serializer';

const dist = 'file:///x/node_modules/.pnpm/@kubernetes+client-node@1.4.0/node_modules/@kubernetes/client-node/dist/';
const testDir = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs `body` (ES module code) in a child Node with a guard hook that fails any import of client-node's generated
 * API clients and models; with `slim`, kube-dns's hooks are registered first, as bin.ts does.
 */
function runGuarded(slim: boolean, body: string): { status: number | null; output: string } {
  const guard = `export async function resolve(specifier, context, next) {
    const result = await next(specifier, context);
    if (/\\/client-node\\/dist\\/(gen\\/(index|models\\/|apis\\/|types\\/)|serializer\\.js)/.test(result.url)) {
      throw new Error('loaded ' + result.url.slice(result.url.indexOf('/dist/')));
    }
    return result;
  }`;
  const script = [
    `import { register } from 'node:module';`,
    slim ? `register(${JSON.stringify(import.meta.resolve('@kube-dns/kubedns/client-node/slim-hooks'))});` : '',
    `register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(guard)}));`,
    body,
  ].join('\n');
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: testDir, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('kube-dns: client-node without its generated clients and models', () => {
  test('only the two imports are replaced, and only from the client-node files that make them', () => {
    assert.equal(replacementFor('./gen/index.js', `${dist}config.js`), replacements['config.js|./gen/index.js']);
    assert.equal(replacementFor('./serializer.js', `${dist}cache.js`), replacements['cache.js|./serializer.js']);
    assert.equal(replacementFor('./gen/index.js', `${dist}index.js`), null);
    assert.equal(replacementFor('./gen/index.js', `${dist}api.js`), null);
    assert.equal(replacementFor('./serializer.js', `${dist}object.js`), null);
    assert.equal(replacementFor('./watch.js', `${dist}config.js`), null);
    assert.equal(replacementFor('./gen/index.js', 'file:///elsewhere/config.js'), null);
    assert.equal(replacementFor('./gen/index.js', undefined), null);
  });

  test('the replacement exports are the very bindings gen/index.js exports', () => {
    assert.equal(genExports.createConfiguration, gen.createConfiguration);
    assert.equal(genExports.ServerConfiguration, gen.ServerConfiguration);
  });

  test("the selector serializer equals ObjectSerializer.serialize(…, 'string'), and refuses anything else", () => {
    for (const selector of ['metadata.name=kube-dns', 'a=b,c!=d', '', 'x in (a,b)']) {
      assert.equal(ObjectSerializer.serialize(selector, 'string'), RealSerializer.serialize(selector, 'string'));
    }
    assert.throws(() => ObjectSerializer.serialize({}, 'V1Service'));
  });

  test('with the hooks, KubeConfig, ListWatch and Watch load and work without a generated module', () => {
    const body = `
      const { loadKubeConfig } = await import('@kube-dns/kubedns/watch/kube-config');
      const { createInformer } = await import('@kube-dns/kubedns/watch/informer');
      const kc = loadKubeConfig({ kubeMasterUrl: 'http://127.0.0.1:1', kubecfgFile: null, userAgent: 'ua' });
      const init = await kc.applyToFetchOptions({});
      if (typeof createInformer !== 'function' || init.headers.get('user-agent') !== 'ua') throw new Error('broken');
      console.log('ok');`;
    const slim = runGuarded(true, body);
    assert.equal(slim.status, 0, slim.output);
    assert.match(slim.output, /^ok$/m);
    // The guard itself works: without the hooks the same imports load the generated modules.
    const plain = runGuarded(false, body);
    assert.notEqual(plain.status, 0);
    assert.match(plain.output, /loaded \/dist\/(gen|serializer)/);
  });
});
