import { Writable } from 'node:stream';
import { createLogger, type Logger, type LogLevel } from '@kube-dns/daemon-kit';

export interface LogLine {
  level: string;
  message: string;
  component?: string;
  [key: string]: unknown;
}

export interface CapturedLog {
  logger: Logger;
  lines: LogLine[];
  /** Lines whose message contains `text`. */
  matching(text: string): LogLine[];
  /** Everything logged, as one string (to check what must never appear). */
  text(): string;
}

/** A real daemon-kit (winston) logger writing JSON lines into memory, for tests that read logs. */
export function captureLog(level: LogLevel = 'debug'): CapturedLog {
  const lines: LogLine[] = [];
  let raw = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      const text = chunk.toString();
      raw += text;
      for (const line of text.split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  const logger = createLogger({ component: 'test', level, format: 'json', stream });
  return {
    logger,
    lines,
    matching: (text) => lines.filter((line) => line.message.includes(text)),
    text: () => raw,
  };
}
