import { toMs } from '../duration.js';
import { InvalidOptionError } from '../errors.js';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}/;

/**
 * A time on the command line: an ISO 8601 time (`2026-12-24T09:00:00Z`), or
 * a duration (`5m`, `2h`, `7d`) counted from now, forward for `later` and
 * back for `ago`.
 */
export function timeArg(value: string, option: string, direction: 'later' | 'ago', now = Date.now()): Date {
  if (ISO_DATE.test(value)) {
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) throw new InvalidOptionError(option, `"${value}" is not a valid ISO 8601 time`);
    return date;
  }
  const ms = toMs(value, option, 'stored');
  return new Date(direction === 'later' ? now + ms : now - ms);
}

/** A whole number on the command line. */
export function intArg(value: string, option: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidOptionError(option, `must be a whole number, got "${value}"`);
  return Number(value);
}

/** A JSON argument. */
export function jsonArg(value: string, argument: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new InvalidOptionError(argument, `is not JSON (${error instanceof Error ? error.message : String(error)}); quote it for the shell, as in '{"to":"a@example.com"}'`);
  }
}
