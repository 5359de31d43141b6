import type { ServerSummary } from './measure.js';
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

/** Where a pair's rows hold a target, and how the CPU rows are named (default `CPU`). */
export interface PairRowOptions {
  qps?: Target;
  cpu?: Target;
  p99?: Target;
  cpuLabel?: string;
}

/** The five rows of every comparison with a peer: q/s, CPU at full speed and at `rate`, p50 and p99 at `rate`. */
export function pairRows(
  suite: string,
  ours: ServerSummary,
  peer: ServerSummary,
  rate: number,
  peerName: string,
  options: PairRowOptions = {},
): Row[] {
  const cpu = options.cpuLabel ?? 'CPU';
  return [
    row(suite, 'answered q/s, full speed', 'q/s', ours.qpsFull, peer.qpsFull, peerName, options.qps),
    row(
      suite,
      `${cpu} per 100k answers, full speed`,
      's',
      ours.cpuPer100kFull,
      peer.cpuPer100kFull,
      peerName,
      options.cpu,
    ),
    row(
      suite,
      `${cpu} per 100k answers, ${rate} q/s`,
      's',
      ours.cpuPer100kFixed,
      peer.cpuPer100kFixed,
      peerName,
      options.cpu,
    ),
    row(suite, `p50 latency at ${rate} q/s`, 'ms', ours.p50MsFixed, peer.p50MsFixed, peerName),
    row(suite, `p99 latency at ${rate} q/s`, 'ms', ours.p99MsFixed, peer.p99MsFixed, peerName, options.p99),
  ];
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
