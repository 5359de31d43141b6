import type { Readable } from 'node:stream';

/** One output line of a daemon: its JSON log record, or `{ raw }` for anything else. */
export type LogRecord = Record<string, unknown> & { message?: string };

export function parseLogRecord(line: string): LogRecord {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? (parsed as LogRecord) : { raw: line };
  } catch {
    return { raw: line };
  }
}

/** Hands each non-empty line of `stream` (JSON logs, as the bins write with --log-format=json) to `onRecord`. */
export function followLogRecords(stream: Readable, onRecord: (record: LogRecord) => void): void {
  let pending = '';
  stream.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) if (part.trim() !== '') onRecord(parseLogRecord(part));
  });
}
