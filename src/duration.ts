import ms from 'ms';
import { z } from 'zod';
import { InvalidOptionError } from './errors.js';

/** Milliseconds as a number, or a string such as `'30s'`, `'2h'`, `'500ms'`. */
export type Duration = number | ms.StringValue;

/**
 * The one rule for how long a duration may be. A duration a process waits
 * out on a timer (a timeout, a grace period, an interval, waitFor's
 * timeout) is at most what a Node timer honours, 2^31 - 1 ms (about 24.8
 * days); longer ones would fire at once. A duration that becomes a time in
 * the store (an enqueue's `delay`, a backoff) has no such limit: like
 * `runAt`, it may reach the end of the year 9999.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The latest time every store can keep: the end of the year 9999. */
export const LATEST_TIME_MS = 253402300799999;

/** A duration waited out on a timer, or one that becomes a time in the store. */
export type DurationKind = 'timer' | 'stored';

const LIMITS: Record<DurationKind, { max: number; why: string }> = {
  timer: { max: MAX_TIMER_MS, why: 'about 24.8 days, the longest a timer waits' },
  stored: { max: LATEST_TIME_MS, why: 'the end of the year 9999 from 1970' },
};

/** How a value is shown in a message: NaN as NaN, not as JSON's null. */
const shown = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : String(value));

/** Milliseconds, or what is wrong with the value, for a duration at least `min` long. */
function parseDuration(value: unknown, min: number, kind: DurationKind): { ms: number } | { problem: string } {
  let parsed: number | undefined;
  if (typeof value === 'number') parsed = value;
  else if (typeof value === 'string') parsed = ms(value as ms.StringValue) as number | undefined;
  else return { problem: `expected milliseconds or a duration such as '30s', got ${describe(value)}` };
  if (parsed === undefined || !Number.isFinite(parsed)) {
    return { problem: `${shown(value)} is not a duration (try 500, '30s' or '2h')` };
  }
  if (parsed < 0) return { problem: `must not be negative, got ${shown(value)}` };
  if (parsed < min) return { problem: `must be at least ${min} ms, got ${shown(value)}` };
  const { max, why } = LIMITS[kind];
  if (parsed > max) return { problem: `must be at most ${max} ms (${why}), got ${shown(value)}` };
  return { ms: Math.round(parsed) };
}

/** Parses a duration, refusing anything that is not a finite, non-negative length of time within `kind`'s limit. */
export function toMs(value: unknown, field: string, kind: DurationKind = 'timer'): number {
  const result = parseDuration(value, 0, kind);
  if ('problem' in result) throw new InvalidOptionError(field, result.problem);
  return result.ms;
}

/** A zod field for a duration option, in milliseconds once parsed. */
export function durationField(min = 0, kind: DurationKind = 'timer') {
  return z.unknown().transform((value, ctx) => {
    const result = parseDuration(value, min, kind);
    if ('ms' in result) return result.ms;
    ctx.addIssue({ code: 'custom', message: result.problem });
    return z.NEVER;
  });
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Date) return 'a Date';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
