import { JOB_STATES, type JobState } from '../../machines/job.machine.js';
import { DispatcherImpl, type Dispatcher, type DispatcherOptions } from '../engine/dispatcher.js';
import type { JobRecord, RecordOf } from '../engine/records.js';
import { toRecord } from '../engine/records.js';
import { isResting, type StoredJob } from '../store/contract.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import { memoryStore } from '../store/memory/memory-store.js';
import type { WaitForOptions } from '../client/wait-for.js';
import { FakeClock, settle } from './fake-clock.js';

export interface TestDispatcherOptions extends Omit<DispatcherOptions, 'store' | 'clock'> {
  /** Definitions to register. */
  jobs?: readonly AnyJobDefinition[];
  /** Where the fake clock starts. Default: now. */
  now?: number | Date;
  /** The most steps `runUntilIdle` and `waitFor` take before giving up (a job that never settles). Default 10,000. */
  maxSteps?: number;
  /**
   * How long, in real time, running handlers are given to get on (a handler
   * awaiting real time or I/O) before the clock moves on without them, to
   * its next timer (which may be their timeout). Default 100 ms.
   */
  realWaitMs?: number;
}

/** A dispatcher on the memory store and a fake clock, with what a test needs to drive it. */
export interface TestDispatcher extends Dispatcher {
  readonly clock: FakeClock;
  /**
   * Runs every job that is due, moving the clock through timeouts and
   * backoffs, until none runs, none waits out a backoff and none is due;
   * jobs scheduled for later stay where they are (move the clock to them).
   * Starts the dispatcher if it is not started.
   */
  runUntilIdle(): Promise<void>;
  /** Moves the clock as far as it takes for the job to come to rest, and answers its record. */
  waitFor<I = unknown, O = unknown>(job: string | JobRecord<I, O>, options?: WaitForOptions): Promise<JobRecord<I, O>>;
  /** Every job of `definition` in the store, in enqueue order: what the code under test enqueued. */
  enqueued<D extends AnyJobDefinition>(definition: D): Promise<RecordOf<D>[]>;
}

class TestDispatcherImpl extends DispatcherImpl implements TestDispatcher {
  private started = false;
  /** The counts handlers were last given real time at without moving: no second wait until they change. */
  private waitedAt: string | null = null;

  constructor(
    options: DispatcherOptions,
    readonly clock: FakeClock,
    private readonly maxSteps: number,
    private readonly realWaitMs: number,
  ) {
    super(options);
  }

  override async start(): Promise<void> {
    this.started = true;
    await super.start();
  }

  async runUntilIdle(): Promise<void> {
    await this.drive(async () => {
      const { running, retrying, pending } = await this.counts();
      if (running > 0 || retrying > 0) return false;
      return pending === 0 || (await this.earliestPending()) > this.clock.now();
    }, 'the queue to come to rest');
  }

  override async waitFor<I = unknown, O = unknown>(job: string | JobRecord<I, O>, options?: WaitForOptions): Promise<JobRecord<I, O>> {
    const id = typeof job === 'string' ? job : job.id;
    await this.drive(async () => {
      const stored = await this.store.get(id);
      return stored === null || isResting(stored.state);
    }, `job ${id} to come to rest`);
    return super.waitFor<I, O>(job, options);
  }

  async enqueued<D extends AnyJobDefinition>(definition: D): Promise<RecordOf<D>[]> {
    const found: JobRecord[] = [];
    for (const state of JOB_STATES) {
      for (const job of await this.all(state)) if (job.name === definition.name) found.push(toRecord(job));
    }
    return found.sort((a, b) => Number(a.id) - Number(b.id)) as RecordOf<D>[];
  }

  /** Lets the engine work, moving the clock to its next timer whenever it is quiet, until `done`. */
  private async drive(done: () => Promise<boolean>, what: string): Promise<void> {
    if (!this.started) await this.start();
    for (let step = 0; step < this.maxSteps; step++) {
      await settle();
      if (await done()) return;
      if (await this.handlersGotOn(done)) continue;
      const next = this.clock.nextAt();
      if (next === null) break;
      await this.clock.advanceTo(next);
    }
    throw new Error(`the test clock gave up waiting for ${what} after ${this.maxSteps} steps (now ${new Date(this.clock.now()).toISOString()})`);
  }

  /** While handlers run, gives them real time (up to realWaitMs) to finish or move on; true when something moved. */
  private async handlersGotOn(done: () => Promise<boolean>): Promise<boolean> {
    const counts = await this.counts();
    const before = JSON.stringify(counts);
    if (counts.running === 0 || before === this.waitedAt) return false;
    const deadline = Date.now() + this.realWaitMs;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      await settle();
      if (await done()) return true;
      if (JSON.stringify(await this.counts()) !== before) return true;
    }
    this.waitedAt = before;
    return false;
  }

  private async earliestPending(): Promise<number> {
    let earliest = Infinity;
    for (const job of await this.all('pending')) earliest = Math.min(earliest, job.runAt);
    return earliest;
  }

  /** Every job in `state`, page by page. */
  private async all(state: JobState): Promise<StoredJob[]> {
    const jobs: StoredJob[] = [];
    for (let cursor: string | null = null; ; ) {
      const page = await this.store.list({ state, limit: 500, cursor });
      jobs.push(...page.jobs);
      if (!page.nextCursor) return jobs;
      cursor = page.nextCursor;
    }
  }
}

/**
 * A dispatcher for tests: the memory store, and a fake clock the whole
 * engine runs on (timeouts, backoffs, runAt, leases, heartbeats, the
 * reaper). Move time with `clock.advance('5m')`, run what is due with
 * `runUntilIdle()`, and check what a handler enqueued with `enqueued(def)`.
 */
export function createTestDispatcher(options: TestDispatcherOptions = {}): TestDispatcher {
  const { jobs = [], now, maxSteps = 10_000, realWaitMs = 100, ...rest } = options;
  const clock = new FakeClock(now);
  const dispatcher = new TestDispatcherImpl({ ...rest, store: memoryStore({ now: () => clock.now() }), clock }, clock, maxSteps, realWaitMs);
  for (const job of jobs) dispatcher.register(job);
  return dispatcher;
}
