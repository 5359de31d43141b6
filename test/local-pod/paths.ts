import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs from test/build/local-pod/). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const manifestFile = join(repoRoot, 'manifests', 'kube-dns.yaml');
export const examplesDir = join(repoRoot, 'examples', 'cluster');
export const launcherScript = join(repoRoot, 'scripts', 'local-pod.mjs');
