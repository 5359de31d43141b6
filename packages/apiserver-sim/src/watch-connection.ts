import type http from 'node:http';
import type { StatusObject } from './api-error.js';
import type { StoreEvent, WatchEventType } from './event-history.js';
import type { KubeObject } from './kube-object.js';
import { apiVersionOf, type ResourceType } from './resources.js';
import { matchesFields, matchesLabels, type FieldSelector, type LabelSelector } from './selectors.js';
import { fullJson, storedObject, type StoredObject } from './stored-object.js';

/** Which objects a watch (or list) sees. */
export interface ObjectFilter {
  /** '' or undefined: all namespaces. */
  readonly namespace: string | undefined;
  readonly labels: LabelSelector;
  readonly fields: FieldSelector;
}

export function matchesFilter(filter: ObjectFilter, stored: StoredObject): boolean {
  if (filter.namespace !== undefined && filter.namespace !== '' && stored.namespace !== filter.namespace) return false;
  if (filter.labels.length > 0 && !matchesLabels(filter.labels, stored.object.metadata.labels)) return false;
  if (filter.fields.length > 0 && !matchesFields(filter.fields, stored.object)) return false;
  return true;
}

export function eventLine(type: WatchEventType | 'BOOKMARK' | 'ERROR', objectJson: string): string {
  return `{"type":"${type}","object":${objectJson}}\n`;
}

/** What tests and the admin API see of an open watch. */
export interface WatchInfo {
  readonly id: number;
  readonly resource: string;
  readonly apiGroup: string;
  readonly namespace: string;
  readonly labelSelector: string;
  readonly fieldSelector: string;
  readonly user: string;
  readonly bookmarks: boolean;
  /** The version the stream started from (the request's, or the state it listed). */
  readonly startedAtResourceVersion: string;
  readonly openedAt: Date;
  readonly eventsSent: number;
}

export interface WatchConnectionOptions {
  id: number;
  resource: ResourceType;
  filter: ObjectFilter;
  labelSelector: string;
  fieldSelector: string;
  user: string;
  bookmarks: boolean;
  bookmarkIntervalMs: number;
  timeoutMs: number;
  /** Events at or below this version were already covered by the initial state or replay. */
  afterRv: number;
  currentRv: () => number;
  now: () => Date;
  onClose: (connection: WatchConnection) => void;
}

/**
 * One open watch: a chunked HTTP response carrying one JSON event per line. Ends cleanly at its timeout (with
 * a last bookmark when asked for), or abruptly when a fault drops it.
 */
export class WatchConnection {
  readonly options: WatchConnectionOptions;
  private readonly response: http.ServerResponse;
  private readonly openedAt: Date;
  private afterRv: number;
  private eventsSent = 0;
  private closed = false;
  private timeout: NodeJS.Timeout | undefined;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private readonly bookmarkPrefix: string;

  constructor(response: http.ServerResponse, options: WatchConnectionOptions) {
    this.response = response;
    this.options = options;
    this.afterRv = options.afterRv;
    this.openedAt = options.now();
    const type = options.resource;
    this.bookmarkPrefix = `{"kind":${JSON.stringify(type.kind)},"apiVersion":${JSON.stringify(apiVersionOf(type))},"metadata":{"resourceVersion":`;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends the headers and the initial lines (synthetic ADDEDs or replayed history), then starts the timers. */
  open(initial: string): void {
    const res = this.response;
    if (res.destroyed) {
      this.finish();
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
      'X-Content-Type-Options': 'nosniff',
    });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    if (initial !== '') res.write(initial);
    res.on('close', () => this.finish());
    this.timeout = setTimeout(() => this.end(true), this.options.timeoutMs);
    if (this.options.bookmarks && this.options.bookmarkIntervalMs > 0) {
      this.bookmarkTimer = setInterval(() => this.bookmark(), this.options.bookmarkIntervalMs);
    }
  }

  /** Writes a live event if it concerns this watch; `cache` holds the line shared by all watchers of it. */
  deliver(event: StoreEvent, cache: { line?: string }): void {
    if (this.closed || event.resource !== this.options.resource || event.rv <= this.afterRv) return;
    const line = this.lineFor(event, cache);
    if (line !== undefined) this.write(line);
    this.afterRv = event.rv;
  }

  /**
   * The line a watcher with this filter sees: an object that starts matching arrives as ADDED, one that stops
   * matching as DELETED (its previous state at the new version), as the real watch cache does.
   */
  lineFor(event: StoreEvent, cache: { line?: string } = {}): string | undefined {
    const filter = this.options.filter;
    const plain = filter.labels.length === 0 && filter.fields.length === 0;
    const now = matchesFilter(filter, event.object);
    if (event.type !== 'MODIFIED' || plain) {
      if (!now) return undefined;
      cache.line ??= eventLine(event.type, fullJson(event.object));
      return cache.line;
    }
    const before = event.previous !== undefined && matchesFilter(filter, event.previous);
    if (now && before) {
      cache.line ??= eventLine('MODIFIED', fullJson(event.object));
      return cache.line;
    }
    if (now) return eventLine('ADDED', fullJson(event.object));
    if (before) {
      const previous = JSON.parse(event.previous.itemJson) as KubeObject;
      return eventLine('DELETED', fullJson(storedObject(event.resource, previous, event.rv)));
    }
    return undefined;
  }

  /** A BOOKMARK at the current version: everything up to it has been sent. */
  bookmark(initialEventsEnd = false): void {
    if (this.closed) return;
    const rv = JSON.stringify(String(this.options.currentRv()));
    const annotations = initialEventsEnd ? ',"annotations":{"k8s.io/initial-events-end":"true"}' : '';
    this.write(eventLine('BOOKMARK', `${this.bookmarkPrefix}${rv},"creationTimestamp":null${annotations}}}`));
  }

  /** An in-stream ERROR (410 Expired for a too-old version), then the end of the stream, as the real server does. */
  fail(status: StatusObject): void {
    this.write(eventLine('ERROR', JSON.stringify(status)));
    this.end(false);
  }

  /** Ends the stream cleanly (the terminating chunk), as a server-side timeout does. */
  end(withBookmark = false): void {
    if (this.closed) return;
    if (withBookmark && this.options.bookmarks) this.bookmark();
    this.finish();
    this.response.end();
  }

  /** Cuts the connection mid-stream: the client sees a premature close. */
  destroy(): void {
    if (this.closed) return;
    this.finish();
    this.response.socket?.destroy();
    this.response.destroy();
  }

  info(): WatchInfo {
    const o = this.options;
    return {
      id: o.id,
      resource: o.resource.resource,
      apiGroup: o.resource.group,
      namespace: o.filter.namespace ?? '',
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      user: o.user,
      bookmarks: o.bookmarks,
      startedAtResourceVersion: String(o.afterRv),
      openedAt: this.openedAt,
      eventsSent: this.eventsSent,
    };
  }

  private write(line: string): void {
    if (this.closed) return;
    this.eventsSent++;
    this.response.write(line);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timeout);
    clearInterval(this.bookmarkTimer);
    this.options.onClose(this);
  }
}
