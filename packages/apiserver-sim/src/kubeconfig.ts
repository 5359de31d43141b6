import { stringify } from 'yaml';

/** How the kubeconfig's user authenticates: a bearer token, a client certificate (PEM), or nothing. */
export type KubeconfigAuth = { token: string } | { clientCert: { cert: string; key: string } } | Record<string, never>;

export interface KubeconfigOptions {
  /** The CA that signed the server's certificate (PEM); for https without it the cluster skips verification. */
  caCert?: string;
  /** Overrides: skip TLS verification even for https. http:// always gets it (client-node refuses http otherwise). */
  insecureSkipTlsVerify?: boolean;
  namespace?: string;
  /** Names of the cluster, user and context entries. */
  name?: string;
}

const b64 = (pem: string): string => Buffer.from(pem).toString('base64');

/**
 * A kubeconfig (YAML text) pointing at `server`. @kubernetes/client-node 1.4 refuses an http:// server unless
 * the cluster has `insecure-skip-tls-verify: true`, so plain-HTTP configs always carry it.
 */
export function kubeconfigYaml(server: string, auth: KubeconfigAuth, options: KubeconfigOptions = {}): string {
  const name = options.name ?? 'apiserver-sim';
  const cluster: Record<string, unknown> = { server };
  const https = server.startsWith('https:');
  if (https && options.caCert !== undefined && options.insecureSkipTlsVerify !== true) {
    cluster['certificate-authority-data'] = b64(options.caCert);
  } else if (!https || options.insecureSkipTlsVerify === true || options.caCert === undefined) {
    cluster['insecure-skip-tls-verify'] = true;
  }
  const user: Record<string, unknown> = {};
  if ('token' in auth) user['token'] = auth.token;
  if ('clientCert' in auth) {
    user['client-certificate-data'] = b64(auth.clientCert.cert);
    user['client-key-data'] = b64(auth.clientCert.key);
  }
  const context: Record<string, unknown> = { cluster: name, user: name };
  if (options.namespace !== undefined) context['namespace'] = options.namespace;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster }],
    users: [{ name, user }],
    contexts: [{ name, context }],
    'current-context': name,
    preferences: {},
  });
}
