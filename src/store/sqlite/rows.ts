import type { StoredJob } from '../contract.js';
import { chartState, readJsonColumns } from '../row-values.js';

/** A row of dispatch_jobs as better-sqlite3 returns it. */
export interface JobRow {
  id: number;
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
  lease_token: string | null;
  lease_expires_at: number | null;
  created_at: number;
  updated_at: number;
}

export function toStoredJob(row: JobRow): StoredJob {
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
    leaseToken: row.lease_token,
    leaseExpiresAt: row.lease_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  readJsonColumns(job, row.input, row.last_error);
  return job;
}

/**
 * The rowid an id names, or null for a string this store never gave out.
 * Checked here because SQLite would also match '7.0' or ' 7' to row 7.
 */
export function rowidOf(id: string): number | null {
  if (typeof id !== 'string' || !/^[1-9][0-9]{0,15}$/.test(id)) return null;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : null;
}
