import { readFile } from 'node:fs/promises';
import { silentLogger, StartupError, type Logger } from '@kube-dns/daemon-kit';
import type { SimulatorConfig } from './cli.js';
import type { KubeObject } from './kube-object.js';
import type { KubeconfigAuth } from './kubeconfig.js';
import { syncManifestDir, type ManifestDirSync } from './manifest-dir-sync.js';
import { loadManifests } from './manifest-files.js';
import { startApiServer, type ApiServerHandle, type TlsOptions } from './server.js';
import { generateTestCertificates } from './test-certificates.js';

export interface SimulatorDeps {
  logger?: Logger;
}

export interface SimulatorHandle {
  readonly server: ApiServerHandle;
  readonly url: string;
  /** The --watch-dir sync, when one runs. */
  readonly manifestDir: ManifestDirSync | undefined;
  close(): Promise<void>;
}

const COMPONENT = 'apiserver-sim';

async function readPem(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new StartupError(COMPONENT, `${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
}

async function tlsFrom(
  config: SimulatorConfig,
  logger: Logger,
): Promise<{ tls?: TlsOptions; clientCert?: { cert: string; key: string } }> {
  if (config.generatePki !== null) {
    let pki;
    try {
      pki = generateTestCertificates({ dir: config.generatePki });
    } catch (error) {
      throw new StartupError(COMPONENT, `--generate-pki: ${(error as Error).message.split('\n')[0]}`);
    }
    logger.info('generated a throwaway PKI', { dir: pki.dir });
    return {
      tls: { cert: pki.serverCert, key: pki.serverKey, clientCa: pki.caCert, ca: pki.caCert },
      clientCert: { cert: pki.clientCert, key: pki.clientKey },
    };
  }
  if (config.tlsCert === null || config.tlsKey === null) return {};
  const tls: TlsOptions = {
    cert: await readPem('--tls-cert', config.tlsCert),
    key: await readPem('--tls-key', config.tlsKey),
  };
  if (config.clientCa !== null) tls.clientCa = await readPem('--client-ca', config.clientCa);
  if (config.tlsCa !== null) tls.ca = await readPem('--tls-ca', config.tlsCa);
  return { tls };
}

/** Starts the simulator the command line describes; returns when it listens (seeds applied, kubeconfig written). */
export async function main(config: SimulatorConfig, deps: SimulatorDeps = {}): Promise<SimulatorHandle> {
  const logger = deps.logger ?? silentLogger;
  const seed: KubeObject[] = [];
  for (const path of config.seeds) {
    try {
      seed.push(...(await loadManifests(path)));
    } catch (error) {
      throw new StartupError(COMPONENT, `--seed ${path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const { tls, clientCert } = await tlsFrom(config, logger);
  let server: ApiServerHandle;
  try {
    server = await startApiServer({
      host: config.address,
      port: config.port,
      tokens: config.tokens,
      ...(tls ? { tls } : {}),
      historySize: config.historySize,
      bookmarkIntervalMs: config.bookmarkIntervalMs,
      watchTimeoutMs: config.watchTimeoutMs,
      serviceCidrs: config.serviceCidrs,
      autoCreateNamespaces: config.autoCreateNamespaces,
      compression: config.compression,
      seed,
      logger,
    });
  } catch (error) {
    throw new StartupError(COMPONENT, (error as Error).message.split('\n')[0]!, { cause: error });
  }
  let manifestDir: ManifestDirSync | undefined;
  try {
    if (config.writeKubeconfig !== null) {
      const auth: KubeconfigAuth =
        config.tokens[0] !== undefined ? { token: config.tokens[0] } : clientCert !== undefined ? { clientCert } : {};
      await server.writeKubeconfig(config.writeKubeconfig, auth);
      logger.info('wrote kubeconfig', { path: config.writeKubeconfig });
    }
    if (config.watchDir !== null) {
      manifestDir = syncManifestDir(config.watchDir, server.objects, logger, config.watchDirIntervalMs);
      await manifestDir.sync();
      logger.info('syncing objects with manifest folder', { dir: config.watchDir });
    }
  } catch (error) {
    manifestDir?.stop();
    await server.close();
    throw new StartupError(COMPONENT, (error as Error).message.split('\n')[0]!, { cause: error });
  }
  return {
    server,
    url: server.url,
    manifestDir,
    async close() {
      manifestDir?.stop();
      await server.close();
    },
  };
}
