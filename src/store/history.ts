import type { JobError, JobState } from '../../machines/job.machine.js';
import { jobRules } from '../../machines/job.rules.js';
import { CorruptJobError } from '../errors.js';

/**
 * One step of a job through the chart, as a store keeps it beside the job
 * (see Store.history). Times are epoch milliseconds.
 */
export interface HistoryEntry {
  /** Null for the enqueue that created the job. */
  from: JobState | null;
  to: JobState;
  /** The chart's event: LEASE, SUCCEED, FAIL, xstate's name of a delay...; `xstate.init` for the enqueue. */
  event: string;
  /** The job's attempts after the step. */
  attempt: number;
  /** The job's last error, where the step stopped short of success (see showsError); null elsewhere. */
  error: JobError | null;
  /** The worker process that took the step; null for a client's (enqueue, cancel, replay, reschedule). */
  worker: string | null;
  at: number;
}

/** xstate's name of the event that starts a machine: the enqueue's entry. */
export const ENQUEUE_EVENT = 'xstate.init';

const ERRORLESS: ReadonlySet<JobState> = new Set<JobState>(['completed', 'running', 'pending']);

/** Whether a step into `to` reports the job's last error: only where it stopped short of success. */
export function showsError(to: JobState): boolean {
  return !ERRORLESS.has(to);
}

/** The states a step into which carries the last error, for SQL: `'retrying', 'failed', ...`. */
export const ERROR_STATES: readonly JobState[] = jobRules.states.filter(showsError);

/**
 * How the SQL stores keep a job's history: a text column of JSON arrays
 * joined by commas, to which a step appends in the statement that makes it (a
 * text append: no JSON is parsed on the write path). Null: no step recorded
 * since the enqueue. Two shapes, told apart by the first element:
 *
 * - `[from, to, event, attempt, worker, at, error]` (Postgres, and SQLite
 *   rows written before its compact shape);
 * - SQLite's compact shape, `[sinceCreated, from, to, event, attempt, workerRef]`
 *   with the error as a seventh element only where there is one: the time as
 *   milliseconds since the row's creation and the worker as a number the
 *   store resolves, because the row's bytes are what a step costs there.
 */
export type HistoryTuple = [JobState, JobState, string, number, string | null, number, JobError | null];
export type CompactHistoryTuple = [number, JobState, JobState, string, number, number | null, JobError?];

/** The enqueue's entry, which no store writes: it is the row's own creation. */
export function enqueueEntry(createdAt: number): HistoryEntry {
  return { from: null, to: jobRules.initial, event: ENQUEUE_EVENT, attempt: 0, error: null, worker: null, at: createdAt };
}

/** The worker names of a history text's compact entries, by the numbers the text holds. */
export type WorkerNames = (refs: ReadonlySet<number>) => ReadonlyMap<number, string>;

const noWorkers: WorkerNames = () => new Map();

/** A job's whole history from its creation time and the column's text. */
export function readHistory(id: string, createdAt: number, text: string | null, workerNames: WorkerNames = noWorkers): HistoryEntry[] {
  const entries = [enqueueEntry(createdAt)];
  if (text === null || text === '') return entries;
  let tuples: unknown;
  try {
    tuples = JSON.parse(`[${text}]`);
  } catch (error) {
    throw new CorruptJobError(id, 'history', `is not JSON (${(error as Error).message})`);
  }
  const notAStep = (tuple: unknown) => new CorruptJobError(id, 'history', `holds an entry that is not a step: ${JSON.stringify(tuple).slice(0, 200)}`);
  const refs = new Set<number>();
  for (const tuple of tuples as unknown[]) {
    if (!Array.isArray(tuple) || tuple.length < 6) throw notAStep(tuple);
    if (typeof tuple[0] === 'number' && typeof tuple[5] === 'number') refs.add(tuple[5]);
  }
  const names = refs.size > 0 ? workerNames(refs) : new Map<number, string>();
  for (const tuple of tuples as unknown[][]) {
    if (typeof tuple[0] === 'number') {
      const [sinceCreated, from, to, event, attempt, ref, error] = tuple as CompactHistoryTuple;
      const worker = ref === null ? null : names.get(ref);
      if (worker === undefined) throw new CorruptJobError(id, 'history', `names worker ${ref}, which the store does not know`);
      entries.push({ from, to, event, attempt, worker, at: createdAt + sinceCreated, error: error ?? null });
    } else {
      const [from, to, event, attempt, worker, at, error] = tuple as HistoryTuple;
      entries.push({ from, to, event, attempt, worker: worker ?? null, at, error: error ?? null });
    }
  }
  return entries;
}

/**
 * The steps a lease takes a job through from `leasedFrom`: the due delayed
 * edge of a state it waited in past its time (retrying's backoff), then LEASE.
 * `attempt` is the count before the lease.
 */
export function leaseEntries(leasedFrom: JobState, attempt: number, worker: string, at: number): HistoryEntry[] {
  const due = jobRules.dueThrough.get(leasedFrom);
  const lease: HistoryEntry = { from: due ? due.to : leasedFrom, to: jobRules.leased, event: 'LEASE', attempt: attempt + jobRules.attemptsPerLease, error: null, worker, at };
  if (!due) return [lease];
  return [{ from: leasedFrom, to: due.to, event: due.event, attempt, error: null, worker, at }, lease];
}

/** The steps a REPLACE of a unique enqueue takes its holder through (a due delayed edge first, as a lease does). */
export function replaceEntries(from: JobState, into: JobState, attempt: number, at: number): HistoryEntry[] {
  const replace: HistoryEntry = { from: into, to: into, event: 'REPLACE', attempt, error: null, worker: null, at };
  if (from === into) return [replace];
  return [{ from, to: into, event: jobRules.dueThrough.get(from)!.event, attempt, error: null, worker: null, at }, replace];
}
