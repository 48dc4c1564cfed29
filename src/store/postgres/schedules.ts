import type pg from 'pg';
import type { NewJob, NewSchedule, StoredJob, StoredSchedule, TickFire, TickResult } from '../contract.js';
import { SCHEDULE_COLUMNS, type ScheduleRow, scheduleFromRow } from '../schedule-rows.js';

const DEFINITION = 'cron, tz, job_name, input, queue, priority, max_retries, timeout_ms, overlap, catch_up';
const columns = DEFINITION.split(', ');
/** json has no equality: the input is compared as text. */
const compared = (t: string) => columns.map((c) => (c === 'input' ? `${t}.input::text` : `${t}.${c}`)).join(', ');
/** bigints and ids as numbers and text, so the answer does not depend on a pool's type parsers. */
const READ = SCHEDULE_COLUMNS.replace('input', 'input::text AS input')
  .replace('last_tick_at', 'last_tick_at::float8 AS last_tick_at')
  .replace('last_job_id', 'last_job_id::text AS last_job_id')
  .replace('created_at', 'created_at::float8 AS created_at')
  .replace('updated_at', 'updated_at::float8 AS updated_at');

function statements(s: string) {
  return {
    // Saving the same definition again keeps updated_at: a restart that schedules again loses no missed tick.
    save: `INSERT INTO ${s}.schedules AS old (name, ${DEFINITION}, created_at, updated_at)
      VALUES ($1, $2, $3, $4, $5::json, $6, $7, $8, $9, $10, $11, $12, $12)
      ON CONFLICT (name) DO UPDATE SET
        updated_at = CASE WHEN (${compared('old')}) IS DISTINCT FROM (${compared('excluded')}) THEN excluded.updated_at ELSE old.updated_at END,
        ${columns.map((c) => `${c} = excluded.${c}`).join(', ')}
      RETURNING ${READ}`,
    // Byte order, as the other stores sort: a locale collation would order names differently.
    list: `SELECT ${READ} FROM ${s}.schedules ORDER BY name COLLATE "C"`,
    remove: `DELETE FROM ${s}.schedules WHERE name = $1`,
    // Locks the schedule: a second fire of the same tick waits here, then finds last_tick_at moved on.
    due: `SELECT 1 FROM ${s}.schedules
      WHERE name = $1 AND updated_at = $2 AND (last_tick_at IS NULL OR last_tick_at < $3) FOR UPDATE`,
    tick: `INSERT INTO ${s}.schedule_ticks (schedule, tick_at) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1`,
    advance: `WITH t AS (UPDATE ${s}.schedule_ticks SET job_id = $3 WHERE schedule = $1 AND tick_at = $2 AND $3::bigint IS NOT NULL)
      UPDATE ${s}.schedules SET last_tick_at = $2, last_job_id = coalesce($3::bigint, last_job_id) WHERE name = $1`,
    prune: `DELETE FROM ${s}.schedule_ticks WHERE (schedule, tick_at) IN (
      SELECT schedule, tick_at FROM ${s}.schedule_ticks WHERE tick_at < $1 ORDER BY tick_at LIMIT $2)`,
  };
}

export interface ScheduleParts {
  /** The schema, quoted. */
  schema: string;
  pool(): pg.Pool;
  /** The store's insert, through the given connection (inside the tick's transaction). */
  insert(jobs: readonly NewJob[], client: pg.PoolClient): Promise<StoredJob[]>;
  /** Runs `fn`, turning what pg throws into a StoreError saying what failed. */
  run<R>(what: string, fn: () => Promise<R>): Promise<R>;
}

/**
 * The Postgres store's schedules. A tick is one transaction: the schedule
 * locked and checked, the tick row, the job (through the store's own
 * insert, whose trigger wakes workers at commit) and the schedule's last tick.
 */
export class PostgresSchedules {
  private readonly sql: ReturnType<typeof statements>;

  constructor(private readonly parts: ScheduleParts) {
    this.sql = statements(parts.schema);
  }

  async save(s: NewSchedule): Promise<StoredSchedule> {
    const { job } = s;
    const values = [s.name, s.cron, s.tz, job.name, job.inputJson, job.queue, job.priority, job.maxRetries, job.timeoutMs, s.overlap, s.catchUp, s.now];
    const { rows } = await this.parts.run('saving a schedule', () => this.parts.pool().query<ScheduleRow>(this.sql.save, values));
    return scheduleFromRow(rows[0]!);
  }

  async list(): Promise<StoredSchedule[]> {
    const { rows } = await this.parts.run('listing schedules', () => this.parts.pool().query<ScheduleRow>(this.sql.list));
    return rows.map(scheduleFromRow);
  }

  async remove(name: string): Promise<boolean> {
    const result = await this.parts.run('removing a schedule', () => this.parts.pool().query(this.sql.remove, [name]));
    return result.rowCount === 1;
  }

  async fire(t: TickFire): Promise<TickResult> {
    const client = await this.parts.run('taking a connection', () => this.parts.pool().connect());
    let failed = false;
    try {
      return await this.parts.run('firing a tick', async () => {
        await client.query('BEGIN');
        try {
          const due = await client.query(this.sql.due, [t.schedule, t.version, t.tickAt]);
          const ticked = due.rowCount === 1 && (await client.query(this.sql.tick, [t.schedule, t.tickAt])).rowCount === 1;
          if (!ticked) {
            await client.query('ROLLBACK');
            return { recorded: false, job: null };
          }
          const job = t.job ? (await this.parts.insert([t.job], client))[0]! : null;
          await client.query(this.sql.advance, [t.schedule, t.tickAt, job?.id ?? null]);
          await client.query('COMMIT');
          return { recorded: true, job };
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      });
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // After a failure the connection may be broken: destroy it rather than reuse it.
      client.release(failed);
    }
  }

  async prune(before: number, limit: number): Promise<number> {
    const result = await this.parts.run('pruning ticks', () => this.parts.pool().query(this.sql.prune, [before, limit]));
    return result.rowCount ?? 0;
  }
}
