/** A relayed log line, made readable: the level apart, the rest as one line of text. */
export interface RenderedLine {
  /** `info`, `warn`, `error`, `debug`, or null for a line that is not one of our JSON log lines. */
  level: string | null;
  text: string;
}

const OWN_FIELDS = new Set(['level', 'message', 'timestamp', 'component']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value);
}

/** `HH:MM:SS.mmm` in local time, or '' when the timestamp does not parse. */
function clock(timestamp: unknown): string {
  if (typeof timestamp !== 'string') return '';
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/**
 * A daemon-kit JSON log line (`{"level","message","timestamp","component",…}`) as
 * `12:00:01.234 message key=value …`; the component is shown only when it is not the process itself. Any other
 * line (a startup error, a stack trace) is kept as it is.
 */
export function renderLogLine(line: string, processName: string): RenderedLine {
  const trimmed = line.trimEnd();
  if (!trimmed.startsWith('{')) return { level: null, text: trimmed };
  let record: Record<string, unknown>;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { level: null, text: trimmed };
    record = value as Record<string, unknown>;
  } catch {
    return { level: null, text: trimmed };
  }
  if (typeof record['message'] !== 'string') return { level: null, text: trimmed };
  const parts: string[] = [];
  const time = clock(record['timestamp']);
  if (time) parts.push(time);
  const component = record['component'];
  if (typeof component === 'string' && component !== processName) parts.push(`[${component}]`);
  parts.push(record['message']);
  for (const [key, value] of Object.entries(record)) {
    if (!OWN_FIELDS.has(key) && value !== undefined) parts.push(`${key}=${formatValue(value)}`);
  }
  const level = typeof record['level'] === 'string' ? record['level'] : null;
  return { level, text: parts.join(' ') };
}
