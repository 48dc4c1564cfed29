/**
 * Where the engine writes what it has to say: errors it met outside any job
 * (a lease or a write the store refused), and lines on starting, stopping
 * and draining. A pino logger fits as it is; so does anything with these
 * methods (an object of bindings first, then the message).
 */
export interface Logger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  /** When present, the engine logs through `child({ lib: 'dispatch-ts' })`. */
  child?(bindings: Record<string, unknown>): Logger;
}

const nothing = () => {};

/** Says nothing. */
export const silentLogger: Logger = Object.freeze({ error: nothing, warn: nothing, info: nothing, debug: nothing });

/** What the engine did before it had a logger: errors and warnings to the console, nothing else. */
export const consoleLogger: Logger = Object.freeze({
  error: (obj: object, msg?: string) => console.error(`dispatch: ${msg ?? 'error'}:`, errorOf(obj)),
  warn: (obj: object, msg?: string) => console.warn(`dispatch: ${msg ?? 'warning'}:`, errorOf(obj)),
  info: nothing,
  debug: nothing,
});

/** The error a line carries (pino's `err` key), else the whole object. */
function errorOf(obj: object): unknown {
  return 'err' in obj ? obj.err : obj;
}

/**
 * The logger of a dispatcher given none: the console's for errors, but
 * silent under a test runner (Vitest and Jest set NODE_ENV to `test`), so a
 * test's output is its own; a test wanting the lines passes a logger.
 */
export function defaultLogger(env: Record<string, string | undefined> = process.env): Logger {
  return env.NODE_ENV === 'test' || env.VITEST ? silentLogger : consoleLogger;
}

/** Whether `value` has the methods of a Logger. */
export function isLogger(value: unknown): value is Logger {
  if (typeof value !== 'object' || value === null) return false;
  const methods = value as Record<string, unknown>;
  return ['error', 'warn', 'info', 'debug'].every((name) => typeof methods[name] === 'function');
}

/** The logger the engine writes to: a child of the user's, when it makes children. */
export function engineLogger(logger: Logger): Logger {
  return typeof logger.child === 'function' ? logger.child({ lib: 'dispatch-ts' }) : logger;
}
