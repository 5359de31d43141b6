import type { RequestInfo } from './request-info.js';

export interface FailRequestsOptions {
  /** 500 (InternalError) by default; 503 answers ServiceUnavailable; any 4xx/5xx is allowed. */
  status?: number;
  /** Fail only the next `count` matching requests; omitted: all of them until cleared. */
  count?: number;
  /** Only these RBAC verbs (`list`, `watch`, …); omitted: any. */
  verbs?: string[];
  /** Only these resources (`services`, `endpointslices`, …); omitted: any, discovery included. */
  resources?: string[];
}

/** A snapshot of the switches, as `GET /_sim/faults` shows it. */
export interface FaultState {
  down: boolean;
  failRequests: { status: number; remaining: number | 'all'; verbs?: string[]; resources?: string[] } | null;
  slowListsMs: number;
  rejectAuth: boolean;
}

export interface DownOptions {
  /** Also forget the event history, as a restarted apiserver's empty watch cache does: resumes get 410. */
  expireHistory?: boolean;
}

/** The fault switches, programmatic twin of the `/_sim/faults/*` admin API. */
export interface FaultSwitches {
  /** Destroys every open watch's socket mid-stream (the client sees a premature close). Returns how many. */
  dropWatches(): number;
  /** Ends every open watch cleanly, as a server-side timeout does (with a last bookmark when asked for). */
  endWatches(): number;
  /** Closes the listener and every connection; new connections are refused until comeBack(). */
  goDown(): Promise<void>;
  /** Listens again on the same port, with the same state. */
  comeBack(options?: DownOptions): Promise<void>;
  /** goDown(), wait `downMs`, comeBack(). */
  restart(downMs?: number, options?: DownOptions): Promise<void>;
  /** Answers matching requests with an error Status instead of serving them. */
  failRequests(options?: FailRequestsOptions): void;
  /** Delays every list (not watches) by `ms` before reading the state; 0 turns it off. */
  slowLists(ms: number): void;
  /** Forgets the event history: the next watch resume from any older version gets 410 Expired. Returns the new version. */
  expireHistory(): string;
  /** 401 for every request (any token or certificate) until called with false. The admin API is exempt. */
  rejectAuth(on?: boolean): void;
  /** Turns off failRequests, slowLists and rejectAuth (not down: use comeBack). */
  clear(): void;
  state(): FaultState;
}

/** The request-level switches the HTTP handler consults. */
export class RequestFaults {
  private fail: (FailRequestsOptions & { status: number; remaining: number | 'all' }) | null = null;
  slowListsMs = 0;
  rejectAuth = false;

  setFail(options: FailRequestsOptions): void {
    const status = options.status ?? 500;
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError('status must be 4xx or 5xx');
    const count = options.count;
    if (count !== undefined && (!Number.isInteger(count) || count < 0)) throw new RangeError('count must be >= 0');
    this.fail = { ...options, status, remaining: count ?? 'all' };
    if (count === 0) this.fail = null;
  }

  clearFail(): void {
    this.fail = null;
  }

  /** The status to fail this request with, consuming one of a counted failure. */
  failureFor(info: RequestInfo): number | undefined {
    const fail = this.fail;
    if (fail === null) return undefined;
    if (fail.verbs !== undefined && !fail.verbs.includes(info.verb)) return undefined;
    if (fail.resources !== undefined && !fail.resources.includes(info.resource)) return undefined;
    if (fail.remaining !== 'all') {
      fail.remaining--;
      if (fail.remaining <= 0) this.fail = null;
    }
    return fail.status;
  }

  state(down: boolean): FaultState {
    const fail = this.fail;
    return {
      down,
      failRequests:
        fail === null
          ? null
          : {
              status: fail.status,
              remaining: fail.remaining,
              ...(fail.verbs ? { verbs: fail.verbs } : {}),
              ...(fail.resources ? { resources: fail.resources } : {}),
            },
      slowListsMs: this.slowListsMs,
      rejectAuth: this.rejectAuth,
    };
  }
}
