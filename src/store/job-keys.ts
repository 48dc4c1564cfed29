import type { JobState } from '../../machines/job.machine.js';
import { isResting, JobKeyConflictError, jobRules, type JobKey, StoreError } from './contract.js';

/** The job a unique key points at, as a store finds it; null when the key is free or its job is gone. */
export interface KeyHolder {
  id: string;
  state: JobState;
  /** When the job last changed: for a job at rest, when it came to rest. */
  updatedAt: number;
  /** When it is due: a `retrying` holder whose backoff is over is, for the chart, `pending`. */
  runAt: number;
  /** The keepForMs the holder claimed the key with. */
  keepForMs: number;
}

/** What an insert does with a keyed job: insert it (taking the key), leave the holder, or REPLACE it. */
export type KeyOutcome = 'insert' | 'kept' | 'replace';

const replaceable: ReadonlySet<JobState> = new Set(jobRules.replaceFrom);

/**
 * The one rule every store follows for a keyed job, given the key's holder:
 * a holder at rest past its keepFor (or gone) frees the key. Throws a
 * JobKeyConflictError for `onConflict: 'error'`. The SQL of the Postgres
 * store (its insert_keyed function) says the same.
 */
export function keyOutcome(name: string, unique: JobKey, holder: KeyHolder | null, now: number): KeyOutcome {
  if (!holder) return 'insert';
  const resting = isResting(holder.state);
  if (resting && holder.updatedAt + holder.keepForMs <= now) return 'insert';
  if (unique.onConflict === 'error') throw new JobKeyConflictError(name, unique.key, holder.id, holder.state);
  if (unique.onConflict === 'ignore') return 'kept';
  if (replacedInto(holder, now)) return 'replace';
  // Started (running, or retrying after a failure): debounce leaves it to finish and queues anew.
  return unique.debounce && !resting ? 'insert' : 'kept';
}

/**
 * The state a REPLACE of `holder` leaves it in, or null where the chart does
 * not accept REPLACE: its own state where it does, or, for a job resting in a
 * state whose delayed edge is due (retrying past its backoff), the state that
 * edge leads to, where REPLACE is then taken (the store writes both steps at
 * once, as a lease does).
 */
export function replacedInto(holder: Pick<KeyHolder, 'state' | 'runAt'>, now: number): JobState | null {
  if (replaceable.has(holder.state)) return holder.state;
  const through = jobRules.dueThrough.get(holder.state);
  return through && replaceable.has(through.to) && holder.runAt <= now ? through.to : null;
}

/** The map key of a unique key within its job name. */
export const keyOf = (name: string, key: string) => `${name}\u0000${key}`;

/** A batch that names one key twice: refused, as which of the two should win is no store's to guess. */
export function repeated(name: string, key: string): StoreError {
  return new StoreError(`an insert names the unique key "${key}" of job "${name}" twice; a batch may name each key once`);
}
