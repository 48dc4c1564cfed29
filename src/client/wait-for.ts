import type { Clock } from '../clock.js';
import { type Duration, MAX_TIMER_MS, toMs } from '../duration.js';
import { type JobRecord, toRecord } from '../engine/records.js';
import { CorruptJobError, InvalidOptionError, JobNotFoundError, WaitTimeoutError } from '../errors.js';
import { isResting, type Store, type StoredJob } from '../store/contract.js';

export interface WaitForOptions {
  /** How long to wait at most before rejecting with a `WaitTimeoutError`. Default: as long as it takes. */
  timeout?: Duration;
}

export interface WaitDeps {
  store: Store;
  /** Opens the store if need be; rejects once the dispatcher stops. */
  ready: () => Promise<void>;
  /** Aborted when the dispatcher stops: a wait still going ends with its reason. */
  stopped: AbortSignal;
  clock: Clock;
}

/**
 * A write already under way when a watch began may not be seen by it (on
 * Postgres it did not see the waiter's row) and may commit after the first
 * look: look once more after this long, by when such a write has committed.
 */
const SECOND_LOOK_MS = 100;
/** Without a watch: look after this long, then twice as long each time, up to POLL_MAX_MS. */
const POLL_FIRST_MS = 10;
const POLL_MAX_MS = 1000;

/**
 * Resolves with the job's record once it is at rest (`completed`, `failed`,
 * `dlq` or `cancelled`), at once if it already is. Prompt on every store: it
 * listens for the store's rest signal (`watchRest`) and confirms with a read;
 * a store without one is polled with a growing interval. Rejects with a
 * `WaitTimeoutError` after `timeout`, a `JobNotFoundError` for an unknown id
 * (or one purged meanwhile), and a `CorruptJobError` for a result stored
 * that cannot be read.
 */
export async function waitFor<I = unknown, O = unknown>(
  deps: WaitDeps,
  job: string | { id: string },
  options: WaitForOptions = {},
): Promise<JobRecord<I, O>> {
  const id = typeof job === 'object' && job !== null ? job.id : job;
  if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionError('id', 'must be a non-empty string, or a job record');
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object');
  const timeoutMs = options.timeout === undefined ? Infinity : toMs(options.timeout, 'timeout');
  if (timeoutMs <= 0) throw new InvalidOptionError('timeout', 'must be longer than 0 ms');
  const startedAt = deps.clock.now();
  await deps.ready();
  const first = await deps.store.get(id);
  if (!first) throw new JobNotFoundError(id);
  if (isResting(first.state)) return recordOf<I, O>(first);
  return new Wait<I, O>(deps, id, timeoutMs, startedAt, first).promise;
}

function recordOf<I, O>(job: StoredJob): JobRecord<I, O> {
  if (job.defect?.field === 'result') throw new CorruptJobError(job.id, 'result', job.defect.reason);
  return toRecord<I, O>(job);
}

/** One wait in progress: a watch, a timeout, and reads that never overlap. */
class Wait<I, O> {
  readonly promise: Promise<JobRecord<I, O>>;
  private resolve!: (record: JobRecord<I, O>) => void;
  private reject!: (error: unknown) => void;
  private done = false;
  private reading = false;
  private readAgain = false;
  private lastState: string;
  private readonly timers = new Set<unknown>();
  private stopWatch: (() => void) | null = null;
  private pollMs = POLL_FIRST_MS;
  private readonly onStopped = () => this.finish(() => this.reject(this.deps.stopped.reason));

  constructor(
    private readonly deps: WaitDeps,
    private readonly id: string,
    timeoutMs: number,
    startedAt: number,
    seen: StoredJob,
  ) {
    this.lastState = seen.state;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (deps.stopped.aborted) {
      this.onStopped();
      return;
    }
    deps.stopped.addEventListener('abort', this.onStopped, { once: true });
    if (timeoutMs <= MAX_TIMER_MS) {
      const left = Math.max(0, startedAt + timeoutMs - deps.clock.now());
      this.after(left, () => this.finish(() => this.reject(new WaitTimeoutError(id, timeoutMs, this.lastState))));
    }
    this.watch();
  }

  private watch(): void {
    const { store } = this.deps;
    if (!store.watchRest) {
      this.poll();
      return;
    }
    // Through a promise: a store that throws instead of rejecting is polled all the same.
    Promise.resolve()
      .then(() => store.watchRest!(this.id, () => this.look()))
      .then(
        (stop) => {
          if (this.done) return stop();
          this.stopWatch = stop;
          // The watch is in effect: what came to rest before it began shows in a read.
          this.look();
          this.after(SECOND_LOOK_MS, () => this.look());
          // A signal can still be lost (a connection that dropped and came back): look now and then anyway.
          if (store.maxSleepMs <= MAX_TIMER_MS) this.every(store.maxSleepMs);
        },
        () => {
          if (!this.done) this.poll();
        },
      );
  }

  private poll(): void {
    this.look();
    this.after(this.pollMs, () => this.poll());
    this.pollMs = Math.min(this.pollMs * 2, Math.max(POLL_FIRST_MS, Math.min(this.deps.store.maxSleepMs, POLL_MAX_MS)));
  }

  private every(ms: number): void {
    this.after(ms, () => {
      this.look();
      this.every(ms);
    });
  }

  /** Reads the job; a signal arriving during a read asks for one more after it, never two at once. */
  private look(): void {
    if (this.done) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    this.deps.store.get(this.id).then(
      (job) => {
        this.reading = false;
        if (!job) return this.finish(() => this.reject(new JobNotFoundError(this.id)));
        this.lastState = job.state;
        if (isResting(job.state)) {
          let record: JobRecord<I, O>;
          try {
            record = recordOf<I, O>(job);
          } catch (error) {
            return this.finish(() => this.reject(error));
          }
          return this.finish(() => this.resolve(record));
        }
        if (this.readAgain) {
          this.readAgain = false;
          this.look();
        }
      },
      (error: unknown) => {
        this.reading = false;
        this.finish(() => this.reject(error));
      },
    );
  }

  private after(ms: number, run: () => void): void {
    if (this.done) return;
    const timer = this.deps.clock.setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private finish(settle: () => void): void {
    if (this.done) return;
    this.done = true;
    for (const timer of this.timers) this.deps.clock.clearTimeout(timer);
    this.timers.clear();
    this.deps.stopped.removeEventListener('abort', this.onStopped);
    this.stopWatch?.();
    this.stopWatch = null;
    settle();
  }
}
