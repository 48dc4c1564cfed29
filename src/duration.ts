import ms from 'ms';
import { InvalidOptionError } from './errors.js';

/** Milliseconds as a number, or a string such as `'30s'`, `'2h'`, `'500ms'`. */
export type Duration = number | ms.StringValue;

/** The largest delay a Node timer honours; longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Parses a duration, refusing anything that is not a finite, non-negative length of time. */
export function toMs(value: unknown, field: string): number {
  let parsed: number | undefined;
  if (typeof value === 'number') parsed = value;
  else if (typeof value === 'string') parsed = ms(value as ms.StringValue) as number | undefined;
  else throw new InvalidOptionError(field, `expected milliseconds or a duration such as '30s', got ${describe(value)}`);
  if (parsed === undefined || !Number.isFinite(parsed)) {
    throw new InvalidOptionError(field, `${JSON.stringify(value)} is not a duration (try 500, '30s' or '2h')`);
  }
  if (parsed < 0) throw new InvalidOptionError(field, `must not be negative, got ${JSON.stringify(value)}`);
  return Math.round(parsed);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Date) return 'a Date';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
