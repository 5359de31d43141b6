import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { ApiServerHandle, KubeconfigAuth, KubeconfigOptions } from '@kube-dns/apiserver-sim';
import type { EndpointsApi, PodRecordsMode } from '@kube-dns/kubedns/cli';
import { createApiLists } from '@kube-dns/kubedns/watch/api-lists';
import { startClusterWatch, type ClusterWatch } from '@kube-dns/kubedns/watch/cluster-watch';
import { loadKubeConfig } from '@kube-dns/kubedns/watch/kube-config';
import type { KubeConfig } from '@kubernetes/client-node';
import { createWatchMetrics, type WatchMetrics } from '@kube-dns/kubedns/watch-metrics';
import { captureLog, type CapturedLog } from '../helpers/index.js';
import { fastWatchTiming, RecordingWriter } from './watch-fixtures.js';

/** Waits until the simulator has an open watch for each of these resources. */
export async function watchesOpen(
  sim: ApiServerHandle,
  resources: string[] = ['services', 'endpointslices', 'namespaces'],
): Promise<void> {
  for (const resource of resources) await sim.waitForWatch({ resource }, 5000);
}

export interface WatchUnderTest {
  writer: RecordingWriter;
  watch: ClusterWatch;
  log: CapturedLog;
  registry: Registry;
  metrics: WatchMetrics;
  /** The value of one metric series (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/** Writes the simulator's kubeconfig to a temporary file and returns its path. */
export async function kubeconfigFile(
  sim: ApiServerHandle,
  auth?: KubeconfigAuth,
  options?: KubeconfigOptions,
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-dns-kubeconfig-'));
  const path = join(dir, 'kubeconfig');
  await writeFile(path, sim.kubeconfig(auth, options));
  return path;
}

export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const data = await metric.get();
  let total = 0;
  for (const value of data.values) {
    // Histograms: count observations only.
    const series = (value as { metricName?: string }).metricName;
    if (series !== undefined && !series.endsWith('_count')) continue;
    const l = value.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, v]) => String(l[k]) === v)) total += value.value;
  }
  return total;
}

/**
 * The real watch (client-node informers) against the simulator, writing into a RecordingWriter. Stopped by
 * the test's `after` hook.
 */
export async function startWatchUnderTest(
  t: { after(fn: () => unknown): void },
  sim: ApiServerHandle,
  options: {
    endpointsApi?: EndpointsApi;
    podRecords?: PodRecordsMode;
    auth?: KubeconfigAuth;
    kubeconfigOptions?: KubeconfigOptions;
  } = {},
): Promise<WatchUnderTest> {
  const kubeConfig = loadKubeConfig({
    kubeMasterUrl: null,
    kubecfgFile: await kubeconfigFile(sim, options.auth ?? {}, options.kubeconfigOptions),
    userAgent: 'kube-dns/test',
  });
  return watchWith(t, kubeConfig, options);
}

/** The real watch through a KubeConfig the test loaded itself, as startWatchUnderTest. */
export function watchWith(
  t: { after(fn: () => unknown): void },
  kubeConfig: KubeConfig,
  options: { endpointsApi?: EndpointsApi; podRecords?: PodRecordsMode } = {},
): WatchUnderTest {
  const writer = new RecordingWriter();
  const log = captureLog();
  const registry = new Registry();
  const metrics = createWatchMetrics(registry);
  const watch = startClusterWatch({
    kubeConfig,
    lists: createApiLists(kubeConfig),
    writer,
    endpointsApi: options.endpointsApi ?? 'endpointslices',
    podRecords: options.podRecords ?? 'insecure',
    logger: log.logger,
    metrics,
    timing: fastWatchTiming,
  });
  t.after(() => watch.stop());
  return { writer, watch, log, registry, metrics, metric: (name, labels) => metricValue(registry, name, labels) };
}
