import type { JobError } from '../../machines/job.machine.js';
import { type Duration, toMs } from '../duration.js';
import { InvalidOptionError } from '../errors.js';
import { optionKeys, refuseUnknownKeys } from '../strict-options.js';

/** Milliseconds to wait before the next attempt, given the attempt that just failed (1 = the first). */
export type BackoffStrategy = (attempt: number, error: JobError) => number;

export type Jitter = 'none' | 'full' | 'equal';

export interface ExponentialOptions {
  base?: Duration;
  max?: Duration;
  /** The multiplier from one attempt to the next; 2 doubles. */
  factor?: number;
  jitter?: Jitter;
}

export interface LinearOptions {
  /** Added for each attempt: the n-th retry waits n times this. */
  base: Duration;
  max?: Duration;
}

// A new option in either interface is a compile error here until it is listed.
const exponentialKeys = optionKeys<ExponentialOptions>({ base: true, max: true, factor: true, jitter: true });
const linearKeys = optionKeys<LinearOptions>({ base: true, max: true });

function constant(delay: Duration): BackoffStrategy {
  const ms = toMs(delay, 'backoff.constant', 'stored');
  return () => ms;
}

function linear(options: LinearOptions): BackoffStrategy {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('backoff.linear', "expects an object such as { base: '1s' }");
  refuseUnknownKeys(options, linearKeys, 'backoff.linear', 'backoff.linear');
  const base = toMs(options.base, 'backoff.linear.base', 'stored');
  const max = options.max === undefined ? Infinity : toMs(options.max, 'backoff.linear.max', 'stored');
  return (attempt) => Math.min(max, base * attempt);
}

function exponential(options: ExponentialOptions = {}): BackoffStrategy {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('backoff.exponential', "expects an object such as { base: '1s', max: '60s' }");
  refuseUnknownKeys(options, exponentialKeys, 'backoff.exponential', 'backoff.exponential');
  const base = toMs(options.base ?? '1s', 'backoff.exponential.base', 'stored');
  const max = toMs(options.max ?? '60s', 'backoff.exponential.max', 'stored');
  const factor = options.factor ?? 2;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    throw new InvalidOptionError('backoff.exponential.factor', `must be a number of at least 1, got ${String(factor)}`);
  }
  const jitter = options.jitter ?? 'full';
  if (jitter !== 'none' && jitter !== 'full' && jitter !== 'equal') {
    throw new InvalidOptionError('backoff.exponential.jitter', `must be 'none', 'full' or 'equal', got ${String(jitter)}`);
  }
  return (attempt) => {
    const ceiling = Math.min(max, base * factor ** Math.max(0, attempt - 1));
    if (jitter === 'full') return Math.round(Math.random() * ceiling);
    if (jitter === 'equal') return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    return ceiling;
  };
}

/** The built-in strategies. Any `(attempt, error) => ms` function is a strategy too. */
export const backoff = { constant, linear, exponential };

/** The Go original's default: exponential with full jitter, from 1s up to 60s. */
export const defaultBackoff: BackoffStrategy = exponential();

/** Calls a strategy and makes sure its answer is a usable delay. */
export function delayFor(strategy: BackoffStrategy, attempt: number, error: JobError): number {
  const ms = strategy(attempt, error);
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return 0;
  return Math.round(ms);
}
