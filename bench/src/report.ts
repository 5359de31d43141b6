import { round } from './stats.js';

/** A target of the issue: a bound on the ratio ours/peer, or on our own figure. */
export interface Target {
  text: string;
  check: (row: { ours: number; ratio: number | null }) => boolean;
}

export const ratioAtMost = (limit: number): Target => ({
  text: `ratio ≤ ${limit}`,
  check: ({ ratio }) => ratio !== null && ratio <= limit,
});
export const ratioAtLeast = (limit: number): Target => ({
  text: `ratio ≥ ${limit}`,
  check: ({ ratio }) => ratio !== null && ratio >= limit,
});
export const atMost = (limit: number, unit: string): Target => ({
  text: `≤ ${limit} ${unit}`,
  check: ({ ours }) => ours <= limit,
});

/** One line of the table. */
export interface Row {
  suite: string;
  figure: string;
  unit: string;
  ours: number;
  /** The peer's figure (dnsmasq, knotd, or our own steady state), null when there is none. */
  peer: number | null;
  peerName: string | null;
  ratio: number | null;
  target: string | null;
  holds: boolean | null;
}

export function row(
  suite: string,
  figure: string,
  unit: string,
  ours: number,
  peer: number | null = null,
  peerName: string | null = null,
  target: Target | null = null,
): Row {
  const ratio = peer === null || peer === 0 || !Number.isFinite(peer) ? null : ours / peer;
  return {
    suite,
    figure,
    unit,
    ours: round(ours, 4),
    peer: peer === null ? null : round(peer, 4),
    peerName,
    ratio: ratio === null ? null : round(ratio, 3),
    target: target?.text ?? null,
    holds: target === null ? null : Number.isFinite(ours) && target.check({ ours, ratio }),
  };
}

function format(value: number | null): string {
  if (value === null) return '';
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(abs >= 1 ? 2 : 3);
}

/** The result table as Markdown (what the README shows). */
export function markdownTable(rows: readonly Row[]): string {
  const lines = ['| benchmark | figure | ours | peer | ours/peer | target | holds |', '|---|---|--:|--:|--:|---|:-:|'];
  for (const r of rows) {
    const peer = r.peer === null ? '' : `${format(r.peer)}${r.peerName ? ` (${r.peerName})` : ''}`;
    const holds = r.holds === null ? '' : r.holds ? 'yes' : '**no**';
    lines.push(
      `| ${r.suite} | ${r.figure} (${r.unit}) | ${format(r.ours)} | ${peer} | ${r.ratio === null ? '' : r.ratio.toFixed(2)} | ${r.target ?? ''} | ${holds} |`,
    );
  }
  return lines.join('\n');
}
