/**
 * Editing a container's argument list flag by flag, for flags that take a value. Recognised forms:
 * `--name=value`, `--name value`, and for a short letter `-x value` and `-xvalue`. pflag programs (kube-dns,
 * sidecar) also accept `_` for `-` in long names, so names are compared that way. What the editing misses
 * (e.g. getopt abbreviations) the launcher catches afterwards by parsing the result with the program's own CLI.
 */
export interface ValueFlag {
  /** Long name without dashes: `dns-port`. */
  long: string;
  /** Short letter without the dash: `p`. */
  short?: string;
}

interface Occurrence {
  /** Index of the flag's argument and how many arguments it spans (1 or 2). */
  index: number;
  span: number;
  value: string;
}

const normalize = (name: string): string => name.replaceAll('_', '-');

function occurrences(args: readonly string[], flag: ValueFlag): Occurrence[] {
  const found: Occurrence[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = normalize(eq < 0 ? arg.slice(2) : arg.slice(2, eq));
      if (name !== flag.long) continue;
      if (eq >= 0) found.push({ index: i, span: 1, value: arg.slice(eq + 1) });
      else if (i + 1 < args.length) found.push({ index: i, span: 2, value: args[++i]! });
    } else if (flag.short !== undefined && arg.startsWith(`-${flag.short}`)) {
      if (arg.length > 2) found.push({ index: i, span: 1, value: arg.slice(2) });
      else if (i + 1 < args.length) found.push({ index: i, span: 2, value: args[++i]! });
    }
  }
  return found;
}

/** Every value given to the flag, in order. */
export function flagValues(args: readonly string[], flag: ValueFlag): string[] {
  return occurrences(args, flag).map((o) => o.value);
}

/** The arguments without any occurrence of the flag. */
export function withoutFlag(args: readonly string[], flag: ValueFlag): string[] {
  const skip = new Set<number>();
  for (const o of occurrences(args, flag)) for (let k = 0; k < o.span; k++) skip.add(o.index + k);
  return args.filter((_, i) => !skip.has(i));
}

/** The flag set to exactly this value: every earlier occurrence removed, `--long=value` appended. */
export function withFlag(args: readonly string[], flag: ValueFlag, value: string): string[] {
  return [...withoutFlag(args, flag), `--${flag.long}=${value}`];
}

/** Each value of the flag replaced by `map(value)`, in place, written `--long=value`. */
export function mapFlagValues(args: readonly string[], flag: ValueFlag, map: (value: string) => string): string[] {
  const out = [...args];
  const found = occurrences(args, flag);
  // Back to front so that indices stay valid when a two-argument form becomes one argument.
  for (const o of found.reverse()) out.splice(o.index, o.span, `--${flag.long}=${map(o.value)}`);
  return out;
}
