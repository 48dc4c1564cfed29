import type { CatchUp, Overlap, StoredSchedule } from './schedules.js';

/** A schedules row as the SQL stores read it: the same column names in both, times as numbers. */
export interface ScheduleRow {
  name: string;
  cron: string;
  tz: string;
  job_name: string;
  input: string;
  queue: string;
  priority: number;
  max_retries: number;
  timeout_ms: number;
  overlap: string;
  catch_up: string;
  last_tick_at: number | null;
  last_job_id: string | number | null;
  created_at: number;
  updated_at: number;
}

export const SCHEDULE_COLUMNS =
  'name, cron, tz, job_name, input, queue, priority, max_retries, timeout_ms, overlap, catch_up, last_tick_at, last_job_id, created_at, updated_at';

/** A row as the contract shows it. An input that is not JSON reads as undefined; its text is fired as it is. */
export function scheduleFromRow(row: ScheduleRow): StoredSchedule {
  let input: unknown;
  try {
    input = JSON.parse(row.input);
  } catch {
    input = undefined;
  }
  return {
    name: row.name,
    cron: row.cron,
    tz: row.tz,
    job: {
      name: row.job_name,
      queue: row.queue,
      input,
      inputJson: row.input,
      priority: Number(row.priority),
      maxRetries: Number(row.max_retries),
      timeoutMs: Number(row.timeout_ms),
    },
    overlap: row.overlap as Overlap,
    catchUp: row.catch_up as CatchUp,
    lastTickAt: row.last_tick_at === null ? null : Number(row.last_tick_at),
    lastJobId: row.last_job_id === null ? null : String(row.last_job_id),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
