/**
 * A configuration or startup failure: the bin prints `<component>: <message>` as one line and exits non-zero.
 */
export class StartupError extends Error {
  readonly component: string;
  constructor(component: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
    this.component = component;
  }

  /** The single line a bin prints before exiting. */
  get line(): string {
    return `${this.component}: ${this.message}`;
  }
}

/** The one line for any error that ends a process at startup. */
export function startupErrorLine(component: string, error: unknown): string {
  if (error instanceof StartupError) return error.line;
  const message = error instanceof Error ? error.message : String(error);
  return `${component}: ${message.split('\n')[0]}`;
}
