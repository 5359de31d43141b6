import { join } from 'node:path';
import { startApiServer, type ApiServerHandle } from '@kube-dns/apiserver-sim';
import { clusterObjects, type ClusterShape } from './cluster.js';
import type { DnsClient } from './dns-client.js';
import type { Row } from './report.js';
import { startKubeDns, type KubeDnsProcess } from './servers.js';

export interface SuiteContext {
  /** A fresh temporary folder for config, zone and query files. */
  workDir: string;
  rounds: number;
  seconds: number;
  /** Seconds of churn in the scale benchmark. */
  churnSeconds: number;
  shape: ClusterShape;
  client: DnsClient;
  log: (line: string) => void;
  /** The simulator holding the cluster with kube-dns synced to it, shared by the authoritative and miss benchmarks. */
  cluster(): Promise<ClusterEnv>;
}

export interface SuiteResult {
  name: string;
  rows: Row[];
  raw: Record<string, unknown>;
}

export interface ClusterEnv {
  sim: ApiServerHandle;
  kubeconfig: string;
  kubeDns: KubeDnsProcess;
  close(): Promise<void>;
}

/** The simulator serving `shape`, with a kubeconfig (bearer token) written in `dir`. */
export async function startCluster(
  dir: string,
  shape: ClusterShape,
  historySize?: number,
): Promise<{ sim: ApiServerHandle; kubeconfig: string }> {
  const sim = await startApiServer({ tokens: ['bench'], ...(historySize ? { historySize } : {}) });
  sim.objects.applyAll(clusterObjects(shape));
  const kubeconfig = join(dir, `kubeconfig-${sim.port}`);
  await sim.writeKubeconfig(kubeconfig, { token: 'bench' });
  return { sim, kubeconfig };
}

export async function startClusterEnv(dir: string, shape: ClusterShape): Promise<ClusterEnv> {
  const { sim, kubeconfig } = await startCluster(dir, shape);
  let kubeDns: KubeDnsProcess;
  try {
    kubeDns = await startKubeDns(kubeconfig);
  } catch (error) {
    await sim.close();
    throw error;
  }
  return {
    sim,
    kubeconfig,
    kubeDns,
    async close() {
      await kubeDns.stop();
      await sim.close();
    },
  };
}
