import { type Clock, systemClock } from '../clock.js';
import type { Store, TransitionWrite } from '../store/contract.js';

const RETRY_DELAYS_MS = [100, 400, 1600];

/** Told, with the token the write was handed in with, whether the compare-and-set held, or the error when the store call failed. */
export interface WriteSink<T> {
  written(token: T, applied: boolean, error?: unknown): void;
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
 * round trip carries many completions. For a store whose writes block
 * (`writesBlock`, SQLite) the flush waits for setImmediate, not a microtask:
 * Node runs the microtasks after each timer's callback, so handlers that
 * await timers or I/O and end in the same phase of the loop would each have
 * had a commit and an fsync of their own, with nothing running beside them.
 * Other stores go at once (their call is in flight while writes gather).
 *
 * It tells `onStall` when a failed batch starts waiting for another try
 * (true) and when it has landed or been given up on (false): the supervisor
 * leases nothing meanwhile, as jobs it ran could not be recorded.
 */
export class WriteBuffer {
  private queued: Pending[] = [];
  private flushing = false;
  private idleWaiters: Array<() => void> = [];
  private stalled = false;
  private readonly schedule: (flush: () => void) => void;

  constructor(
    private readonly store: Store,
    private readonly onStall: (stalled: boolean) => void = () => {},
    private readonly clock: Clock = systemClock,
  ) {
    this.schedule = store.writesBlock ? (flush) => setImmediate(flush) : queueMicrotask;
  }

  /** Queues a write; `sink` hears with `token` once it is answered (no closure: this is every job's path). */
  write<T>(write: TransitionWrite, sink: WriteSink<T>, token: T): void {
    this.queued.push({ write, sink: sink as WriteSink<unknown>, token });
    if (!this.flushing && this.queued.length === 1) this.schedule(() => void this.flush());
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
            this.onStall(true);
          }
          await new Promise<void>((resolve) => this.clock.setTimeout(resolve, RETRY_DELAYS_MS[tries]!));
        }
      }
      // Landed or given up on: either way the worker may lease again.
      if (this.stalled) {
        this.stalled = false;
        this.onStall(false);
      }
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
