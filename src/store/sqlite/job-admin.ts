import type { Database as Db } from 'better-sqlite3';
import type { CountFilter, ExpireBatch, ExpireResult, ListOptions, ProgressWrite, RescheduleWrite, StateCounts, StoredJob } from '../contract.js';
import { jobRules } from '../contract.js';
import { appended, writeEntry } from './history-sql.js';
import { type JobRow, rowidOf, toStoredJob } from './rows.js';
import type { WorkerRefs } from './worker-refs.js';

type JobState = StoredJob['state'];


/** Finding and changing jobs beside the hot path: progress, reschedule, filtered lists and counts, retention. */
export const ADMIN_SQL = {
  progress: `UPDATE dispatch_jobs SET progress = ? WHERE id = ? AND state = '${jobRules.progressIn}' AND lease_token = ?`,
  reschedule: `UPDATE dispatch_jobs SET
      state = @to, run_at = @runAt, priority = @priority, updated_at = @now,
      attempt = coalesce(@attempt, attempt),
      lease_token = NULL, lease_expires_at = NULL,
      history = CASE WHEN @event IS NULL THEN history ELSE ${appended(
        writeEntry({ from: '@from', to: '@to', event: '@event', attempt: 'coalesce(@attempt, attempt)', worker: '@worker', now: '@now', lastError: 'last_error' }),
      )} END
    WHERE id = @id AND state = @from AND (@anyToken OR lease_token IS @token)`,
  // By queue: the state index (state, then rowid), the queue a filter on the rows it reads. An index
  // by queue cost every enqueue a quarter of its rate (measured in bulk), so there is none.
  listQueue: `SELECT * FROM dispatch_jobs WHERE state = ? AND queue = ? AND id > ? ORDER BY id LIMIT ?`,
  countsQueue: `SELECT count(*) AS n FROM dispatch_jobs WHERE state = ? AND queue = ?`,
  // Retention walks the primary key: the ids of one batch, then the first id after it, to know whether to go on.
  expiredInRange: `SELECT id FROM dispatch_jobs WHERE id > ? AND id <= ? AND state = ? AND updated_at < ?`,
  nextAfter: `SELECT id, created_at FROM dispatch_jobs WHERE id > ? ORDER BY id LIMIT 1`,
  removeJobs: `DELETE FROM dispatch_jobs WHERE id IN (SELECT value FROM json_each(?)) AND state = ? AND updated_at < ?`,
} as const;

export interface JobAdmin {
  progress(writes: readonly ProgressWrite[]): boolean[];
  reschedule(write: RescheduleWrite): boolean;
  list(options: ListOptions, after: number): JobRow[];
  counts(filter: CountFilter): StateCounts;
  expire(batch: ExpireBatch): ExpireResult;
}

/**
 * Deletes a batch of jobs by id, only those still in `state` and older than
 * `before` (a replay may have moved one since it was chosen), with whatever
 * the store keeps for them. The one place a job is removed by retention:
 * something stored beside a job is deleted here too.
 */
export function jobRemover(db: Db): (ids: readonly number[], state: JobState, before: number) => number {
  const remove = db.prepare<[string, string, number]>(ADMIN_SQL.removeJobs);
  return (ids, state, before) => (ids.length === 0 ? 0 : remove.run(JSON.stringify(ids), state, before).changes);
}

export function prepareAdmin(db: Db, workers: WorkerRefs): JobAdmin {
  const progressOne = db.prepare<[string, number, string]>(ADMIN_SQL.progress);
  const rescheduleOne = db.prepare(ADMIN_SQL.reschedule);
  const listQueue = db.prepare<[string, string, number, number], JobRow>(ADMIN_SQL.listQueue);
  const countsQueue = db.prepare<[string, string], { n: number }>(ADMIN_SQL.countsQueue);
  const listState = db.prepare<[string, number, number], JobRow>(`SELECT * FROM dispatch_jobs WHERE state = ? AND id > ? ORDER BY id LIMIT ?`);
  const expiredInRange = db.prepare<[number, number, string, number], { id: number }>(ADMIN_SQL.expiredInRange);
  const nextAfter = db.prepare<[number], { id: number; created_at: number }>(ADMIN_SQL.nextAfter);
  const remove = jobRemover(db);

  return {
    progress: db.transaction((writes: readonly ProgressWrite[]) =>
      writes.map((w) => {
        const id = rowidOf(w.id);
        return id !== null && progressOne.run(w.progressJson, id, w.token).changes === 1;
      }),
    ).immediate,
    reschedule: (w) => {
      const id = rowidOf(w.id);
      if (id === null) return false;
      const params = {
        id, from: w.from, to: w.to, anyToken: w.token === undefined ? 1 : 0, token: w.token ?? null,
        attempt: w.attempt ?? null, runAt: w.runAt, priority: w.priority, now: Date.now(), event: w.event ?? null, worker: workers.refOf(w.worker),
      };
      return rescheduleOne.run(params).changes === 1;
    },
    list: (options, after) => {
      const { state, queue, name, limit } = options;
      // A name filter reads the state's (and queue's) rows in order until the page is full.
      const out: JobRow[] = [];
      let from = after;
      for (;;) {
        const chunk = Math.max(limit + 1, name === undefined ? 0 : 256);
        const rows =
          queue === undefined
            ? listState.all(state, from, chunk)
            : listQueue.all(state, queue, from, chunk);
        for (const row of rows) if (name === undefined || row.name === name) out.push(row);
        if (out.length > limit || rows.length < chunk) return out.slice(0, limit + 1);
        from = rows[rows.length - 1]!.id;
      }
    },
    counts: (filter) => {
      const counts: StateCounts = { pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, dlq: 0, cancelled: 0 };
      for (const state of jobRules.states) counts[state] = countsQueue.get(state, filter.queue!)?.n ?? 0;
      return counts;
    },
    expire: db.transaction((batch: ExpireBatch): ExpireResult => {
      const after = batch.cursor === null ? 0 : rowidOf(batch.cursor) ?? 0;
      const end = after + batch.limit;
      const ids = expiredInRange.all(after, end, batch.state, batch.before).map((r) => r.id);
      const deleted = remove(ids, batch.state, batch.before);
      // Ids follow creation and a job changes no earlier than it was created: past a job created
      // at or after the cutoff, none can be old enough.
      const next = nextAfter.get(end);
      const cursor = next && next.created_at < batch.before ? String(next.id - 1) : null;
      return { deleted, cursor };
    }).immediate,
  };
}

export { toStoredJob };
