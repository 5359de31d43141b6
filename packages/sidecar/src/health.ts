import type { HttpReply } from '@kube-dns/daemon-kit';
import type { ProbeStatus } from './dns-probe.js';

/**
 * `/healthcheck/<label>`: 200 when the last probe succeeded, 503 otherwise, with the original's JSON
 * body byte for byte (Go's encoding/json: field order, HTML-safe escaping, float formatting).
 */
export function healthcheckReply(status: ProbeStatus): HttpReply {
  const body =
    `{"IsOk":${status.ok},"LatencySeconds":${goFloat(status.ok ? status.latencySeconds : 0)},` +
    `"Err":${goJsonString(status.ok ? '' : (status.error ?? ''))}}`;
  return { status: status.ok ? 200 : 503, body, contentType: 'application/json' };
}

/** `/healthz`: always 200 while the process serves HTTP, `ok (<time>)` as the original. */
export function healthzReply(nowMs: number): HttpReply {
  return { status: 200, body: `ok (${new Date(nowMs).toISOString()})\n` };
}

/** encoding/json escapes <, >, & and the JavaScript line separators; JSON.stringify does not. */
export function goJsonString(text: string): string {
  return JSON.stringify(text).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * encoding/json's float64 and JavaScript's number-to-string agree: plain decimals, exponent form below
 * 1e-6 and from 1e21, with the same trimmed exponent (`1e-7`).
 */
export function goFloat(value: number): string {
  return String(value);
}
