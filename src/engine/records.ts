import type { JobError, JobState } from '../../machines/job.machine.js';
import type { StoredJob } from '../store/contract.js';

/** A job as the public API shows it. */
export interface JobRecord<I = unknown> {
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
  /** While running: when the lease runs out unless a heartbeat extends it. */
  leaseExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export function toRecord<I = unknown>(job: StoredJob): JobRecord<I> {
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
    leaseExpiresAt: job.leaseExpiresAt === null ? null : new Date(job.leaseExpiresAt),
    createdAt: new Date(job.createdAt),
    updatedAt: new Date(job.updatedAt),
  };
}

/** Any thrown value as storable error data; a non-Error is described, not lost. */
export function toJobError(thrown: unknown): JobError {
  if (thrown instanceof Error) {
    const error: JobError = { name: thrown.name, message: thrown.message };
    if (thrown.stack) error.stack = thrown.stack;
    return error;
  }
  let message: string;
  try {
    message = typeof thrown === 'string' ? thrown : (JSON.stringify(thrown) ?? String(thrown));
  } catch {
    message = String(thrown);
  }
  return { name: 'NonErrorThrown', message: `the handler threw a non-Error value: ${message}` };
}
