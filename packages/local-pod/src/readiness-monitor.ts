/** One HTTP status endpoint of the Pod, as the kubelet would probe it. */
export interface StatusCheck {
  /** The process serving it. */
  process: string;
  /** What it says: `/readiness`, `/healthcheck/kubedns`. */
  name: string;
  url: string;
}

export interface CheckState {
  /** HTTP status, or null while nothing answers. */
  status: number | null;
  /** `ok`, the sidecar's `Err`, or why nothing answered. */
  detail: string;
}

export type Fetcher = (url: string, timeoutMs: number) => Promise<{ status: number; body: string }>;

export interface ReadinessMonitor {
  /** Every check's last state (null before the first answer). */
  states(): Map<StatusCheck, CheckState | null>;
  allOk(): boolean;
  /** Polls every check once now (the monitor also does so every interval). */
  poll(): Promise<void>;
  stop(): void;
}

export const defaultFetcher: Fetcher = async (url, timeoutMs) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
};

/** The reason a probe failed, from the sidecar's `{"IsOk":false,"Err":"…"}` or the body's first line. */
function describeBody(status: number, body: string): string {
  if (status === 200) return 'ok';
  try {
    const parsed = JSON.parse(body) as { Err?: unknown };
    if (typeof parsed.Err === 'string' && parsed.Err !== '') return parsed.Err;
  } catch {
    // not JSON
  }
  return body.split('\n')[0]!.trim().slice(0, 200) || `HTTP ${status}`;
}

/**
 * Polls the Pod's status endpoints and reports each change of status (a new HTTP status, or answering at all):
 * startup (503 → 200), a probe failing, readiness dropping at shutdown.
 */
export function startReadinessMonitor(options: {
  checks: readonly StatusCheck[];
  intervalMs: number;
  onChange: (check: StatusCheck, state: CheckState, previous: CheckState | null) => void;
  fetcher?: Fetcher;
}): ReadinessMonitor {
  const fetcher = options.fetcher ?? defaultFetcher;
  const states = new Map<StatusCheck, CheckState | null>(options.checks.map((check) => [check, null]));
  const timeoutMs = Math.max(200, Math.min(2000, options.intervalMs));
  let stopped = false;
  let inFlight: Promise<void> | null = null;

  const probe = async (check: StatusCheck): Promise<void> => {
    let state: CheckState;
    try {
      const { status, body } = await fetcher(check.url, timeoutMs);
      state = { status, detail: describeBody(status, body) };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      state = { status: null, detail: cause === 'ECONNREFUSED' ? 'not listening' : String(cause ?? error) };
    }
    if (stopped) return;
    const previous = states.get(check) ?? null;
    states.set(check, state);
    const changed = previous === null ? state.status !== null : previous.status !== state.status;
    if (changed) options.onChange(check, state, previous);
  };
  const poll = (): Promise<void> => {
    inFlight ??= Promise.all(options.checks.map(probe)).then(() => {
      inFlight = null;
    });
    return inFlight;
  };
  const timer = setInterval(() => void poll(), options.intervalMs);
  void poll();
  return {
    states: () => new Map(states),
    allOk: () => [...states.values()].every((state) => state?.status === 200),
    poll,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
