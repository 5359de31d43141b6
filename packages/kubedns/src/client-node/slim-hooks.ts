/**
 * ESM resolve hooks (`module.register`, set up by bin.ts) that keep @kubernetes/client-node's generated API
 * clients and models out of the process. client-node's `config.js` (KubeConfig) imports `gen/index.js` for two
 * small exports, and `cache.js` (ListWatch) imports the ObjectSerializer for one identity call; each import loads
 * every generated API and model: ~35 MiB of RSS that kube-dns never uses (it lists and watches with its own
 * slim code). The two imports are answered by modules that export the same things from their own small files.
 *
 * Anything else, and the same specifiers from any other module, resolve as usual; so does everything if
 * client-node's layout changes (only memory is at stake, never behaviour).
 */

export interface ResolveContext {
  parentURL?: string;
}

export interface ResolveResult {
  url: string;
  shortCircuit?: boolean;
  format?: string | null;
}

type NextResolve = (specifier: string, context: ResolveContext) => ResolveResult | Promise<ResolveResult>;

const CLIENT_NODE_DIST = '/node_modules/@kubernetes/client-node/dist/';

/** `<importing file in client-node/dist>|<specifier>` → the module to load instead. */
export const replacements: Readonly<Record<string, string>> = {
  'config.js|./gen/index.js': new URL('./gen-config-exports.js', import.meta.url).href,
  'cache.js|./serializer.js': new URL('./string-serializer.js', import.meta.url).href,
};

/** The replacement for `specifier` imported by `parentURL`, or null to resolve it as usual. */
export function replacementFor(specifier: string, parentURL: string | undefined): string | null {
  if (parentURL === undefined) return null;
  const at = parentURL.lastIndexOf(CLIENT_NODE_DIST);
  if (at < 0) return null;
  const file = parentURL.slice(at + CLIENT_NODE_DIST.length);
  return replacements[`${file}|${specifier}`] ?? null;
}

export async function resolve(specifier: string, context: ResolveContext, next: NextResolve): Promise<ResolveResult> {
  const replacement = replacementFor(specifier, context.parentURL);
  if (replacement !== null) return { url: replacement, shortCircuit: true };
  return next(specifier, context);
}
