import type http from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Who made a request, as the authenticators decided. */
export interface Identity {
  readonly user: string;
  readonly groups: readonly string[];
  readonly method: 'token' | 'client-certificate' | 'anonymous';
}

/** A bearer token and the user it stands for. */
export interface TokenUser {
  token: string;
  user: string;
  groups?: string[];
}

export interface AuthOptions {
  /** Accepted bearer tokens (a bare string maps to user `token-user`). None and no client CA: no auth at all. */
  tokens: readonly (string | TokenUser)[];
  /** Client certificates are verified against a CA (TLS only). */
  clientCertificates: boolean;
}

export const ANONYMOUS: Identity = {
  user: 'system:anonymous',
  groups: ['system:unauthenticated'],
  method: 'anonymous',
};

/**
 * The union of the x509 and token authenticators, like the apiserver's: a verified client certificate or a
 * known bearer token authenticates; with neither configured every request is let in as anonymous.
 * Returns undefined for 401.
 */
export function createAuthenticator(options: AuthOptions): (req: http.IncomingMessage) => Identity | undefined {
  const tokens = new Map<string, Identity>();
  for (const entry of options.tokens) {
    const t = typeof entry === 'string' ? { token: entry, user: 'token-user' } : entry;
    tokens.set(t.token, { user: t.user, groups: [...(t.groups ?? []), 'system:authenticated'], method: 'token' });
  }
  const enabled = tokens.size > 0 || options.clientCertificates;
  return (req) => {
    if (options.clientCertificates) {
      const socket = req.socket as TLSSocket;
      if (socket.encrypted && socket.authorized) {
        const cert = socket.getPeerCertificate();
        if (cert.subject !== undefined) {
          const cn = Array.isArray(cert.subject.CN) ? cert.subject.CN[0] : cert.subject.CN;
          const o = cert.subject.O;
          const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
          return { user: cn ?? '', groups: [...groups, 'system:authenticated'], method: 'client-certificate' };
        }
      }
    }
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      const identity = match ? tokens.get(match[1]!) : undefined;
      if (identity) return identity;
      if (enabled) return undefined;
    }
    return enabled ? undefined : ANONYMOUS;
  };
}
