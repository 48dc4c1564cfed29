import type { StoredJob } from '../contract.js';

/** A row of dispatch_jobs as better-sqlite3 returns it. */
export interface JobRow {
  id: number;
  name: string;
  queue: string;
  state: StoredJob['state'];
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
  return {
    id: String(row.id),
    name: row.name,
    queue: row.queue,
    state: row.state,
    input: JSON.parse(row.input),
    priority: row.priority,
    runAt: row.run_at,
    attempt: row.attempt,
    maxRetries: row.max_retries,
    timeoutMs: row.timeout_ms,
    lastError: row.last_error === null ? null : JSON.parse(row.last_error),
    leaseToken: row.lease_token,
    leaseExpiresAt: row.lease_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
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
