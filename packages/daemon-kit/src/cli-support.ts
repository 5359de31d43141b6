import { readFileSync } from 'node:fs';

/** A package's version from its package.json (pass `new URL('../package.json', import.meta.url)`). */
export function readPackageVersion(packageJson: URL): string {
  try {
    return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * The original Go programs parse flags with pflag and its WordSepNormalizeFunc, so `--dns_port` is `--dns-port`
 * for every flag; klog's `-v=2` shorthand takes `=` too (commander would read the value as `=2`). Arguments after
 * `--` are left alone.
 */
export function normalizePflagArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  let rest = false;
  for (const arg of argv) {
    if (!rest && arg.startsWith('-v=')) {
      out.push(`--v=${arg.slice(3)}`);
      continue;
    }
    if (rest || !arg.startsWith('--') || arg === '--') {
      if (arg === '--') rest = true;
      out.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    out.push(name.replace(/_/g, '-') + (eq < 0 ? '' : arg.slice(eq)));
  }
  return out;
}
