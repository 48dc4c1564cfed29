import { z } from 'zod';
import type { Clock } from '../clock.js';
import { InvalidOptionError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import { jobOptionsSchema, parseOrThrow, type JobOptions, type ResolvedOptions } from '../job/options.js';
import type { Registry } from '../job/registry.js';
import { cronOf, nextTick } from '../maintenance/cron-ticks.js';
import type { CatchUp, Overlap, Store, StoredSchedule } from '../store/contract.js';
import { CATCH_UPS, OVERLAPS } from '../store/schedules.js';
import { strictOptions } from '../strict-options.js';
import { newJob } from './new-job.js';

export interface ScheduleOptions extends JobOptions {
  /** The time zone the expression is read in, an IANA name such as `'Europe/Berlin'`. Default `'UTC'`. */
  tz?: string;
  /** `'skip'`: a tick while the previous tick's job is not at rest makes no job. Default `'allow'`. */
  overlap?: Overlap;
  /** Which ticks missed while no process ran fire late: `'none'`, the `'latest'`, or `'all'` (up to 100). Default `'none'`. */
  catchUp?: CatchUp;
}

/** A stored schedule, as `schedules.list()` and `schedule()` answer it. */
export interface Schedule {
  name: string;
  cron: string;
  tz: string;
  /** The job each tick enqueues, with its input and options as resolved when the schedule was saved. */
  job: string;
  input: unknown;
  queue: string;
  priority: number;
  maxRetries: number;
  timeoutMs: number;
  overlap: Overlap;
  catchUp: CatchUp;
  /** The expression's next tick after now, in its time zone; null if it fires no more. */
  nextRunAt: Date | null;
  /** The latest tick recorded (fired, or skipped for overlap). */
  lastTickAt: Date | null;
  /** The job the latest fired tick enqueued. */
  lastJobId: string | null;
  createdAt: Date;
  /** When the definition last changed; saving the same one again keeps it. */
  updatedAt: Date;
}

/** The schedules every process sharing the store sees. */
export interface Schedules {
  /** Every schedule, by name, each with its next tick. */
  list(): Promise<Schedule[]>;
  /** Removes the schedule; answers whether there was one. A job a tick already made is not touched. */
  remove(name: string): Promise<boolean>;
}

export interface ScheduleParts {
  store: Store;
  registry: Registry;
  defaults: Required<ResolvedOptions>;
  maxPayloadBytes: number;
  ready(): Promise<void>;
  clock: Clock;
  /** A schedule was saved here: this process's cron service looks again. */
  saved(): void;
}

const scheduleOptionsSchema = strictOptions(
  {
    ...jobOptionsSchema.shape,
    tz: z.unknown().optional(),
    overlap: z.enum(OVERLAPS as [Overlap, ...Overlap[]], { error: `must be one of ${OVERLAPS.map((o) => `'${o}'`).join(', ')}` }).optional(),
    catchUp: z.enum(CATCH_UPS as [CatchUp, ...CatchUp[]], { error: `must be one of ${CATCH_UPS.map((c) => `'${c}'`).join(', ')}` }).optional(),
  },
  'schedule',
);

/** Saves, lists and removes cron schedules; the cron maintenance service fires them. */
export class ScheduleClient implements Schedules {
  constructor(private readonly parts: ScheduleParts) {}

  /**
   * Checks everything first (name, expression, time zone, job, input,
   * options), then creates the schedule or replaces the one of that name.
   */
  async schedule(name: string, cron: string, job: AnyJobDefinition | string, input: unknown, options: ScheduleOptions = {}): Promise<Schedule> {
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw new InvalidOptionError('name', 'must be a non-empty string of at most 200 characters');
    }
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object');
    const parsed = parseOrThrow(scheduleOptionsSchema, options, 'options');
    const tz = parsed.tz === undefined ? 'UTC' : parsed.tz;
    cronOf(cron, tz, { cron: 'cron', tz: 'options.tz' });
    const def = this.parts.registry.resolve(job);
    const now = this.parts.clock.now();
    const resolved = { maxRetries: parsed.maxRetries, timeoutMs: parsed.timeout, queue: parsed.queue, priority: parsed.priority };
    const checked = newJob(def, input, resolved, this.parts.defaults, this.parts.maxPayloadBytes, now);
    await this.parts.ready();
    const stored = await this.parts.store.saveSchedule({
      name,
      cron,
      tz: tz as string,
      job: {
        name: checked.name,
        queue: checked.queue,
        inputJson: checked.inputJson,
        priority: checked.priority,
        maxRetries: checked.maxRetries,
        timeoutMs: checked.timeoutMs,
      },
      overlap: parsed.overlap ?? 'allow',
      catchUp: parsed.catchUp ?? 'none',
      now,
    });
    this.parts.saved();
    return this.toSchedule(stored, now);
  }

  async list(): Promise<Schedule[]> {
    await this.parts.ready();
    const now = this.parts.clock.now();
    return (await this.parts.store.listSchedules()).map((s) => this.toSchedule(s, now));
  }

  async remove(name: string): Promise<boolean> {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidOptionError('name', 'must be a non-empty string');
    await this.parts.ready();
    return this.parts.store.removeSchedule(name);
  }

  private toSchedule(s: StoredSchedule, now: number): Schedule {
    let next: number | null = null;
    try {
      next = nextTick(cronOf(s.cron, s.tz), now);
    } catch {
      // A row this version cannot read: listed, with no next tick.
    }
    const date = (ms: number | null) => (ms === null ? null : new Date(ms));
    return {
      name: s.name,
      cron: s.cron,
      tz: s.tz,
      job: s.job.name,
      input: s.job.input,
      queue: s.job.queue,
      priority: s.job.priority,
      maxRetries: s.job.maxRetries,
      timeoutMs: s.job.timeoutMs,
      overlap: s.overlap,
      catchUp: s.catchUp,
      nextRunAt: date(next),
      lastTickAt: date(s.lastTickAt),
      lastJobId: s.lastJobId,
      createdAt: new Date(s.createdAt),
      updatedAt: new Date(s.updatedAt),
    };
  }
}
