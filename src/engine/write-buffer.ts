import { type Clock, systemClock } from '../clock.js';
import type { Store, TransitionWrite } from '../store/contract.js';

const RETRY_DELAYS_MS = [100, 400, 1600];

/** Told, with the token the write was handed in with, whether the compare-and-set held, or the error when the store call failed. */
export interface WriteSink<T> {
  written(token: T, applied: boolean, error?: unknown): void;
}

/** The writes not yet answered by the store, as the supervisor counts them against its room. */
export interface WriteBacklog {
  unacknowledged: number;
  /** A batch failed and is waiting to be tried again. */
  stalled: boolean;
}

interface Pending {
  write: TransitionWrite;
  sink: WriteSink<unknown>;
  token: unknown;
}

/** Settles a promise: the sink of `writeAsync`. */
const promiseSink: WriteSink<{ resolve: (applied: boolean) => void; reject: (error: unknown) => void }> = {
  written: (settle, applied, error) => (error ? settle.reject(error) : settle.resolve(applied)),
};

/**
 * Gathers the transition writes made in one turn of the event loop into one
 * store call, and keeps gathering while that call is in flight: under load a
 * round trip carries many completions.
 *
 * It tells `onBacklog` how many writes are unanswered and whether a failed
 * batch is waiting for another try: a job whose outcome is unwritten runs
 * again if this process dies, so the supervisor counts these against its
 * room and leases nothing while writes are failing. Reports are gathered
 * into one a turn; `report()` sends a change at once.
 */
export class WriteBuffer {
  private queued: Pending[] = [];
  private flushing = false;
  private idleWaiters: Array<() => void> = [];
  private unanswered = 0;
  private stalled = false;
  private reportedUnanswered = 0;
  private reportedStalled = false;

  constructor(
    private readonly store: Store,
    private readonly onBacklog: (backlog: WriteBacklog) => void = () => {},
    private readonly clock: Clock = systemClock,
  ) {}

  /** Queues a write; `sink` hears with `token` once it is answered (no closure: this is every job's path). */
  write<T>(write: TransitionWrite, sink: WriteSink<T>, token: T): void {
    this.queued.push({ write, sink: sink as WriteSink<unknown>, token });
    this.unanswered++;
    if (!this.flushing && this.queued.length === 1) queueMicrotask(() => this.flush());
  }

  /** Tells `onBacklog` now if the backlog changed since it last heard. */
  report(): void {
    if (this.unanswered === this.reportedUnanswered && this.stalled === this.reportedStalled) return;
    this.reportedUnanswered = this.unanswered;
    this.reportedStalled = this.stalled;
    this.onBacklog({ unacknowledged: this.unanswered, stalled: this.stalled });
  }

  writeAsync(write: TransitionWrite): Promise<boolean> {
    return new Promise((resolve, reject) => this.write(write, promiseSink, { resolve, reject }));
  }

  /** Resolves once every write handed in so far has been answered. */
  idle(): Promise<void> {
    if (!this.flushing && this.queued.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    while (this.queued.length > 0) {
      const batch = this.queued;
      this.queued = [];
      const writes = batch.map((p) => p.write);
      let applied: boolean[] | null = null;
      let failure: unknown;
      // A store that blinks (a database restart, a dropped connection) gets a few tries before the
      // writes are given up on: a lost outcome write means the job runs again once its lease runs out.
      // A retry is safe: a write that did land the first time loses its compare-and-set the second.
      for (let tries = 0; ; tries++) {
        try {
          applied = await this.store.write(writes);
          break;
        } catch (error) {
          if (tries >= RETRY_DELAYS_MS.length) {
            failure = error ?? new Error('the store failed a write without saying why');
            break;
          }
          if (!this.stalled) {
            this.stalled = true;
            this.report();
          }
          await new Promise<void>((resolve) => this.clock.setTimeout(resolve, RETRY_DELAYS_MS[tries]!));
        }
      }
      // Answered, landed or given up on: either way the worker may lease again.
      this.unanswered -= batch.length;
      this.stalled = false;
      this.report();
      for (let i = 0; i < batch.length; i++) {
        const { sink, token } = batch[i]!;
        if (applied) sink.written(token, applied[i] === true);
        else sink.written(token, false, failure);
      }
    }
    this.flushing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
