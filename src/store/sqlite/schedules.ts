import type { Database } from 'better-sqlite3';
import type { NewJob, NewSchedule, StoredJob, StoredSchedule, TickFire, TickResult } from '../contract.js';
import { SCHEDULE_COLUMNS, type ScheduleRow, scheduleFromRow } from '../schedule-rows.js';

const DEFINITION = 'cron, tz, job_name, input, queue, priority, max_retries, timeout_ms, overlap, catch_up';
const excluded = DEFINITION.split(', ').map((column) => `excluded.${column}`).join(', ');

const SQL = {
  // Saving the same definition again keeps updated_at: a restart that schedules again loses no missed tick.
  save: `INSERT INTO dispatch_schedules (name, ${DEFINITION}, created_at, updated_at)
    VALUES (@name, @cron, @tz, @jobName, @input, @queue, @priority, @maxRetries, @timeoutMs, @overlap, @catchUp, @now, @now)
    ON CONFLICT (name) DO UPDATE SET
      updated_at = CASE WHEN (${DEFINITION}) IS NOT (${excluded}) THEN excluded.updated_at ELSE updated_at END,
      ${DEFINITION.split(', ').map((column) => `${column} = excluded.${column}`).join(', ')}
    RETURNING ${SCHEDULE_COLUMNS}`,
  list: `SELECT ${SCHEDULE_COLUMNS} FROM dispatch_schedules ORDER BY name`,
  remove: 'DELETE FROM dispatch_schedules WHERE name = ?',
  due: `SELECT 1 FROM dispatch_schedules
    WHERE name = @schedule AND updated_at = @version AND (last_tick_at IS NULL OR last_tick_at < @tickAt)`,
  tick: 'INSERT OR IGNORE INTO dispatch_schedule_ticks (schedule, tick_at, job_id) VALUES (@schedule, @tickAt, @jobId)',
  advance: `UPDATE dispatch_schedules SET last_tick_at = @tickAt, last_job_id = coalesce(@jobId, last_job_id) WHERE name = @schedule`,
  prune: `DELETE FROM dispatch_schedule_ticks WHERE (schedule, tick_at) IN (
    SELECT schedule, tick_at FROM dispatch_schedule_ticks WHERE tick_at < ? ORDER BY tick_at LIMIT ?)`,
};

export interface ScheduleStatements {
  save(schedule: NewSchedule): StoredSchedule;
  list(): StoredSchedule[];
  remove(name: string): boolean;
  fire(tick: TickFire): TickResult;
  prune(before: number, limit: number): number;
}

/**
 * The schedules on one connection. A tick is one write transaction: the
 * schedule checked, the tick row, the job (through the store's own insert,
 * nested as a savepoint) and the schedule's last tick, all or nothing.
 */
export function scheduleStatements(db: Database, insert: (jobs: readonly NewJob[]) => StoredJob[]): ScheduleStatements {
  const save = db.prepare<Record<string, unknown>, ScheduleRow>(SQL.save);
  const list = db.prepare<[], ScheduleRow>(SQL.list);
  const remove = db.prepare<[string]>(SQL.remove);
  const due = db.prepare<{ schedule: string; version: number; tickAt: number }>(SQL.due);
  const tick = db.prepare<{ schedule: string; tickAt: number; jobId: null }>(SQL.tick);
  const advance = db.prepare<{ schedule: string; tickAt: number; jobId: number | null }>(SQL.advance);
  const setTickJob = db.prepare<[number, string, number]>('UPDATE dispatch_schedule_ticks SET job_id = ? WHERE schedule = ? AND tick_at = ?');
  const prune = db.prepare<[number, number]>(SQL.prune);
  return {
    save: db.transaction((s: NewSchedule) => {
      const { job } = s;
      const row = save.get({
        name: s.name, cron: s.cron, tz: s.tz, jobName: job.name, input: job.inputJson, queue: job.queue, priority: job.priority,
        maxRetries: job.maxRetries, timeoutMs: job.timeoutMs, overlap: s.overlap, catchUp: s.catchUp, now: s.now,
      });
      return scheduleFromRow(row!);
    }).immediate,
    list: () => list.all().map(scheduleFromRow),
    remove: (name) => remove.run(name).changes === 1,
    fire: db.transaction((t: TickFire): TickResult => {
      const { schedule, version, tickAt } = t;
      if (!due.get({ schedule, version, tickAt })) return { recorded: false, job: null };
      if (tick.run({ schedule, tickAt, jobId: null }).changes === 0) return { recorded: false, job: null };
      const job = t.job ? insert([t.job])[0]! : null;
      const jobId = job ? Number(job.id) : null;
      if (jobId !== null) setTickJob.run(jobId, schedule, tickAt);
      advance.run({ schedule, tickAt, jobId });
      return { recorded: true, job };
    }).immediate,
    prune: (before, limit) => prune.run(before, limit).changes,
  };
}
