import type { JobError, JobState } from '../../machines/job.machine.js';
import { jobRules } from '../../machines/job.rules.js';
import { CorruptJobError, type StoredJob } from './contract.js';

const STATES: ReadonlySet<string> = new Set(jobRules.states);

/** A stored state as a state of the chart; any other is no job this code can move, and is refused by name. */
export function chartState(id: string, state: string): JobState {
  if (!STATES.has(state)) throw new CorruptJobError(id, 'state', `${JSON.stringify(state)} is not a state of the job chart`);
  return state as JobState;
}

/**
 * Sets a job's input, last error and result from the JSON text a row keeps.
 * A value that cannot be read leaves its field empty and is named in
 * `defect`, so one bad row never makes a read (a lease!) throw for every job
 * beside it.
 */
export function readJsonColumns(job: StoredJob, input: string, lastError: string | null, result: string | null): void {
  try {
    job.input = JSON.parse(input);
  } catch (error) {
    job.defect = { field: 'input', reason: `is not JSON (${(error as Error).message})` };
  }
  if (result !== null) {
    try {
      job.result = JSON.parse(result);
    } catch (error) {
      job.defect ??= { field: 'result', reason: `is not JSON (${(error as Error).message})` };
    }
  }
  if (lastError === null) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(lastError);
  } catch (error) {
    job.defect ??= { field: 'lastError', reason: `is not JSON (${(error as Error).message})` };
    return;
  }
  if (isJobError(parsed)) job.lastError = parsed;
  else job.defect ??= { field: 'lastError', reason: `is not an error object with a string name and message: ${lastError.slice(0, 200)}` };
}

function isJobError(value: unknown): value is JobError {
  if (typeof value !== 'object' || value === null) return false;
  const { name, message, stack } = value as Record<string, unknown>;
  return typeof name === 'string' && typeof message === 'string' && (stack === undefined || typeof stack === 'string');
}

/** A jobs row as both SQL stores read it: snake_case columns, times as epoch ms, JSON as text. */
export interface SqlJobRow<Id extends string | number> {
  id: Id;
  name: string;
  queue: string;
  /** A state of the chart, unless someone wrote the row behind the store's back. */
  state: string;
  input: string;
  priority: number;
  run_at: number;
  attempt: number;
  max_retries: number;
  timeout_ms: number;
  last_error: string | null;
  /** The handler's result as JSON text; null when none was stored. */
  result: string | null;
  /** The latest progress as JSON text; null when none was stored. */
  progress: string | null;
  lease_token: string | null;
  lease_expires_at: number | null;
  created_at: number;
  updated_at: number;
  /** Absent from rows of a read that does not select it. */
  group?: string | null;
  /** The enqueuer's trace context; absent from rows of a read that does not select it. */
  trace_context?: string | null;
}

export function jobFromRow(row: SqlJobRow<string | number>): StoredJob {
  const id = String(row.id);
  const job: StoredJob = {
    id,
    name: row.name,
    queue: row.queue,
    state: chartState(id, row.state),
    input: undefined,
    priority: row.priority,
    runAt: row.run_at,
    attempt: row.attempt,
    maxRetries: row.max_retries,
    timeoutMs: row.timeout_ms,
    lastError: null,
    result: null,
    progress: null,
    leaseToken: row.lease_token,
    leaseExpiresAt: row.lease_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    group: row.group ?? null,
  };
  if (row.trace_context) job.traceContext = row.trace_context;
  readJsonColumns(job, row.input, row.last_error, row.result);
  if (row.progress !== null) {
    try {
      job.progress = JSON.parse(row.progress);
    } catch {
      // Progress is a report, not the job's data: unreadable, it reads as none rather than failing the job.
    }
  }
  return job;
}
