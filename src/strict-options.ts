import { z } from 'zod';
import { InvalidOptionError, type ValidationError } from './errors.js';

/*
 * Unknown option keys are refused, never ignored: a misspelt `concurency`
 * that passed silently would leave the default in force with no sign why.
 * Each options interface has its allowed keys written beside it, in one of
 * two forms the compiler holds to the interface, so the two cannot drift:
 * adding an option to the interface is a compile error until it is listed.
 */

/** Every key of an options interface, each `true`: an object literal of this type must list them all and nothing else. */
export type OptionKeys<T> = { readonly [K in keyof T]-?: true };

/** A zod shape for an options interface: one schema for each of its keys and nothing else. */
export type OptionShape<T> = { [K in keyof T]-?: z.ZodType };

/** The allowed keys of `T`, as a list the run-time check reads. */
export function optionKeys<T>(keys: OptionKeys<T>): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/**
 * A zod object that refuses keys outside `shape`, with the same reason
 * `refuseUnknownKeys` gives; the issue's path plus its first key names the field.
 */
export function strictOptions<S extends z.core.$ZodLooseShape>(shape: S, owner: string) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? notAnOption(String(issue.keys[0]), allowed, owner) : undefined),
  });
}

export type ErrorClass = new (field: string, reason: string) => ValidationError;

/**
 * Throws for the first own key of `value` that `allowed` does not hold,
 * naming it with its path (`options.queues.mail.concurency`). `value` that is
 * not an object is left to the caller's own check.
 */
export function refuseUnknownKeys(
  value: unknown,
  allowed: readonly string[],
  path: string,
  owner: string,
  error: ErrorClass = InvalidOptionError,
): void {
  if (value === null || typeof value !== 'object') return;
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw new error(path ? `${path}.${key}` : key, notAnOption(key, allowed, owner));
  }
}

/** Why `key` is refused, with the allowed key it was most likely meant to be. */
export function notAnOption(key: string, allowed: readonly string[], owner: string): string {
  const meant = closest(key, allowed);
  return `is not an option of ${owner}; ${meant ? `did you mean ${meant}?` : `the options are ${allowed.join(', ')}`}`;
}

/** The allowed key nearest to `key`, if it is within a small edit (a third of its length, at least 1). */
function closest(key: string, allowed: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(key.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= limit ? best : undefined;
}

/** Insertions, deletions, substitutions and swaps of neighbours needed to turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
      }
    }
  }
  return rows[a.length]![b.length]!;
}
