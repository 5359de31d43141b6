import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { dirname, resolve as resolvePath } from 'node:path';
import { parse as parseYaml } from 'yaml';
// A deep import: the package's index loads every generated API client and model (tens of MB we never use); what
// config.js imports of the generated code itself is kept out by client-node/slim-hooks.ts (bin.ts).
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import type { Cluster, User } from '@kubernetes/client-node';
import { StartupError } from '@kube-dns/daemon-kit';

/** client-node's authenticator shape (`addAuthenticator`; the interface itself is not exported). */
type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

export interface ApiserverAccess {
  /** `--kube-master-url` (already env-expanded): alone, or overriding the kubeconfig's server. */
  kubeMasterUrl: string | null;
  kubecfgFile: string | null;
  /** Prefix of the in-cluster service account path (tests mount it under a temporary folder). */
  serviceAccountPathPrefix?: string;
  env?: NodeJS.ProcessEnv;
  /** `kube-dns/<version> (<os>/<arch>)`, as the original sends. */
  userAgent: string;
  /** How often a token file is re-read (rotated tokens); tests shorten it. */
  tokenFileRereadMs?: number;
}

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * A KubeConfig that stamps our User-Agent on every request: lists (api-lists.ts) and watches (client-node's
 * Watch) both take their options from applyToFetchOptions.
 */
class KubeDnsKubeConfig extends KubeConfig {
  userAgent = 'kube-dns';

  override async applyToFetchOptions(opts: Parameters<KubeConfig['applyToFetchOptions']>[0]) {
    const init = await super.applyToFetchOptions(opts);
    (init.headers as { set(name: string, value: string): void }).set('User-Agent', this.userAgent);
    return init;
  }
}

const TOKEN_FILE_PROVIDER = 'kube-dns-token-file';
const TOKEN_FILE_REREAD_MS = 60_000;

function providerOf(user: User): { name?: string; config?: { path?: string } } | undefined {
  return user.authProvider as { name?: string; config?: { path?: string } } | undefined;
}

/**
 * A bearer token file, re-read every minute (tokens are rotated, as client-go's CachedFileTokenSource does) and
 * trimmed: client-node's own FileAuth sends a trailing newline as part of the header, which node-fetch rejects;
 * client-go trims.
 */
class TokenFileAuth implements Authenticator {
  private token = '';
  private readAt = Number.NEGATIVE_INFINITY;
  private readonly rereadMs: number;

  constructor(rereadMs: number) {
    this.rereadMs = rereadMs;
  }

  isAuthProvider(user: User): boolean {
    return providerOf(user)?.name === TOKEN_FILE_PROVIDER;
  }

  applyAuthentication(user: User, opts: https.RequestOptions): Promise<void> {
    const path = providerOf(user)?.config?.path ?? '';
    if (Date.now() - this.readAt >= this.rereadMs) {
      this.token = readFileSync(path, 'utf8').trim();
      this.readAt = Date.now();
    }
    opts.headers = { ...opts.headers, Authorization: `Bearer ${this.token}` };
    return Promise.resolve();
  }
}

/** The user `name` authenticated by the token in `path` (read by TokenFileAuth), its other fields kept. */
function useTokenFile(kc: KubeConfig, name: string, path: string, rereadMs: number): void {
  kc.addAuthenticator(new TokenFileAuth(rereadMs));
  kc.loadFromOptions({
    clusters: kc.getClusters(),
    users: kc.getUsers().map((user) => {
      if (user.name !== name) return user;
      // A static token would be sent after the authenticator's header and win over the file.
      const { token: _static, ...rest } = user;
      // Not `tokenFile`: client-node's FileAuth claims any provider with that key, whatever its name.
      return { ...rest, authProvider: { name: TOKEN_FILE_PROVIDER, config: { path } } };
    }),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
}

/**
 * The token file of kubeconfig user `name`: client-go's `tokenFile` (client-node knows only its own `token-file`
 * spelling, read once), relative paths resolved against the kubeconfig's folder as client-go does; null when the
 * user has none. When a static `token` is given too, the file wins, as in client-go (its last read takes
 * precedence over the token).
 */
function kubeconfigTokenFile(kubecfgFile: string, name: string): string | null {
  let document: unknown;
  try {
    document = parseYaml(readFileSync(kubecfgFile, 'utf8'));
  } catch {
    return null; // client-node parsed it already; a difference of YAML dialects only loses the token file
  }
  const users = (document as { users?: unknown } | null)?.users;
  if (!Array.isArray(users)) return null;
  for (const entry of users as Array<{ name?: unknown; user?: Record<string, unknown> } | null>) {
    if (entry?.name !== name) continue;
    const file = entry.user?.['tokenFile'] ?? entry.user?.['token-file'];
    return typeof file === 'string' && file !== '' ? resolvePath(dirname(kubecfgFile), file) : null;
  }
  return null;
}

/** Tokens read from kubeconfig files (`token`, `token-file`) lose surrounding whitespace, as in client-go. */
function trimTokens(kc: KubeConfig): void {
  kc.loadFromOptions({
    clusters: kc.getClusters(),
    users: kc.getUsers().map((user) => (user.token ? { ...user, token: user.token.trim() } : user)),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
}

function fail(message: string): never {
  throw new StartupError('kube-dns', message);
}

/**
 * client-go's rules (BuildConfigFromFlags / InClusterConfig): a kubeconfig file, optionally with its server
 * replaced by `--kube-master-url`; the master URL alone (no credentials); or neither → the service account.
 * Whichever it is, the server URL is set in one place (useServer).
 */
export function loadKubeConfig(access: ApiserverAccess): KubeConfig {
  const kc = new KubeDnsKubeConfig();
  kc.userAgent = access.userAgent;
  useServer(kc, loadClusterAndUser(kc, access));
  return kc;
}

/** Loads the cluster and user `access` names into `kc`; returns the server URL to use. */
function loadClusterAndUser(kc: KubeConfig, access: ApiserverAccess): string {
  if (access.kubecfgFile !== null) {
    try {
      kc.loadFromFile(access.kubecfgFile);
    } catch (error) {
      fail(`--kubecfg-file ${access.kubecfgFile}: ${firstLine(error)}`);
    }
    const context = kc.getContextObject(kc.getCurrentContext());
    if (!context) fail(`--kubecfg-file ${access.kubecfgFile}: no current-context`);
    const cluster = kc.getCurrentCluster();
    if (!cluster) fail(`--kubecfg-file ${access.kubecfgFile}: context "${context.name}" names no known cluster`);
    if (!kc.getCurrentUser() && context.user) {
      fail(`--kubecfg-file ${access.kubecfgFile}: context "${context.name}" names no known user`);
    }
    const server = access.kubeMasterUrl ?? cluster.server;
    if (!server) fail(`--kubecfg-file ${access.kubecfgFile}: cluster "${cluster.name}" has no server`);
    trimTokens(kc);
    const user = kc.getCurrentUser();
    const tokenFile = user ? kubeconfigTokenFile(access.kubecfgFile, user.name) : null;
    if (user && tokenFile !== null) {
      try {
        readFileSync(tokenFile);
      } catch (error) {
        fail(`--kubecfg-file ${access.kubecfgFile}: user "${user.name}": tokenFile ${tokenFile}: ${firstLine(error)}`);
      }
      useTokenFile(kc, user.name, tokenFile, access.tokenFileRereadMs ?? TOKEN_FILE_REREAD_MS);
    }
    return server;
  }
  if (access.kubeMasterUrl !== null) {
    kc.loadFromClusterAndUser(
      { name: 'kube-master-url', server: access.kubeMasterUrl, skipTLSVerify: false },
      { name: 'kube-master-url' },
    );
    return access.kubeMasterUrl;
  }
  const env = access.env ?? process.env;
  const prefix = access.serviceAccountPathPrefix ?? '';
  const tokenPath = `${prefix}${SERVICE_ACCOUNT_DIR}/token`;
  if (!env['KUBERNETES_SERVICE_HOST'] || !env['KUBERNETES_SERVICE_PORT']) {
    fail(
      'no --kube-master-url or --kubecfg-file, and not in a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset)',
    );
  }
  if (!existsSync(tokenPath)) fail(`in-cluster config: no service account token at ${tokenPath}`);
  withEnv(env, () => kc.loadFromCluster(prefix));
  const user = kc.getCurrentUser();
  if (user) useTokenFile(kc, user.name, tokenPath, access.tokenFileRereadMs ?? TOKEN_FILE_REREAD_MS);
  // client-go's InClusterConfig is always https://host:port; client-node guesses http for ports 80, 8080 and 8001.
  const server = kc.getCurrentCluster()?.server ?? '';
  return server.startsWith('http://') ? `https://${server.slice(7)}` : server;
}

/**
 * Sets the current cluster's server, the one place it is set whatever the source:
 * - without trailing slashes: paths are appended to it (`server + '/api/v1/…'` in client-node's watch and our
 *   lists), and `//api/…` is not served by the apiserver; client-go joins them cleanly;
 * - insecure-skip-tls-verify for `http://`: client-node refuses plain-HTTP servers without it (it means nothing
 *   without TLS), and kube-dns has always allowed a plain-HTTP master URL.
 * Clusters are read-only in KubeConfig's API: the list is rebuilt with the current one changed.
 */
function useServer(kc: KubeConfig, server: string): void {
  const cluster = kc.getCurrentCluster();
  if (!cluster) return;
  const url = server.replace(/\/+$/, '');
  const changed: Cluster = {
    ...cluster,
    server: url,
    skipTLSVerify: cluster.skipTLSVerify || url.toLowerCase().startsWith('http:'),
  };
  kc.loadFromOptions({
    clusters: kc.getClusters().map((c) => (c.name === cluster.name ? changed : c)),
    users: kc.getUsers(),
    contexts: kc.getContexts(),
    currentContext: kc.getCurrentContext(),
  });
}

/** loadFromCluster reads process.env; tests pass their own environment. */
function withEnv(env: NodeJS.ProcessEnv, load: () => void): void {
  if (env === process.env) {
    load();
    return;
  }
  const saved = { host: process.env['KUBERNETES_SERVICE_HOST'], port: process.env['KUBERNETES_SERVICE_PORT'] };
  process.env['KUBERNETES_SERVICE_HOST'] = env['KUBERNETES_SERVICE_HOST'];
  process.env['KUBERNETES_SERVICE_PORT'] = env['KUBERNETES_SERVICE_PORT'];
  try {
    load();
  } finally {
    restore('KUBERNETES_SERVICE_HOST', saved.host);
    restore('KUBERNETES_SERVICE_PORT', saved.port);
  }
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** The server a KubeConfig talks to, without credentials: for logs. */
export function describeServer(kc: KubeConfig): string {
  const server = kc.getCurrentCluster()?.server ?? '';
  try {
    const url = new URL(server);
    url.username = '';
    url.password = '';
    return url.origin + url.pathname.replace(/\/$/, '');
  } catch {
    return server;
  }
}
