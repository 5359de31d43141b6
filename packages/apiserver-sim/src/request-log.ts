import { selectedName } from './selectors.js';
import type { RequestInfo } from './request-info.js';

/** One request as the simulator saw it: the HTTP shape and RBAC's attributes. */
export interface RequestRecord {
  readonly seq: number;
  readonly time: Date;
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly user: string;
  /** RBAC verb (get/list/watch/create/update/patch/delete/deletecollection), or the method for non-resource paths. */
  readonly verb: string;
  readonly isResourceRequest: boolean;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  /** RBAC's name: the URL's, or the `metadata.name=` of a list/watch field selector. */
  readonly name: string;
  /** The response status; undefined while the response has not started. */
  status: number | undefined;
}

/** What RBAC authorizes for a request: a resource rule or a non-resource URL. */
export interface RbacAttributes {
  verb: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  nonResourceURL?: string;
}

/** Matches records whose fields equal every given value. */
export interface RequestFilter {
  method?: string;
  path?: string;
  verb?: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  user?: string;
  status?: number;
}

/** The request log tests assert on: bounded entries, plus unbounded counts and the distinct RBAC attributes. */
export interface RequestLog {
  /** The kept entries (the newest `size`), oldest first, optionally filtered. */
  entries(filter?: RequestFilter): RequestRecord[];
  /** How many requests (ever, unless cleared) match; counts survive the entries' bound. */
  count(filter?: RequestFilter): number;
  /** Distinct RBAC attributes of every request since the start (or the last clear). */
  rbac(): RbacAttributes[];
  clear(): void;
}

function matches(record: RequestRecord, filter: RequestFilter | undefined): boolean {
  if (filter === undefined) return true;
  for (const [key, value] of Object.entries(filter)) {
    if (value !== undefined && record[key as keyof RequestFilter] !== value) return false;
  }
  return true;
}

export class RequestRecorder implements RequestLog {
  private readonly size: number;
  private records: RequestRecord[] = [];
  private seq = 0;
  private readonly distinct = new Map<string, RbacAttributes>();
  // Records that fell out of the kept entries, folded into counts per distinct shape so count() stays exact.
  private readonly dropped = new Map<string, { sample: RequestRecord; n: number }>();

  constructor(size: number) {
    this.size = Math.max(1, size);
  }

  record(info: RequestInfo, method: string, user: string, now: Date): RequestRecord {
    const name =
      info.name === '' && (info.verb === 'list' || info.verb === 'watch')
        ? (selectedNameFromQuery(info.query.get('fieldSelector')) ?? '')
        : info.name;
    const record: RequestRecord = {
      seq: ++this.seq,
      time: now,
      method,
      path: info.path,
      query: Object.fromEntries(info.query),
      user,
      verb: info.verb,
      isResourceRequest: info.isResourceRequest,
      apiGroup: info.apiGroup,
      apiVersion: info.apiVersion,
      resource: info.resource,
      subresource: info.subresource,
      namespace: info.namespace,
      name,
      status: undefined,
    };
    this.records.push(record);
    if (this.records.length >= this.size * 2) this.fold(this.records.length - this.size);
    const rbac = rbacOf(record);
    const key = JSON.stringify(rbac);
    if (!this.distinct.has(key)) this.distinct.set(key, rbac);
    return record;
  }

  entries(filter?: RequestFilter): RequestRecord[] {
    const kept = this.records.length > this.size ? this.records.slice(-this.size) : this.records;
    return kept.filter((r) => matches(r, filter));
  }

  count(filter?: RequestFilter): number {
    let n = 0;
    for (const { sample, n: count } of this.dropped.values()) if (matches(sample, filter)) n += count;
    for (const r of this.records) if (matches(r, filter)) n++;
    return n;
  }

  rbac(): RbacAttributes[] {
    return [...this.distinct.values()];
  }

  clear(): void {
    this.records = [];
    this.dropped.clear();
    this.distinct.clear();
  }

  private fold(howMany: number): void {
    for (const r of this.records.slice(0, howMany)) {
      const key = JSON.stringify([
        r.method,
        r.path,
        r.verb,
        r.apiGroup,
        r.resource,
        r.subresource,
        r.namespace,
        r.name,
        r.user,
        r.status,
      ]);
      const entry = this.dropped.get(key);
      if (entry) entry.n++;
      else this.dropped.set(key, { sample: r, n: 1 });
    }
    this.records = this.records.slice(howMany);
  }
}

function selectedNameFromQuery(fieldSelector: string | null): string | undefined {
  if (fieldSelector === null) return undefined;
  const parts = fieldSelector.split(',').map((p) => {
    const m = /^([^=!]+)(==|=|!=)(.*)$/.exec(p);
    return m ? { field: m[1]!.trim(), value: m[3]!, negate: m[2] === '!=' } : { field: '', value: '', negate: true };
  });
  return selectedName(parts);
}

export function rbacOf(record: RequestRecord): RbacAttributes {
  if (!record.isResourceRequest) return { verb: record.verb, nonResourceURL: record.path };
  const out: RbacAttributes = { verb: record.verb, apiGroup: record.apiGroup, resource: record.resource };
  if (record.subresource !== '') out.subresource = record.subresource;
  if (record.namespace !== '') out.namespace = record.namespace;
  if (record.name !== '') out.name = record.name;
  return out;
}
