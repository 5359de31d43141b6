import { startApiServer, type ApiServerHandle } from '@kube-dns/apiserver-sim';
import { freeDnsPort } from '../../helpers/index.js';
import { seedSmallCluster } from './fixture.js';
import {
  podCacheArgs,
  startCacheDaemon,
  startKubeDns,
  startSidecar,
  writeKubeconfig,
  type CacheDaemon,
  type KubeDnsDaemon,
  type SidecarDaemon,
} from './launch.js';
import { startStubUpstream, type StubUpstream } from './stub-upstream.js';

/**
 * The three containers of the Pod on loopback, wired as the manifest wires them: the cache forwards the
 * cluster zones to kube-dns on a fixed port (so kube-dns can be restarted where the cache expects it),
 * the sidecar probes both. The probes ask `kubernetes.default.svc.cluster.local` every second.
 */
export interface LocalPod {
  sim: ApiServerHandle;
  upstream: StubUpstream;
  kubeDnsPort: number;
  kubeDns: KubeDnsDaemon;
  cache: CacheDaemon;
  sidecar: SidecarDaemon;
  /** (Re)starts kube-dns on `kubeDnsPort` and waits until it is ready. */
  startKubeDns(): Promise<KubeDnsDaemon>;
  close(): Promise<void>;
}

export interface LocalPodOptions {
  kubeDnsArgs?: string[];
  cacheArgs?: string[];
}

export async function startLocalPod(options: LocalPodOptions = {}): Promise<LocalPod> {
  const sim = await startApiServer({ tokens: ['pod-token'] });
  seedSmallCluster(sim);
  if (!sim.objects.get({ kind: 'Service', namespace: 'default', name: 'kubernetes' })) {
    sim.objects.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kubernetes', namespace: 'default' },
      spec: { clusterIP: '10.96.0.1', ports: [{ name: 'https', port: 443, protocol: 'TCP' }] },
    });
  }
  const upstream = await startStubUpstream();
  const kubeconfig = await writeKubeconfig(sim, { token: 'pod-token' });
  const kubeDnsPort = await freeDnsPort();
  const pod = {
    sim,
    upstream,
    kubeDnsPort,
  } as LocalPod;
  pod.startKubeDns = async () => {
    const kubeDns = await startKubeDns([
      `--kubecfg-file=${kubeconfig}`,
      `--dns-port=${kubeDnsPort}`,
      `--nameservers=127.0.0.1:${upstream.port}`,
      ...(options.kubeDnsArgs ?? []),
    ]);
    await kubeDns.waitReady();
    pod.kubeDns = kubeDns;
    return kubeDns;
  };
  await pod.startKubeDns();
  pod.cache = await startCacheDaemon([
    ...podCacheArgs(`127.0.0.1#${kubeDnsPort}`, upstream.port),
    '--upstream-timeout=300ms',
    '--forward-deadline=1000ms',
    ...(options.cacheArgs ?? []),
  ]);
  const probeName = 'kubernetes.default.svc.cluster.local';
  pod.sidecar = await startSidecar([
    `--probe=kubedns,127.0.0.1:${kubeDnsPort},${probeName},1,A`,
    `--probe=dnsmasq,127.0.0.1:${pod.cache.dns.port},${probeName},1,A`,
    `--dnsmasq-port=${pod.cache.dns.port}`,
    '--dnsmasq-poll-interval-ms=500',
    '--dns-timeout-ms=500',
  ]);
  pod.close = async () => {
    await Promise.all([pod.kubeDns.stop(), pod.cache.stop(), pod.sidecar.stop()]);
    await upstream.close();
    await sim.close();
  };
  return pod;
}
