import { LifecycleError } from '../errors.js';
import type { StateCounts } from '../store/contract.js';

/** Jobs completed in one minute, across every process sharing the store. */
export interface MinuteCount {
  /** The minute's start. */
  minute: Date;
  completed: number;
  /** Jobs that ended dead (in the DLQ, or failed) that minute. */
  dead: number;
}

export interface Throughput {
  sampleEveryMs: number;
  /** When the first sample was taken: minutes before it are not known. */
  since: Date | null;
  /** The last `minutes` minutes, oldest first; the last is the minute under way. */
  perMinute: MinuteCount[];
}

interface Sample {
  at: number;
  completed: number;
  dead: number;
}

const MINUTE = 60_000;
/** Minutes kept and shown. */
const MINUTES = 30;

/**
 * Throughput read from the store's counts, sampled on an interval while the
 * sampler runs: the store is shared, so what it counts is cluster-wide, even
 * in a process that runs no jobs. Each sample's rise over the one before is
 * added to the minute it fell in. A rise is never negative: retention or a
 * purge deleting finished jobs between two samples hides completions made in
 * that interval, so the figure is a floor, exact when nothing deletes.
 */
export class ThroughputSampler {
  private readonly minutes = new Map<number, { completed: number; dead: number }>();
  private last: Sample | null = null;
  private since: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private sampling: Promise<void> | null = null;

  constructor(
    private readonly counts: () => Promise<StateCounts>,
    private readonly everyMs: number,
    private readonly report: (error: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes a sample now and then every interval, until `stop()` or the dispatcher stops. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample(), this.everyMs);
    // A dashboard must not keep the process alive on its own.
    this.timer.unref();
    void this.sample();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Samples once (skipped while one is under way). */
  sample(): Promise<void> {
    this.sampling ??= this.take().finally(() => (this.sampling = null));
    return this.sampling;
  }

  read(): Throughput {
    const current = Math.floor(this.now() / MINUTE) * MINUTE;
    const perMinute: MinuteCount[] = [];
    for (let m = current - (MINUTES - 1) * MINUTE; m <= current; m += MINUTE) {
      if (this.since === null || m + MINUTE <= this.since) continue;
      const counted = this.minutes.get(m);
      perMinute.push({ minute: new Date(m), completed: counted?.completed ?? 0, dead: counted?.dead ?? 0 });
    }
    return { sampleEveryMs: this.everyMs, since: this.since === null ? null : new Date(this.since), perMinute };
  }

  private async take(): Promise<void> {
    let counts: StateCounts;
    try {
      counts = await this.counts();
    } catch (error) {
      // The dispatcher stopped: nothing more to sample.
      if (error instanceof LifecycleError) this.stop();
      else this.report(error);
      return;
    }
    const sample: Sample = { at: this.now(), completed: counts.completed, dead: counts.dlq + counts.failed };
    if (this.last) {
      const minute = Math.floor(sample.at / MINUTE) * MINUTE;
      const counted = this.minutes.get(minute) ?? { completed: 0, dead: 0 };
      counted.completed += Math.max(0, sample.completed - this.last.completed);
      counted.dead += Math.max(0, sample.dead - this.last.dead);
      this.minutes.set(minute, counted);
      for (const m of this.minutes.keys()) if (m <= minute - MINUTES * MINUTE) this.minutes.delete(m);
    } else {
      this.since = sample.at;
    }
    this.last = sample;
  }
}
