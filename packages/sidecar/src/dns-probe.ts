import dnsPacket from 'dns-packet';
import type { RecordType } from 'dns-packet';
import { exchangeUdp, randomQueryId, walkRecords, type Logger } from '@kube-dns/daemon-kit';
import type { Clock } from './clock.js';
import type { ProbeMetrics } from './metrics.js';
import type { ProbeOption } from './probe-option.js';
import type { HostResolver } from './resolve-host.js';

/** The original's error before the first probe has finished. */
export const WAITING_FOR_FIRST_PROBE = 'waiting for first probe';
/** How many results the status page keeps per probe. */
export const PROBE_HISTORY_SIZE = 60;

export interface ProbeResult {
  /** Epoch milliseconds when the probe finished. */
  at: number;
  ok: boolean;
  /** Round trip of a successful probe; 0 for a failed one (as the original stores it). */
  latencyMs: number;
  error: string | null;
}

/** What `/healthcheck/<label>` and the status page read: the last result decides. */
export interface ProbeStatus {
  option: ProbeOption;
  ok: boolean;
  latencySeconds: number;
  /** null when ok; `waiting for first probe` before the first result. */
  error: string | null;
  probes: number;
  failures: number;
  /** Oldest first, at most PROBE_HISTORY_SIZE. */
  history: readonly ProbeResult[];
}

export interface DnsProbeDeps {
  clock: Clock;
  /** [0, 1): the random share of the interval before the first probe. */
  random: () => number;
  resolveHost: HostResolver;
  timeoutMs: number;
  metrics: ProbeMetrics;
  logger: Logger;
}

export interface DnsProbe {
  readonly label: string;
  /** Schedules the first probe after a random delay in [0, interval), then one per interval. */
  start(): void;
  /** One probe now, outside the schedule (tests). */
  runOnce(): Promise<ProbeResult>;
  status(): ProbeStatus;
  /** Cancels the schedule and any probe in flight. */
  stop(): void;
}

/**
 * A periodic DNS probe (`pkg/sidecar/dnsprobe.go`): one UDP query (RD, class IN) at a time; it fails on a
 * timeout, a transport error, or an answer with no records (so NXDOMAIN, NODATA and REFUSED fail too).
 */
export function createDnsProbe(option: ProbeOption, deps: DnsProbeDeps): DnsProbe {
  const { clock, metrics, logger } = deps;
  const log = logger.child({ probe: option.label });
  const query = dnsPacket.encode({
    type: 'query',
    id: 0,
    flags: dnsPacket.RECURSION_DESIRED,
    // dns-packet encodes ANY (255) though its types leave it out.
    questions: [{ name: option.name, type: option.type as RecordType, class: 'IN' }],
  });
  const history: ProbeResult[] = [];
  const abort = new AbortController();
  let current: ProbeResult | null = null;
  let probes = 0;
  let failures = 0;
  let cancelTimer: (() => void) | null = null;
  let stopped = false;

  async function exchangeOnce(): Promise<{ latencyMs: number; error: string | null }> {
    let address: string;
    try {
      address = await deps.resolveHost(option.host);
    } catch (error) {
      return { latencyMs: 0, error: `lookup ${option.host}: ${messageOf(error)}` };
    }
    const message = Buffer.from(query);
    message.writeUInt16BE(randomQueryId(), 0);
    const sent = clock.now();
    let response: Buffer;
    try {
      response = await exchangeUdp({ host: address, port: option.port }, message, {
        timeoutMs: deps.timeoutMs,
        signal: abort.signal,
      });
    } catch (error) {
      return { latencyMs: 0, error: messageOf(error) };
    }
    const latencyMs = clock.now() - sent;
    const walked = walkRecords(response);
    if (walked === null) return { latencyMs: 0, error: `malformed response from ${option.server}` };
    if (!walked.records.some((record) => record.section === 'answer')) {
      return { latencyMs: 0, error: `no RRs for domain ${JSON.stringify(option.name)}` };
    }
    return { latencyMs, error: null };
  }

  function record(outcome: { latencyMs: number; error: string | null }): ProbeResult {
    const result: ProbeResult = {
      at: clock.wallNow(),
      ok: outcome.error === null,
      latencyMs: outcome.error === null ? outcome.latencyMs : 0,
      error: outcome.error,
    };
    const previous = current;
    current = result;
    probes++;
    history.push(result);
    if (history.length > PROBE_HISTORY_SIZE) history.shift();
    if (result.ok) {
      metrics.latency.observe(result.latencyMs);
      if (previous === null || !previous.ok) log.info('probe ok', { latencyMs: round(result.latencyMs) });
    } else {
      failures++;
      metrics.errors.inc();
      if (previous === null || previous.ok) log.warn('probe failing', { error: result.error });
      else log.debug('probe still failing', { error: result.error });
    }
    return result;
  }

  async function runOnce(): Promise<ProbeResult> {
    const outcome = await exchangeOnce();
    if (stopped) return { at: clock.wallNow(), ok: false, latencyMs: 0, error: 'stopped' };
    return record(outcome);
  }

  function tick(): void {
    cancelTimer = null;
    const started = clock.now();
    void runOnce().then(() => {
      if (stopped) return;
      // The original sleeps `interval - latency`: one probe per interval, never two at once.
      const wait = Math.max(0, option.intervalMs - (clock.now() - started));
      cancelTimer = clock.schedule(wait, tick);
    });
  }

  return {
    label: option.label,
    start() {
      if (stopped || cancelTimer !== null) return;
      // Stagger the probes so they are not all sent at the same moment.
      const initialDelay = Math.floor(Math.min(Math.max(deps.random(), 0), 1) * option.intervalMs);
      cancelTimer = clock.schedule(Math.min(initialDelay, option.intervalMs - 1), tick);
    },
    runOnce,
    status(): ProbeStatus {
      return {
        option,
        ok: current?.ok ?? false,
        latencySeconds: current?.ok ? Math.round(current.latencyMs * 1e6) / 1e9 : 0,
        error: current === null ? WAITING_FOR_FIRST_PROBE : current.error,
        probes,
        failures,
        history: [...history],
      };
    },
    stop() {
      stopped = true;
      cancelTimer?.();
      cancelTimer = null;
      abort.abort();
    },
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
