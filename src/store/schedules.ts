import type { NewJob, StoredJob } from './contract.js';

/** What a tick does while the schedule's previous job is not at rest: skip the tick, or enqueue anyway. */
export type Overlap = 'skip' | 'allow';

/**
 * Which ticks missed while no process fired them (downtime) are fired late:
 * none of them, the most recent one, or every one (up to a cap, see docs/cron.md).
 */
export type CatchUp = 'none' | 'latest' | 'all';

/** A schedule's definition, as `schedule()` checked it: the job's fields are resolved, so any process can fire it. */
export interface NewSchedule {
  name: string;
  cron: string;
  tz: string;
  /** The job each tick enqueues. */
  job: {
    name: string;
    queue: string;
    /** The input as JSON. */
    inputJson: string;
    priority: number;
    maxRetries: number;
    timeoutMs: number;
  };
  overlap: Overlap;
  catchUp: CatchUp;
  /** The engine's time of the call: the created and updated time of a schedule it creates or changes. */
  now: number;
}

/** A schedule as a store keeps it. Times are epoch milliseconds of the engine's clock. */
export interface StoredSchedule extends Omit<NewSchedule, 'now' | 'job'> {
  job: NewSchedule['job'] & { input: unknown };
  /** The latest tick recorded (fired or skipped); null before the first. */
  lastTickAt: number | null;
  /** The job the latest fired tick enqueued. */
  lastJobId: string | null;
  createdAt: number;
  /**
   * When the definition last changed: saving the same definition again keeps
   * it. Ticks at or before it are never fired, and a tick is recorded only
   * while it is unchanged (it is the schedule's version).
   */
  updatedAt: number;
}

/** One tick of a schedule, to record once. */
export interface TickFire {
  schedule: string;
  /** The schedule's `updatedAt` the caller read: the tick is refused if the definition changed since. */
  version: number;
  tickAt: number;
  /** The job to enqueue for it; null records the tick as skipped (overlap). */
  job: NewJob | null;
}

export interface TickResult {
  /** False when nothing was written: the tick was recorded already, a later tick was, or the schedule changed or went. */
  recorded: boolean;
  /** The job the tick enqueued, when it was recorded with one. */
  job: StoredJob | null;
}

/**
 * Cron schedules, kept by the store so every process sharing it sees the
 * same ones. A tick is a row keyed by (schedule, tick time), written in the
 * same transaction as its job: a tick makes one job whoever fires it and
 * however often.
 */
export interface ScheduleStore {
  /** Creates or replaces the schedule of that name; keeps its ticks, created time and, if the definition is unchanged, its updated time. */
  saveSchedule(schedule: NewSchedule): Promise<StoredSchedule>;
  /** Every schedule, by name. */
  listSchedules(): Promise<StoredSchedule[]>;
  /** Removes the schedule; answers whether there was one. Its tick rows are left for pruneTicks. */
  removeSchedule(name: string): Promise<boolean>;
  /**
   * Records the tick and inserts its job, all or nothing, if the schedule
   * still has that version, has recorded no tick at or after `tickAt`, and
   * the tick has no row yet.
   */
  fireTick(tick: TickFire): Promise<TickResult>;
  /** Deletes at most `limit` tick rows older than `before`, oldest first; answers how many. */
  pruneTicks(before: number, limit: number): Promise<number>;
}

export const OVERLAPS: readonly Overlap[] = ['skip', 'allow'];
export const CATCH_UPS: readonly CatchUp[] = ['none', 'latest', 'all'];
