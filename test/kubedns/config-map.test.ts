import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { startApiServer, type KubeObject } from '@kube-dns/apiserver-sim';
import { parseResolvConf } from '@kube-dns/daemon-kit';
import { startConfigSource, type ForwardingSettings } from '@kube-dns/kubedns/config';
import { createApiLists } from '@kube-dns/kubedns/watch/api-lists';
import { startConfigMapWatch } from '@kube-dns/kubedns/watch/config-map-watch';
import { loadKubeConfig } from '@kube-dns/kubedns/watch/kube-config';
import { createWatchMetrics } from '@kube-dns/kubedns/watch-metrics';
import { captureLog, waitUntil } from '../helpers/index.js';
import { fastWatchTiming } from './watch-fixtures.js';

function configMap(name: string, data: Record<string, string>, namespace = 'kube-system'): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data };
}

describe('kube-dns ConfigMap through --config-map (watched through the API)', () => {
  test('initial load, live change, invalid update rejected whole and logged once, delete → defaults', async (t) => {
    const sim = await startApiServer({
      seed: [
        configMap('kube-dns', {
          upstreamNameservers: '["198.51.100.1"]',
          stubDomains: '{"acme.local": ["192.0.2.1"]}',
        }),
        configMap('other', { upstreamNameservers: '["203.0.113.66"]' }),
      ],
    });
    t.after(() => sim.close());
    const kubeConfig = loadKubeConfig({ kubeMasterUrl: sim.url, kubecfgFile: null, userAgent: 'kube-dns/test' });
    const lists = createApiLists(kubeConfig);
    const log = captureLog();
    const applied: ForwardingSettings[] = [];
    const source = startConfigSource({
      config: {
        configDir: null,
        configPeriodMs: 10_000,
        configMap: 'kube-dns',
        configMapNamespace: 'kube-system',
        nameservers: [],
        resolvConf: '/x',
      },
      apply: (settings) => applied.push(settings),
      logger: log.logger,
      readResolvConf: () => parseResolvConf('nameserver 192.0.2.53\n'),
      watchConfigMap: (onChange) =>
        startConfigMapWatch({
          kubeConfig,
          lists,
          namespace: 'kube-system',
          name: 'kube-dns',
          onChange,
          logger: log.logger,
          metrics: createWatchMetrics(new Registry()),
          timing: fastWatchTiming,
        }),
    });
    t.after(() => source.stop());
    await source.ready;
    assert.deepEqual(source.current().upstreams, [{ host: '198.51.100.1', port: 53 }]);
    assert.equal(source.current().stubDomains[0]?.domain, 'acme.local');
    // Only that one ConfigMap is asked for (field selector), not every ConfigMap of the namespace.
    for (const request of sim.requests.entries({ resource: 'configmaps' })) {
      assert.equal(request.query['fieldSelector'], 'metadata.name=kube-dns');
      assert.equal(request.namespace, 'kube-system');
    }
    await sim.waitForWatch({ resource: 'configmaps' });

    sim.objects.apply(configMap('kube-dns', { upstreamNameservers: '["198.51.100.2:5353"]' }));
    await waitUntil('change applied', () => source.current().upstreams[0]?.host === '198.51.100.2');
    assert.deepEqual(source.current().stubDomains, []);
    const count = applied.length;

    sim.objects.apply(
      configMap('kube-dns', { upstreamNameservers: '["198.51.100.3"]', stubDomains: '{"bad domain": []}' }),
    );
    await waitUntil('rejection logged', () => log.matching('rejected invalid kube-dns ConfigMap update').length === 1);
    assert.equal(applied.length, count, 'nothing applied');
    assert.deepEqual(source.current().upstreams, [{ host: '198.51.100.2', port: 5353 }], 'previous config kept');
    // Another ConfigMap changing is not ours.
    sim.objects.apply(configMap('other', { upstreamNameservers: '["203.0.113.67"]' }));

    sim.objects.delete({ kind: 'ConfigMap', namespace: 'kube-system', name: 'kube-dns' });
    await waitUntil('defaults after delete', () => source.current().upstreamSource === 'resolv.conf');
    assert.deepEqual(source.current().upstreams, [{ host: '192.0.2.53', port: 53 }]);
    assert.equal(log.matching('rejected invalid').length, 1, 'logged once');

    sim.objects.create(configMap('kube-dns', { stubDomains: '{"corp.example": ["192.0.2.9:1053"]}' }));
    await waitUntil('re-created', () => source.current().stubDomains[0]?.domain === 'corp.example');
  });

  test('a missing ConfigMap is the default configuration (optional, as the manifest mounts it)', async (t) => {
    const sim = await startApiServer();
    t.after(() => sim.close());
    const kubeConfig = loadKubeConfig({ kubeMasterUrl: sim.url, kubecfgFile: null, userAgent: 'kube-dns/test' });
    const source = startConfigSource({
      config: {
        configDir: null,
        configPeriodMs: 10_000,
        configMap: 'kube-dns',
        configMapNamespace: 'kube-system',
        nameservers: [],
        resolvConf: '/x',
      },
      apply: () => undefined,
      logger: captureLog().logger,
      readResolvConf: () => parseResolvConf('nameserver 192.0.2.53\n'),
      watchConfigMap: (onChange) =>
        startConfigMapWatch({
          kubeConfig,
          lists: createApiLists(kubeConfig),
          namespace: 'kube-system',
          name: 'kube-dns',
          onChange,
          logger: captureLog().logger,
          metrics: createWatchMetrics(new Registry()),
          timing: fastWatchTiming,
        }),
    });
    t.after(() => source.stop());
    await source.ready;
    assert.equal(source.current().upstreamSource, 'resolv.conf');
    await sim.waitForWatch({ resource: 'configmaps' });
    sim.objects.create(configMap('kube-dns', { upstreamNameservers: '["198.51.100.7"]' }));
    await waitUntil('created later', () => source.current().upstreamSource === 'configmap');
  });
});
