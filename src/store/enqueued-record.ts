import { jobRules, type NewJob, type StoredJob } from './contract.js';

/** A job as every store answers it right after the insert: pending, no attempt yet, no lease. */
export function enqueuedRecord(job: NewJob, id: string, input: unknown, createdAt: number): StoredJob {
  const record: StoredJob = {
    id,
    name: job.name,
    queue: job.queue,
    state: jobRules.initial,
    input,
    priority: job.priority,
    runAt: job.runAt,
    attempt: 0,
    maxRetries: job.maxRetries,
    timeoutMs: job.timeoutMs,
    lastError: null,
    result: null,
    progress: null,
    leaseToken: null,
    leaseExpiresAt: null,
    createdAt,
    updatedAt: createdAt,
    group: job.group ?? null,
  };
  if (job.traceContext) record.traceContext = job.traceContext;
  return record;
}
