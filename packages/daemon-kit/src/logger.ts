import type { Writable } from 'node:stream';
import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'text';
export type LogMeta = Record<string, unknown>;

/** The narrow logging surface every component uses; only this file knows about winston. */
export interface Logger {
  error(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  debug(message: string, meta?: LogMeta): void;
  isDebugEnabled(): boolean;
  child(meta: LogMeta): Logger;
}

export interface LoggerOptions {
  /** The process or component name, stamped on every line. */
  component: string;
  level?: LogLevel;
  /** json in production (the default when stderr is not a terminal), text for people. */
  format?: LogFormat;
  /** Where lines go; stderr by default. Tests pass a stream to read them. */
  stream?: Writable;
}

/** klog-style verbosity (`--v`) to a level: 0–3 info, 4 and above debug. */
export function levelFromVerbosity(verbosity: number): LogLevel {
  return verbosity >= 4 ? 'debug' : 'info';
}

/** LOG_FORMAT and LOG_LEVEL from the environment override the defaults, not explicit options. */
export function createLogger(options: LoggerOptions): Logger {
  const envFormat = process.env['LOG_FORMAT'];
  const format: LogFormat =
    options.format ??
    (envFormat === 'json' || envFormat === 'text' ? envFormat : process.stderr.isTTY ? 'text' : 'json');
  const envLevel = process.env['LOG_LEVEL'] as LogLevel | undefined;
  const level =
    options.level ?? (envLevel && ['error', 'warn', 'info', 'debug'].includes(envLevel) ? envLevel : 'info');
  const transport = options.stream
    ? new winston.transports.Stream({ stream: options.stream })
    : new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] });
  const winstonLogger = winston.createLogger({
    level,
    format:
      format === 'json'
        ? winston.format.combine(winston.format.timestamp(), winston.format.json())
        : winston.format.combine(
            winston.format.timestamp(),
            winston.format.printf(({ timestamp, level: lvl, message, component, ...rest }) => {
              const extra = Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : '';
              return `${String(timestamp)} ${lvl.toUpperCase()} ${String(component)}: ${String(message)}${extra}`;
            }),
          ),
    transports: [transport],
  });
  // Not defaultMeta: winston applies it over a child's fields, so `child({ component })` would be lost.
  return wrap(winstonLogger.child({ component: options.component }));
}

function wrap(w: winston.Logger): Logger {
  return {
    error: (message, meta) => w.error(message, meta),
    warn: (message, meta) => w.warn(message, meta),
    info: (message, meta) => w.info(message, meta),
    debug: (message, meta) => w.debug(message, meta),
    isDebugEnabled: () => w.isDebugEnabled(),
    child: (meta) => wrap(w.child(meta)),
  };
}

/** A logger that drops everything, for tests and benchmarks that do not read logs. */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  isDebugEnabled: () => false,
  child: () => silentLogger,
};

/**
 * Logs a repeated condition once per `intervalMs` with a count of what was suppressed, so a flood of bad
 * packets or a flapping upstream is visible without one line per event.
 */
export function createRateLimitedLog(logger: Logger, intervalMs = 60_000, now: () => number = Date.now) {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (level: LogLevel, key: string, message: string, meta?: LogMeta): void => {
    const t = now();
    const entry = last.get(key);
    if (entry && t - entry.at < intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    last.set(key, { at: t, suppressed: 0 });
    logger[level](message, suppressed > 0 ? { ...meta, suppressed } : meta);
  };
}
