import type { NewJob, NewSchedule, StoredJob, StoredSchedule, TickFire, TickResult } from '../contract.js';
import { StoreError } from '../contract.js';

/** The definition fields: saving them unchanged keeps a schedule's updatedAt. */
const sameDefinition = (a: StoredSchedule, b: NewSchedule) =>
  a.cron === b.cron && a.tz === b.tz && a.overlap === b.overlap && a.catchUp === b.catchUp &&
  a.job.name === b.job.name && a.job.inputJson === b.job.inputJson && a.job.queue === b.job.queue &&
  a.job.priority === b.job.priority && a.job.maxRetries === b.job.maxRetries && a.job.timeoutMs === b.job.timeoutMs;

/**
 * The memory store's schedules and tick rows. Every caller is in this
 * process and each check-and-record below runs without an await between, so
 * a tick is recorded once.
 */
export class MemorySchedules {
  private readonly schedules = new Map<string, StoredSchedule>();
  /** Tick rows: `${schedule}\0${tickAt}`, with the time for pruning. */
  private readonly ticks = new Map<string, number>();

  constructor(private readonly insert: (jobs: readonly NewJob[]) => Promise<StoredJob[]>) {}

  save(schedule: NewSchedule): StoredSchedule {
    let input: unknown;
    try {
      input = JSON.parse(schedule.job.inputJson);
    } catch (error) {
      throw new StoreError(`memory store: saving schedule ${schedule.name} failed: its inputJson is not JSON`, { cause: error });
    }
    const old = this.schedules.get(schedule.name);
    const { now, job, ...definition } = schedule;
    const kept = old && sameDefinition(old, schedule);
    const row: StoredSchedule = {
      ...definition,
      job: { ...job, input },
      lastTickAt: old?.lastTickAt ?? null,
      lastJobId: old?.lastJobId ?? null,
      createdAt: old?.createdAt ?? now,
      updatedAt: kept ? old.updatedAt : now,
    };
    this.schedules.set(row.name, row);
    return copy(row);
  }

  list(): StoredSchedule[] {
    return [...this.schedules.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(copy);
  }

  remove(name: string): boolean {
    return this.schedules.delete(name);
  }

  async fire(tick: TickFire): Promise<TickResult> {
    const row = this.schedules.get(tick.schedule);
    const key = `${tick.schedule}\0${tick.tickAt}`;
    if (!row || row.updatedAt !== tick.version || (row.lastTickAt !== null && row.lastTickAt >= tick.tickAt) || this.ticks.has(key)) {
      return { recorded: false, job: null };
    }
    // Recorded before the insert is awaited: a second fire of this tick meanwhile finds it.
    this.ticks.set(key, tick.tickAt);
    const lastTickAt = row.lastTickAt;
    row.lastTickAt = tick.tickAt;
    if (!tick.job) return { recorded: true, job: null };
    try {
      const [job] = await this.insert([tick.job]);
      row.lastJobId = job!.id;
      return { recorded: true, job: job! };
    } catch (error) {
      this.ticks.delete(key);
      row.lastTickAt = lastTickAt;
      throw error;
    }
  }

  prune(before: number, limit: number): number {
    let removed = 0;
    // Map order is insertion order, which is not tick order across schedules: collect the oldest.
    const old = [...this.ticks].filter(([, at]) => at < before).sort((a, b) => a[1] - b[1]).slice(0, limit);
    for (const [key] of old) if (this.ticks.delete(key)) removed++;
    return removed;
  }
}

function copy(row: StoredSchedule): StoredSchedule {
  return { ...row, job: { ...row.job, input: structuredClone(row.job.input) } };
}
