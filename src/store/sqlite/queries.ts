import { jobRules, sqlList } from '../contract.js';
import { appended, leaseEntries, writeEntry } from './history-sql.js';

/**
 * The chart's states a lease takes from, written exactly as in the partial
 * index's WHERE, so SQLite sees the index applies (a test holds the schema to the chart).
 */
const LEASABLE = `state IN (${sqlList(jobRules.leaseFrom)})`;
/** The chart's one state that holds a lease. */
const LEASED = `'${jobRules.leased}'`;
/**
 * Named outright: with no statistics the planner prefers the state index and
 * then sorts every waiting row, which is a full sort per lease with a big backlog.
 */
const LEASABLE_INDEX = 'dispatch_jobs INDEXED BY dispatch_jobs_leasable';
const DEADLINE_INDEX = 'dispatch_jobs INDEXED BY dispatch_jobs_lease_deadline';

/** A lease's update of one row, but for the history it may add. */
const TAKE = `UPDATE dispatch_jobs SET state = ${LEASED}, attempt = attempt + ${jobRules.attemptsPerLease}, lease_token = @token, lease_expires_at = @deadline, updated_at = @now`;
/** An outcome write's update, but for the result and history it may add. */
const WRITE = `UPDATE dispatch_jobs SET
      state = @to,
      updated_at = @now,
      attempt = coalesce(@attempt, attempt),
      run_at = coalesce(@runAt, run_at),
      last_error = CASE WHEN @setError THEN @lastError ELSE last_error END,
      lease_token = CASE WHEN @to = ${LEASED} THEN lease_token END,
      lease_expires_at = CASE WHEN @to = ${LEASED} THEN lease_expires_at END`;
const WRITE_WHERE = 'WHERE id = @id AND state = @from AND (@anyToken OR lease_token IS @token)';

/**
 * Every statement the store runs, in one place so their query plans can be
 * checked against the indexes of the schema (see migrations.ts).
 */
export const SQL = {
  insert: `INSERT INTO dispatch_jobs (name, queue, state, input, priority, run_at, attempt, max_retries, timeout_ms, created_at, updated_at, "group", trace_context)
    VALUES (?, ?, '${jobRules.initial}', ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`,

  // Leasing walks lanes (priority, queue, name) of the leasable index: the first, the next of a priority
  // (row values, so one seek), the first of the next queue (skipping a queue not served), the next priority.
  firstLane: `SELECT priority, queue, name FROM ${LEASABLE_INDEX} WHERE ${LEASABLE} ORDER BY priority DESC, queue, name LIMIT 1`,
  // The next name of the same queue. Not a row value `(queue, name) > (?, ?)`: SQLite seeks only on
  // `queue >= ?` for that and reads every row of the lane it leaves, a whole backlog per lease.
  nextName: `SELECT name FROM ${LEASABLE_INDEX} WHERE ${LEASABLE} AND priority = ? AND queue = ? AND name > ? ORDER BY name LIMIT 1`,
  nextQueue: `SELECT queue, name FROM ${LEASABLE_INDEX} WHERE ${LEASABLE} AND priority = ? AND queue > ? ORDER BY queue, name LIMIT 1`,
  nextPriority: `SELECT priority, queue, name FROM ${LEASABLE_INDEX} WHERE ${LEASABLE} AND priority < ? ORDER BY priority DESC, queue, name LIMIT 1`,
  dueInLane: `SELECT * FROM ${LEASABLE_INDEX} WHERE ${LEASABLE} AND priority = ? AND queue = ? AND name = ? AND run_at <= ? ORDER BY run_at, id LIMIT ?`,
  firstLaterInLane: `SELECT run_at FROM ${LEASABLE_INDEX} WHERE ${LEASABLE} AND priority = ? AND queue = ? AND name = ? AND run_at > ? ORDER BY run_at LIMIT 1`,
  // @worker: the leasing worker, whose steps go into the job's history.
  take: `${TAKE},
      history = ${appended(leaseEntries('@worker', '@now'))}
    WHERE id = @id`,
  // The same with no history kept: the history expression cost a row ~0.5 us even when it kept nothing.
  takeBare: `${TAKE} WHERE id = @id`,

  // A compare-and-set: id, state and, unless anyToken, the lease. Leaving running ends the lease.
  write: `${WRITE},
      result = coalesce(@result, result),
      -- The step into the job's history when the write names its event.
      history = CASE WHEN @event IS NULL THEN history ELSE ${appended(
        writeEntry({ from: '@from', to: '@to', event: '@event', attempt: 'coalesce(@attempt, attempt)', worker: '@worker', now: '@now', lastError: 'CASE WHEN @setError THEN @lastError ELSE last_error END' }),
      )} END
    ${WRITE_WHERE}`,
  // The same for a step with no event to record and no result (history off): ~2 us a row less.
  writeBare: `${WRITE} ${WRITE_WHERE}`,
  extend: `UPDATE dispatch_jobs SET lease_expires_at = ? WHERE id = ? AND state = ${LEASED} AND lease_token = ?`,

  get: `SELECT * FROM dispatch_jobs WHERE id = ?`,
  history: `SELECT created_at, history FROM dispatch_jobs WHERE id = ?`,
  expired: `SELECT * FROM ${DEADLINE_INDEX} WHERE state = ${LEASED} AND lease_expires_at < ? ORDER BY lease_expires_at, id LIMIT ?`,
  list: `SELECT * FROM dispatch_jobs WHERE state = ? AND id > ? ORDER BY id LIMIT ?`,
  purge: `DELETE FROM dispatch_jobs WHERE state = ? AND updated_at < ?`,
  counts: `SELECT state, count(*) AS n FROM dispatch_jobs GROUP BY state`,

  // Leader duties: a claim is taken when there is none or it has expired, and kept or given up by its holder only.
  takeDuty: `INSERT INTO dispatch_duties (name, holder, expires_at) VALUES (@name, @holder, @expiresAt)
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
    WHERE dispatch_duties.expires_at <= @now`,
  renewDuty: `UPDATE dispatch_duties SET expires_at = @expiresAt WHERE name = @name AND holder = @holder`,
  releaseDuty: `DELETE FROM dispatch_duties WHERE name = @name AND holder = @holder`,

  // Enqueues by other processes: rows past the last id this connection saw, read through the rowid.
  lastId: `SELECT coalesce(max(id), 0) AS id FROM dispatch_jobs`,
  firstDueInIds: `SELECT min(run_at) AS runAt FROM dispatch_jobs WHERE id > ? AND id <= ? AND ${LEASABLE}`,

  // Of the jobs someone here waits for (ids as a JSON array), those at rest: after another process's commit.
  restingIn: `SELECT id FROM dispatch_jobs WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('completed', 'failed', 'dlq', 'cancelled')`,
} as const;
