import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway PKI for tests: a CA, a server certificate for localhost/127.0.0.1/::1, and a client certificate. */
export interface TestCertificates {
  /** The folder holding the PEM files (ca.crt, server.crt/key, client.crt/key). */
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  caCertPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  clientCertPath: string;
  clientKeyPath: string;
}

export interface TestCertificateOptions {
  /** Where to write; a new temporary folder by default. */
  dir?: string;
  /** The client certificate's CN (the user name) and O (its groups). */
  clientUser?: string;
  clientGroups?: string[];
}

/**
 * Generates the PKI with the `openssl` CLI (EC P-256, valid one day). Throws if openssl is missing: tests skip
 * first with `missingTool('openssl')`.
 */
export function generateTestCertificates(options: TestCertificateOptions = {}): TestCertificates {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'apiserver-sim-pki-'));
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...newKey,
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=apiserver-sim-ca',
  );
  writeFileSync(
    path('server.ext'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  const groups = (options.clientGroups ?? ['system:masters']).map((g) => `/O=${g}`).join('');
  writeFileSync(path('client.ext'), 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  for (const [name, subject] of [
    ['server', '/CN=apiserver-sim'],
    ['client', `/CN=${options.clientUser ?? 'sim-client'}${groups}`],
  ] as const) {
    openssl('req', ...newKey, '-keyout', path(`${name}.key`), '-out', path(`${name}.csr`), '-subj', subject);
    openssl(
      'x509',
      '-req',
      '-in',
      path(`${name}.csr`),
      '-CA',
      path('ca.crt'),
      '-CAkey',
      path('ca.key'),
      '-CAcreateserial',
      '-out',
      path(`${name}.crt`),
      '-days',
      '1',
      '-extfile',
      path(`${name}.ext`),
    );
  }
  const read = (name: string): string => readFileSync(path(name), 'utf8');
  return {
    dir,
    caCert: read('ca.crt'),
    caKey: read('ca.key'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    caCertPath: path('ca.crt'),
    serverCertPath: path('server.crt'),
    serverKeyPath: path('server.key'),
    clientCertPath: path('client.crt'),
    clientKeyPath: path('client.key'),
  };
}
