const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** `500ms`, `1s`, `1.5s`, `2m`, or a bare number of seconds → milliseconds; null when it is none of those. */
export function parseDuration(text: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) return null;
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 's']!);
}

/** Milliseconds as the programs' flags spell durations (`1500ms`, `0s`). */
export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
