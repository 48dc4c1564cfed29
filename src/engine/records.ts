import type { JobError, JobState } from '../../machines/job.machine.js';
import { PermanentError } from '../errors.js';
import type { InputOf, OutputOf } from '../job/define-job.js';
import type { StoredJob } from '../store/contract.js';

/**
 * A job as the public API shows it. `I` is its input, `O` its result: typed
 * where the definition is known (what `enqueue` answers, and `waitFor` given
 * that record), unknown where only an id is.
 */
export interface JobRecord<I = unknown, O = unknown> {
  id: string;
  name: string;
  queue: string;
  state: JobState;
  input: I;
  priority: number;
  runAt: Date;
  /** Attempts started so far; 0 until the job first runs. */
  attempt: number;
  maxRetries: number;
  timeoutMs: number;
  lastError: JobError | null;
  /** What the handler returned, as its definition's `output` schema parsed it; null until it completes, and for a job that returned nothing. */
  result: O | null;
  /** The handler's latest `ctx.progress` report, as stored; null until it reports. Kept after the job moves on. */
  progress: unknown;
  /** While running: when the lease runs out unless a heartbeat extends it. */
  leaseExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /**
   * Set by an enqueue with a `key` that made no new job: this is the job
   * holding the key (its input, runAt and priority replaced, for
   * `onConflict: 'replace'` and debounce, where it was still waiting).
   */
  duplicate?: true;
  /** The group it was enqueued in (`enqueue(def, input, { group })`); null when none. */
  group: string | null;
}

/** The record of a job of definition `D`: its input and result typed. */
export type RecordOf<D> = JobRecord<InputOf<D>, OutputOf<D>>;

export function toRecord<I = unknown, O = unknown>(job: StoredJob): JobRecord<I, O> {
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    state: job.state,
    input: job.input as I,
    priority: job.priority,
    runAt: new Date(job.runAt),
    attempt: job.attempt,
    maxRetries: job.maxRetries,
    timeoutMs: job.timeoutMs,
    lastError: job.lastError,
    result: job.result as O | null,
    progress: job.progress,
    leaseExpiresAt: job.leaseExpiresAt === null ? null : new Date(job.leaseExpiresAt),
    createdAt: new Date(job.createdAt),
    updatedAt: new Date(job.updatedAt),
    group: job.group,
  };
}

/**
 * Any thrown value as storable error data; a non-Error is described, not
 * lost. Never throws itself, whatever it is given (a cycle, a value whose
 * toString throws, a revoked proxy): a job must always reach its outcome.
 */
export function toJobError(thrown: unknown): JobError {
  try {
    if (thrown instanceof Error) {
      const error: JobError = { name: clip(String(thrown.name), 200), message: clip(String(thrown.message), MAX_MESSAGE) };
      if (thrown.stack) error.stack = clip(String(thrown.stack), MAX_STACK);
      return error;
    }
  } catch {
    // An Error whose fields cannot be read: described below like any other value.
  }
  return { name: 'NonErrorThrown', message: clip(`the handler threw a non-Error value: ${describeThrown(thrown)}`, MAX_MESSAGE) };
}

/** A job's last error is stored with it: a runaway message or stack must not bloat every row it touches. */
const MAX_MESSAGE = 8 * 1024;
const MAX_STACK = 16 * 1024;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length - max} more characters cut)`;
}

function describeThrown(thrown: unknown): string {
  if (typeof thrown === 'string') return thrown;
  try {
    const json = JSON.stringify(thrown);
    if (json !== undefined) return json;
  } catch {
    // A cycle, a BigInt, a throwing toJSON: try its text instead.
  }
  try {
    return String(thrown);
  } catch {
    return `an unprintable ${typeof thrown}`;
  }
}

/** Whether a thrown value asks to skip retries; a value that cannot even be asked is not. */
export function isPermanent(thrown: unknown): boolean {
  try {
    return thrown instanceof PermanentError;
  } catch {
    return false;
  }
}
