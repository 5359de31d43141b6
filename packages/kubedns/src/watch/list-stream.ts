/**
 * Splits a Kubernetes list response (`{"kind":…,"metadata":{…},"items":[{…},{…},…]}`) into its items while the
 * bytes arrive: each item's bytes are parsed on their own (`JSON.parse`) and handed to `onItem` at once, so a list
 * of 10k objects never exists in memory as one text or one tree, only one item at a time.
 *
 * The scanner follows the JSON grammar of the root object and of the `items` array (keys, colons, commas,
 * brackets, strings with escapes); everything inside a value is left to JSON.parse. So it accepts exactly what
 * `JSON.parse` of the whole body accepts, and gives the same items and fields (tests compare the two on the same
 * bodies split at every chunk boundary). A body that is incomplete or malformed makes `push` or `end` throw.
 */
export class ListStreamParser {
  private readonly onItem: (item: unknown) => void;
  /** Nesting depth outside strings: 0 outside the root object, 1 inside it, 2 inside a top-level value. */
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The root object has closed. */
  private closed = false;
  private started = false;
  /** What may come next at depth 1: a key (or `}` first), the colon, a value, or `,`/`}` after a value. */
  private root: 'first' | 'key' | 'colon' | 'value' | 'next' = 'first';
  /** Inside the `items` array: what may come next at depth 2. */
  private items: 'first' | 'value' | 'next' | null = null;
  private key = '';
  private readonly fields: Record<string, unknown> = {};
  /** A capture (a key, a field value or an item) in progress: pieces from earlier chunks, and its start in this one. */
  private capturing: 'key' | 'field' | 'item' | null = null;
  private pieces: Buffer[] = [];
  private captureStart = -1;
  /** The capture is a bare number, true, false or null: it ends before the next delimiter. */
  private primitive = false;

  constructor(onItem: (item: unknown) => void) {
    this.onItem = onItem;
  }

  push(chunk: Buffer): void {
    if (this.capturing !== null) this.captureStart = 0;
    const length = chunk.length;
    for (let i = 0; i < length; i++) {
      const c = chunk[i]!;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.depth === 1 || (this.depth === 2 && this.items !== null)) this.valueEnds(chunk, i);
        }
        continue;
      }
      if (this.primitive) {
        if (!(c === 0x2c || c === 0x5d || c === 0x7d || isSpace(c))) continue;
        this.primitive = false;
        this.valueEnds(chunk, i - 1);
      }
      if (isSpace(c)) continue;
      if (this.depth === 0) {
        if (c !== 0x7b || this.started) throw new Error(this.closed ? 'bytes after the list' : 'not a JSON object');
        this.started = true;
        this.depth = 1;
        continue;
      }
      if (this.depth === 1) this.rootToken(i, c);
      else if (this.depth === 2 && this.items !== null) this.itemsToken(i, c);
      else if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 1 || (this.depth === 2 && this.items !== null)) this.valueEnds(chunk, i);
      }
    }
    if (this.capturing !== null) {
      this.pieces.push(chunk.subarray(this.captureStart));
      this.captureStart = -1;
    }
  }

  /** The top-level fields other than `items` (e.g. `metadata.resourceVersion`). Throws if the body was incomplete. */
  end(): Record<string, unknown> {
    // A value still being read means the root object has not closed either.
    if (!this.closed) throw new Error('truncated list response');
    return this.fields;
  }

  /** A token directly inside the root object. */
  private rootToken(i: number, c: number): void {
    switch (this.root) {
      case 'first':
      case 'key':
        if (c === 0x22) {
          this.inString = true;
          this.capture('key', i);
        } else if (c === 0x7d && this.root === 'first') {
          this.close();
        } else {
          throw unexpected(c);
        }
        return;
      case 'colon':
        if (c !== 0x3a) throw unexpected(c);
        this.root = 'value';
        return;
      case 'value':
        this.root = 'next';
        if (c === 0x5b && this.key === 'items') {
          this.depth = 2;
          this.items = 'first';
          return;
        }
        this.valueStarts('field', i, c);
        return;
      case 'next':
        if (c === 0x2c) this.root = 'key';
        else if (c === 0x7d) this.close();
        else throw unexpected(c);
        return;
    }
  }

  /** A token directly inside the `items` array. */
  private itemsToken(i: number, c: number): void {
    if (this.items === 'next') {
      if (c === 0x2c) this.items = 'value';
      else if (c === 0x5d) this.itemsClosed();
      else throw unexpected(c);
      return;
    }
    if (c === 0x5d && this.items === 'first') {
      this.itemsClosed();
      return;
    }
    if (c === 0x2c || c === 0x5d || c === 0x7d || c === 0x3a) throw unexpected(c);
    this.items = 'next';
    this.valueStarts('item', i, c);
  }

  private itemsClosed(): void {
    this.items = null;
    this.depth = 1;
  }

  private close(): void {
    this.depth = 0;
    this.closed = true;
  }

  private valueStarts(kind: 'field' | 'item', i: number, c: number): void {
    this.capture(kind, i);
    if (c === 0x22) this.inString = true;
    else if (c === 0x7b || c === 0x5b) this.depth++;
    else if (c === 0x7d || c === 0x5d || c === 0x2c || c === 0x3a) throw unexpected(c);
    else this.primitive = true;
  }

  private capture(kind: 'key' | 'field' | 'item', at: number): void {
    this.capturing = kind;
    this.captureStart = at;
    this.pieces = [];
  }

  /** The capture ends with the byte at `last` (inclusive): parse it and hand it on. */
  private valueEnds(chunk: Buffer, last: number): void {
    if (this.capturing === null) return;
    const tail = chunk.subarray(this.captureStart, last + 1);
    const bytes = this.pieces.length === 0 ? tail : Buffer.concat([...this.pieces, tail]);
    const kind = this.capturing;
    this.capturing = null;
    this.pieces = [];
    this.captureStart = -1;
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    if (kind === 'key') {
      if (typeof value !== 'string') throw new Error('list response: a key is not a string');
      this.key = value;
      this.root = 'colon';
    } else if (kind === 'field') {
      // `items` that is not an array (null) holds no items, and is not a field either.
      if (this.key === 'items') return;
      // defineProperty: a key named __proto__ is a field like any other, as in JSON.parse.
      Object.defineProperty(this.fields, this.key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      this.onItem(value);
    }
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function unexpected(c: number): Error {
  return new Error(`list response: unexpected ${JSON.stringify(String.fromCharCode(c))}`);
}
