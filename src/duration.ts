import ms from 'ms';
import { z } from 'zod';
import { InvalidOptionError } from './errors.js';

/** Milliseconds as a number, or a string such as `'30s'`, `'2h'`, `'500ms'`. */
export type Duration = number | ms.StringValue;

/** The largest delay a Node timer honours; longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Milliseconds, or what is wrong with the value, for a duration at least `min` long. */
function parseDuration(value: unknown, min: number): { ms: number } | { problem: string } {
  let parsed: number | undefined;
  if (typeof value === 'number') parsed = value;
  else if (typeof value === 'string') parsed = ms(value as ms.StringValue) as number | undefined;
  else return { problem: `expected milliseconds or a duration such as '30s', got ${describe(value)}` };
  if (parsed === undefined || !Number.isFinite(parsed)) {
    return { problem: `${JSON.stringify(value)} is not a duration (try 500, '30s' or '2h')` };
  }
  if (parsed < 0) return { problem: `must not be negative, got ${JSON.stringify(value)}` };
  if (parsed < min) return { problem: `must be at least ${min} ms, got ${JSON.stringify(value)}` };
  if (parsed > MAX_TIMER_MS) return { problem: `must be at most ${MAX_TIMER_MS} ms (about 24 days), got ${JSON.stringify(value)}` };
  return { ms: Math.round(parsed) };
}

/** Parses a duration, refusing anything that is not a finite, non-negative length of time. */
export function toMs(value: unknown, field: string): number {
  const result = parseDuration(value, 0);
  if ('problem' in result) throw new InvalidOptionError(field, result.problem);
  return result.ms;
}

/** A zod field for a duration option, in milliseconds once parsed. */
export function durationField(min = 0) {
  return z.unknown().transform((value, ctx) => {
    const result = parseDuration(value, min);
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
