import { startApiServer, type ApiServerHandle } from '@kube-dns/apiserver-sim';
import { seedSmallCluster } from './fixture.js';
import {
  podCacheArgs,
  startCacheDaemon,
  startKubeDns,
  writeKubeconfig,
  type CacheDaemon,
  type KubeDnsDaemon,
} from './launch.js';
import { startStubUpstream, type StubUpstream } from './stub-upstream.js';

/** The Pod's two DNS servers as the fuzz campaigns hit them: the cache in front of kube-dns, a stub upstream. */
export interface FuzzEnvironment {
  sim: ApiServerHandle;
  upstream: StubUpstream;
  kubeDns: KubeDnsDaemon;
  cache: CacheDaemon;
  close(): Promise<void>;
}

/**
 * Old-space limits for the fuzzed daemons: their live heap is ~40 MB (kube-dns, with the Kubernetes client)
 * and ~10 MB (the cache); a leak of a few hundred octets per message turns into an out-of-memory crash
 * well within a campaign.
 */
export const KUBE_DNS_OLD_SPACE_MB = 128;
export const CACHE_OLD_SPACE_MB = 64;

export async function startFuzzEnvironment(): Promise<FuzzEnvironment> {
  const sim = await startApiServer({ tokens: ['fuzz-token'] });
  seedSmallCluster(sim);
  const upstream = await startStubUpstream();
  const kubeconfig = await writeKubeconfig(sim, { token: 'fuzz-token' });
  const kubeDns = await startKubeDns([`--kubecfg-file=${kubeconfig}`, `--nameservers=127.0.0.1:${upstream.port}`], {
    maxOldSpaceMb: KUBE_DNS_OLD_SPACE_MB,
  });
  let cache: CacheDaemon;
  try {
    await kubeDns.waitReady();
    // The manifest's arguments, with the stub upstream as the default server.
    cache = await startCacheDaemon(
      [...podCacheArgs(`127.0.0.1#${kubeDns.dns.port}`, upstream.port), '--dns-loop-detect'],
      { maxOldSpaceMb: CACHE_OLD_SPACE_MB },
    );
  } catch (error) {
    // A child left running would keep the test file from ever exiting.
    await kubeDns.stop();
    await upstream.close();
    await sim.close();
    throw error;
  }
  return {
    sim,
    upstream,
    kubeDns,
    cache,
    async close() {
      await Promise.all([kubeDns.stop(), cache.stop()]);
      await upstream.close();
      await sim.close();
    },
  };
}
