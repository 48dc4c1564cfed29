import { describe } from '../duration.js';
import { InvalidOptionError } from '../errors.js';
import { fields } from '../job/options.js';

/**
 * Checks the dispatcher's `serve` option, the queues its worker leases from
 * (absent: every queue). Answers a frozen copy without repeats, so a later
 * change to the caller's array cannot change what the worker takes.
 */
export function parseServe(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw new InvalidOptionError('serve', `must be an array of queue names; got ${describe(value)}`);
  if (value.length === 0) throw new InvalidOptionError('serve', 'must name at least one queue (leave it out to serve every queue)');
  // A loop, not forEach: a hole in a sparse array is a missing name too.
  for (let i = 0; i < value.length; i++) {
    const checked = fields.queue.safeParse(value[i]);
    if (!checked.success) throw new InvalidOptionError(`serve[${i}]`, checked.error.issues[0]!.message);
  }
  return Object.freeze([...new Set(value as string[])]);
}
