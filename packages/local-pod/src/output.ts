import { styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

/** Where everything the launcher shows goes: one prefixed line per log line or status change. */
export interface Output {
  /** A line from `source` (a process name, or the launcher's own `local-pod`). */
  line(source: string, text: string, level?: string | null): void;
  /** Lines without a prefix (the block of commands to try), so they copy cleanly. */
  block(lines: readonly string[]): void;
}

export const LAUNCHER = 'local-pod';
const PREFIX_WIDTH = 'dnsmasq-cache'.length;
const SOURCE_STYLES: Record<string, Style> = {
  [LAUNCHER]: 'bold',
  'apiserver-sim': 'magenta',
  'kube-dns': 'cyan',
  'dnsmasq-cache': 'green',
  sidecar: 'blue',
};
const LEVEL_STYLES: Record<string, Style> = { warn: 'yellow', error: 'red' };

/** An Output writing whole lines through `write` (stdout in the bin, a buffer in tests). */
export function createOutput(write: (text: string) => void, options: { color: boolean }): Output {
  const style = (format: Style | undefined, text: string): string =>
    options.color && format !== undefined ? styleText(format, text) : text;
  return {
    line(source, text, level = null) {
      const prefix = style(SOURCE_STYLES[source], `${source.padEnd(PREFIX_WIDTH)} |`);
      const body = level !== null && level !== 'info' ? `${level.toUpperCase()} ${text}` : text;
      write(`${prefix} ${style(level === null ? undefined : LEVEL_STYLES[level], body)}\n`);
    },
    block(lines) {
      write(`\n${lines.join('\n')}\n\n`);
    },
  };
}
