import type { Clock } from '../clock.js';
import { isResting, type NewJob, type Store, type StoredJob, type StoredSchedule } from '../store/contract.js';
import { cronOf, dueTicks, nextTick } from './cron-ticks.js';
import type { MaintenanceService } from './service.js';

/** The longest the service sleeps: how soon a schedule saved by another process is seen. */
export const CRON_MAX_SLEEP_MS = 30_000;
/** How soon a process tries again when another held the duty, or the pass failed. */
const RETRY_MS = 1_000;
/** Tick rows are kept this long, then pruned, at most PRUNE_BATCH a pass. */
export const TICK_KEEP_MS = 24 * 3_600_000;
const PRUNE_BATCH = 500;

export interface CronParts {
  store: Store;
  clock: Clock;
  /** Tells this process's worker a job is due at `runAt`. */
  wake(runAt: number): void;
  /** Told of each job a tick enqueued, for metrics. */
  enqueued?(jobs: readonly StoredJob[]): void;
  /** Told of a stored schedule this version cannot read (its cron or time zone); the others go on. */
  reportError(error: unknown, context: string): void;
}

/**
 * Fires the ticks of every stored schedule as they come due: sleeps until
 * the earliest next tick (at most CRON_MAX_SLEEP_MS), then records each due
 * tick with its job through `store.fireTick`. It runs under the `cron`
 * duty, which saves work; the tick row makes it exact, so two processes
 * firing at once, or a process dying mid-pass, never make a tick's job twice.
 */
export class CronService implements MaintenanceService {
  readonly name = 'cron';
  readonly everyMs = CRON_MAX_SLEEP_MS;
  /** The earliest next tick the last pass saw; null when it saw none. */
  private nextAt: number | null = null;

  constructor(private readonly parts: CronParts) {}

  nextPassMs(ran: boolean): number {
    if (!ran) return RETRY_MS;
    const sleep = this.nextAt === null ? CRON_MAX_SLEEP_MS : this.nextAt - this.parts.clock.now();
    return Math.max(0, Math.min(CRON_MAX_SLEEP_MS, sleep));
  }

  async run(): Promise<number> {
    const { store, clock } = this.parts;
    const now = clock.now();
    let fired = 0;
    let nextAt: number | null = null;
    for (const schedule of await store.listSchedules()) {
      let cron;
      try {
        cron = cronOf(schedule.cron, schedule.tz);
      } catch (error) {
        this.parts.reportError(error, `reading schedule ${schedule.name}`);
        continue;
      }
      fired += await this.fireDue(schedule, dueTicks(cron, schedule.catchUp, Math.max(schedule.lastTickAt ?? -Infinity, schedule.updatedAt), now));
      const next = nextTick(cron, now);
      if (next !== null && (nextAt === null || next < nextAt)) nextAt = next;
    }
    this.nextAt = nextAt;
    await store.pruneTicks(now - TICK_KEEP_MS, PRUNE_BATCH);
    return fired;
  }

  /** Records each tick, oldest first; stops at the first another process recorded first (it fires the rest). */
  private async fireDue(schedule: StoredSchedule, ticks: readonly number[]): Promise<number> {
    let fired = 0;
    let lastJobId = schedule.lastJobId;
    for (const tickAt of ticks) {
      const job = (await this.overlaps(schedule, lastJobId)) ? null : jobOf(schedule, tickAt);
      const result = await this.parts.store.fireTick({ schedule: schedule.name, version: schedule.updatedAt, tickAt, job });
      if (!result.recorded) break;
      if (result.job) {
        fired++;
        lastJobId = result.job.id;
        this.parts.enqueued?.([result.job]);
        this.parts.wake(result.job.runAt);
      }
    }
    return fired;
  }

  /** Whether the tick is to be skipped: overlap 'skip' and the previous job not at rest (the chart's rest tag). */
  private async overlaps(schedule: StoredSchedule, lastJobId: string | null): Promise<boolean> {
    if (schedule.overlap !== 'skip' || lastJobId === null) return false;
    const previous = await this.parts.store.get(lastJobId);
    return previous !== null && !isResting(previous.state);
  }
}

/** The tick's job, due at the tick: missed ticks fired late keep their order. */
function jobOf(schedule: StoredSchedule, tickAt: number): NewJob {
  const { job } = schedule;
  return {
    name: job.name,
    queue: job.queue,
    input: job.input,
    inputJson: job.inputJson,
    priority: job.priority,
    runAt: tickAt,
    maxRetries: job.maxRetries,
    timeoutMs: job.timeoutMs,
  };
}
