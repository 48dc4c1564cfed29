import type { JobState } from '../../../machines/job.machine.js';
import type { LeasedJob, NewJob, StoredJob } from '../contract.js';
import { jobFromRow, type SqlJobRow } from '../row-values.js';

/**
 * A timestamptz as epoch ms; round, not floor, so a time stored from whole ms
 * reads back exactly. date_part, not extract: extract answers numeric, whose
 * arithmetic cost a microsecond a row more.
 */
export const epochMs = (column: string) => `round(date_part('epoch', ${column}) * 1000)`;

/** A timestamp from epoch ms (a float8 parameter or column). */
export const fromEpochMs = (value: string) => `to_timestamp(${value} / 1000)`;

/**
 * The columns every read selects, cast so the answer does not depend on the
 * type parsers of a pool the user gave: ids and JSON as text, times as ms.
 */
export const jobColumns = (t: string) => `${ownColumns(t)},
  ${epochMs(`${t}.lease_expires_at`)} AS lease_expires_at, ${epochMs(`${t}.updated_at`)} AS updated_at`;

/**
 * The columns but the two times a lease sets alike on every row it takes
 * (updated_at, lease_expires_at): the lease answers those once, not a
 * conversion to ms per row.
 */
export const ownColumns = (t: string) => `
  ${t}.id::text AS id, ${t}.name, ${t}.queue, ${t}.state, ${t}.input::text AS input, ${t}.priority,
  ${epochMs(`${t}.run_at`)} AS run_at, ${t}.attempt, ${t}.max_retries, ${t}.timeout_ms,
  ${t}.last_error::text AS last_error, ${t}.result::text AS result, ${t}.progress::text AS progress, ${t}.lease_token,
  ${epochMs(`${t}.created_at`)} AS created_at, ${t}."group", ${t}.trace_context`;

/** A jobs row as this store reads it. */
export type JobRow = SqlJobRow<string>;

export const toStoredJob = (row: JobRow): StoredJob => jobFromRow(row);

/** Rows a lease statement answered, with the state each was leased from. */
export function toLeasedJobs(rows: ReadonlyArray<JobRow & { leased_from: JobState }>): LeasedJob[] {
  return rows.map((row) => {
    const job = toStoredJob(row) as LeasedJob;
    job.leasedFrom = row.leased_from;
    return job;
  });
}

const ID = /^[1-9][0-9]{0,18}$/;
const MAX_ID = 2n ** 63n - 1n;

/** Whether `id` can name a row (a positive bigint), so a stray id answers "not found" instead of a cast error. */
export function isRowId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id) && BigInt(id) <= MAX_ID;
}

/** The columns every insert sends, one array each, in the jobs' order: name, queue, input, priority, runAt, maxRetries, timeoutMs. */
export function insertColumns(jobs: readonly NewJob[]): unknown[][] {
  const columns: unknown[][] = [[], [], [], [], [], [], []];
  for (const job of jobs) {
    columns[0]!.push(job.name);
    columns[1]!.push(job.queue);
    columns[2]!.push(job.inputJson);
    columns[3]!.push(job.priority);
    columns[4]!.push(job.runAt);
    columns[5]!.push(job.maxRetries);
    columns[6]!.push(job.timeoutMs);
  }
  return columns;
}

/** Each job's trace context, in the jobs' order; null when none has one (most batches), so no array is sent. */
export function traceColumn(jobs: readonly NewJob[]): Array<string | null> | null {
  return jobs.some((job) => job.traceContext) ? jobs.map((job) => job.traceContext ?? null) : null;
}
