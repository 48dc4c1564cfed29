import type { JobEvent } from '../../machines/job.machine.js';
import { PayloadTooLargeError } from '../errors.js';
import { assertJsonSerializable } from '../job/serializable.js';
import type { Decision } from '../kernel/kernel.js';
import type { LeasedJob, ProgressWrite, Store } from '../store/contract.js';

/** The most a progress report may be, as JSON: it is a report, stored with the job, not a result. */
export const MAX_PROGRESS_BYTES = 4096;

/** Where a handler's `ctx.progress` goes, with the token that names its attempt. */
export interface ProgressReporter {
  report(token: unknown, value: unknown): Promise<void>;
}

export interface ProgressParts<T> {
  store: Store;
  /** The chart's step for `event` on the job `token` names, if this process still holds it running; null otherwise. */
  decide(token: T, event: JobEvent): Decision | null;
  job(token: T): LeasedJob;
  /** A stored step, for `events$`, with the value stored. */
  emit(job: LeasedJob, step: Decision, progress: unknown): void;
  listening(): boolean;
  error(error: unknown, context: string): void;
}

interface Latest {
  value: unknown;
  json: string;
  /** Resolved once this value, or a later one, is written or dropped. */
  settle: Array<() => void>;
}

/**
 * Progress reports of running jobs, coalesced: a job reports as often as it
 * likes, and at most one write per job is in flight, carrying its latest
 * value; reports made meanwhile replace each other and go in the next. Each
 * write is a compare-and-set on the job's id, the running state and the lease
 * token, so a worker that lost the job cannot write it.
 */
export class ProgressWrites<T extends object> implements ProgressReporter {
  private dirty = new Map<T, Latest>();
  private flushing = false;

  constructor(private readonly parts: ProgressParts<T>) {}

  report(token: unknown, value: unknown): Promise<void> {
    assertJsonSerializable(value, 'progress');
    const json = JSON.stringify(value);
    if (json.length > MAX_PROGRESS_BYTES / 3) {
      const bytes = Buffer.byteLength(json);
      if (bytes > MAX_PROGRESS_BYTES) throw new PayloadTooLargeError('progress', bytes, MAX_PROGRESS_BYTES, 'MAX_PROGRESS_BYTES');
    }
    return new Promise((resolve) => {
      const key = token as T;
      const earlier = this.dirty.get(key);
      this.dirty.set(key, { value, json, settle: earlier ? [...earlier.settle, resolve] : [resolve] });
      if (!this.flushing && this.dirty.size === 1) queueMicrotask(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.dirty.size > 0) {
        const batch = this.dirty;
        this.dirty = new Map();
        const sent: Array<{ token: T; latest: Latest; step: Decision }> = [];
        const writes: ProgressWrite[] = [];
        for (const [token, latest] of batch) {
          // Decided on the latest value only: the chart sees the reports that are stored.
          const step = this.parts.decide(token, { type: 'PROGRESS', progress: latest.value });
          if (!step) {
            for (const settle of latest.settle) settle();
            continue;
          }
          const job = this.parts.job(token);
          sent.push({ token, latest, step });
          writes.push({ id: job.id, token: job.leaseToken!, progressJson: latest.json });
        }
        if (writes.length === 0) continue;
        let applied: boolean[] = [];
        try {
          applied = await this.parts.store.progress(writes);
        } catch (error) {
          this.parts.error(error, 'writing job progress');
        }
        const listening = this.parts.listening();
        sent.forEach(({ token, latest, step }, i) => {
          if (applied[i] && listening) this.parts.emit(this.parts.job(token), step, latest.value);
          for (const settle of latest.settle) settle();
        });
      }
    } finally {
      this.flushing = false;
    }
  }
}
