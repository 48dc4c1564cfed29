import { type Actor, createActor } from 'xstate';
import type { AbortReason, JobContext, JobError, JobEvent, JobMachine, JobState } from '../../machines/job.machine.js';
import { CancelledError, CorruptJobError, InvalidInputError, LeaseLostError, ShutdownError, TimeoutError, UnknownJobError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { Registry } from '../job/registry.js';
import type { LeasedJob, Store, TransitionWrite } from '../store/contract.js';
import { contextOf, decide, writeFor } from './chart.js';
import { type TransitionEvent, transitionEvent } from './events.js';
import { LazyHandlerContext } from './handler-context.js';
import { type QuickPath, readQuickPath } from './quick-path.js';
import { isPermanent, toJobError } from './records.js';
import type { WriteBuffer } from './write-buffer.js';

interface LiveJob {
  job: LeasedJob;
  /**
   * Null while the job waits in the prefetch buffer, and while its handler
   * runs on the chart's common path (see QuickPath); made when anything else happens.
   */
  actor: Actor<JobMachine> | null;
  /** Its handler was started. */
  started: boolean;
  /** The chart's context in `running`, made once when the handler starts. */
  context: JobContext | null;
  /** The chart's timeout `after`, armed when the handler starts and an actor of its own is not there to arm it. */
  timer: NodeJS.Timeout | null;
  /** The last state this process recorded for the job. */
  state: JobState;
  ctx: LazyHandlerContext | null;
  /** Waiting for the job to leave this process (its last write answered); made only when someone waits. */
  waiters: Array<() => void> | null;
}

export interface RunnerHooks {
  /** Jobs that left this process, so the supervisor can reuse their slots. */
  freed(jobs: ReadonlyArray<{ queue: string }>): void;
  /** A stored state change, for `events$`; only called when someone listens. */
  emit(event: TransitionEvent): void;
  listening(): boolean;
  /** A job went back to the queue, due at `runAt`. */
  requeued(runAt: number): void;
  error(error: unknown, context: string): void;
}

// Shared: these events carry nothing, and every job sends them.
const SUCCEED: JobEvent = Object.freeze({ type: 'SUCCEED' });
const ABANDON: JobEvent = Object.freeze({ type: 'ABANDON' });

const abortErrors: Record<AbortReason, (id: string) => Error> = {
  timeout: (id) => new TimeoutError(`job ${id} ran past its timeout`),
  cancel: (id) => new CancelledError(`job ${id} was cancelled`),
  shutdown: (id) => new ShutdownError(`the dispatcher stopped before job ${id} finished`),
  'lease-expired': (id) => new LeaseLostError(`the lease on job ${id} expired`),
};

/**
 * The jobs this process holds, from lease to the write that ends their stay
 * here. The chart decides every transition; the runner runs the handler,
 * writes what the chart decided, and frees the slot. A job whose handler
 * simply succeeds follows the chart's common path (read once from the
 * machine) without an actor of its own: an actor costs more than all the
 * rest of a job's path. Anything else (a failure, the timeout, a cancel, a
 * shutdown, a lost lease) starts the job's actor from the `running` snapshot,
 * and the actor decides from there as if it had been there all along.
 */
export class JobRunner {
  private readonly live = new Map<string, LiveJob>();
  private readonly machine: JobMachine;
  private readonly quick: QuickPath;
  private freedBatch: Array<{ queue: string }> = [];
  /** Leased jobs waiting for a handler, in lease order (the one order). */
  private readonly buffered: LiveJob[] = [];
  private running = 0;
  /** Stopping: buffered jobs go back to the queue instead of starting. */
  private draining = false;

  constructor(
    /** Handlers run at once; the supervisor may hold more jobs than this (prefetch). */
    private readonly concurrency: number,
    private readonly chart: JobMachine,
    private readonly registry: Registry,
    private readonly writes: WriteBuffer,
    private readonly store: Store,
    private readonly hooks: RunnerHooks,
  ) {
    this.machine = chart.provide({
      actions: {
        runHandler: ({ context }) => this.runHandler(context.id),
        abortHandler: ({ context }, params) => this.abort(context.id, params.reason),
      },
    });
    const quick = readQuickPath(this.machine);
    // The engine's own chart always has this shape; a test holds it to that.
    if (!quick) throw new Error('the job chart has no common path: running must enter by running the handler and arming its timeout, and SUCCEED must lead, unguarded, to one state');
    this.quick = quick;
  }

  /** Takes leased jobs: each starts at once while handlers are free, the rest wait in the buffer. */
  start(jobs: readonly LeasedJob[]): void {
    const listening = this.hooks.listening();
    for (const job of jobs) {
      const live: LiveJob = { job, actor: null, started: false, context: null, timer: null, state: 'running', ctx: null, waiters: null };
      this.live.set(job.id, live);
      if (listening) this.emitFor(live, job.leasedFrom, 'running', job.attempt, undefined);
      if (this.running < this.concurrency) this.run(live);
      else {
        this.buffered.push(live);
        if (this.draining) this.decideBuffered(live, ABANDON);
      }
    }
  }

  /** The dispatcher is stopping: jobs that have not started go back to the queue, uncounted. */
  drain(): void {
    this.draining = true;
    for (const live of [...this.buffered]) this.decideBuffered(live, ABANDON);
  }

  private run(live: LiveJob): void {
    const { job } = live;
    this.running++;
    live.started = true;
    // The chart's entry into running, done here: arm its timeout, run the handler.
    const context = contextOf(job, this.registry.deadLetter(job.name));
    live.context = context;
    live.timer = setTimeout(() => this.timedOut(live), this.quick.timeoutMs(context));
    this.runHandler(job.id);
  }

  /** The job's actor, started now from the `running` snapshot if it has none yet. */
  private actorOf(live: LiveJob): Actor<JobMachine> {
    if (live.actor) return live.actor;
    // Restored, not entered: its entry (the handler, the timeout) already happened here.
    const context = live.context!;
    const snapshot = this.machine.resolveState({ value: 'running', context });
    // `input` only satisfies the type: a snapshot given, the actor starts from it.
    const actor = createActor(this.machine, { snapshot, input: context });
    live.actor = actor;
    actor.start();
    actor.subscribe((next) => this.observe(live, next.value as JobState));
    return actor;
  }

  /** The chart's timeout: a restored actor armed no timer, so this one serves it too. */
  private timedOut(live: LiveJob): void {
    live.timer = null;
    if (live.state !== 'running' || this.live.get(live.job.id) !== live) return;
    this.actorOf(live).send({ type: this.quick.timeoutEvent } as unknown as JobEvent);
  }

  /** A handler is free: the next buffered job takes it. */
  private handlerDone(): void {
    this.running--;
    const next = this.draining ? undefined : this.buffered.shift();
    if (next) this.run(next);
  }

  /** Sends an event to a job this process holds (under lease `token`, when given); null when it holds no such job. */
  send(id: string, event: JobEvent, token?: string | null): Promise<void> | null {
    const live = this.live.get(id);
    if (!live || (token !== undefined && live.job.leaseToken !== token)) return null;
    const waiting = left(live);
    if (live.state === 'running') {
      if (live.started) this.actorOf(live).send(event);
      else this.decideBuffered(live, event);
    }
    return waiting;
  }

  abandonAll(): void {
    this.drain();
    for (const live of [...this.live.values()]) {
      if (live.state === 'running' && live.started) this.actorOf(live).send(ABANDON);
    }
  }

  /** A job still in the buffer has no actor: the chart decides from its stored state, without one. */
  private decideBuffered(live: LiveJob, event: JobEvent): void {
    const write = decide(this.chart, live.job, event, this.registry.deadLetter(live.job.name), Date.now());
    if (!write) return;
    this.buffered.splice(this.buffered.indexOf(live), 1);
    live.state = write.to;
    this.free(live);
    this.writes.write(write, (applied, error) => this.written(live, write, applied, error));
  }

  /**
   * Extends every held lease, including those whose outcome write is still on
   * its way (retried, maybe), so no other worker reaps a job that already ran.
   * A running job whose lease is found lost (cancelled or reaped elsewhere) is let go.
   */
  async heartbeat(leaseMs: number): Promise<void> {
    const held = [...this.live.values()];
    if (held.length === 0) return;
    const kept = await this.store.extend(
      held.map((l) => ({ id: l.job.id, token: l.job.leaseToken! })),
      leaseMs,
    );
    held.forEach((live, i) => {
      if (!kept[i] && live.state === 'running' && this.live.get(live.job.id) === live) this.letGo(live);
    });
  }

  /** Resolves when every job has left this process. */
  async drained(): Promise<void> {
    while (this.live.size > 0) await Promise.all([...this.live.values()].map(left));
  }

  private runHandler(id: string): void {
    const live = this.live.get(id)!;
    const { defect } = live.job;
    if (defect) {
      // A row the store could not read: the DLQ, not a run with half its data, nor a retry that cannot help.
      this.settle(live, failure(new CorruptJobError(live.job.id, defect.field, defect.reason), false));
      return;
    }
    const def = this.registry.find(live.job.name);
    if (!def) {
      this.settle(live, failure(new UnknownJobError(live.job.name), false));
      return;
    }
    const parsed = def.input.safeParse(live.job.input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = ['input', ...(issue?.path ?? []).map(String)].join('.');
      const error = new InvalidInputError(field, `the stored input no longer fits the schema: ${issue?.message}`, []);
      this.settle(live, failure(error, false));
      return;
    }
    const ctx = new LazyHandlerContext(live.job);
    live.ctx = ctx;
    let result: unknown;
    try {
      result = (def as AnyJobDefinition).handler(parsed.data, ctx);
    } catch (error) {
      this.settle(live, failure(error));
      return;
    }
    Promise.resolve(result).then(
      () => this.settle(live, SUCCEED),
      (error: unknown) => this.settle(live, failure(error)),
    );
  }

  /** Hands the handler's outcome to the chart, unless the attempt already ended (timeout, cancel...). */
  private settle(live: LiveJob, event: JobEvent): void {
    if (live.state !== 'running' || this.live.get(live.job.id) !== live) return;
    if (!live.actor && event === SUCCEED) this.leaveRunning(live, this.quick.succeedTo, live.context!);
    else this.actorOf(live).send(event);
  }

  private abort(id: string, reason: AbortReason): void {
    this.live.get(id)?.ctx?.abort(abortErrors[reason](id));
  }

  private observe(live: LiveJob, to: JobState): void {
    if (to === live.state || live.state !== 'running') return;
    const actor = live.actor!;
    const context = actor.getSnapshot().context;
    // The actor's work here is done; a backoff timer it armed lives on as the stored runAt.
    actor.stop();
    this.leaveRunning(live, to, context);
  }

  /** Records the chart's move out of `running`, frees the handler's slot and sends the write. */
  private leaveRunning(live: LiveJob, to: JobState, context: JobContext): void {
    const from = live.state;
    live.state = to;
    if (live.timer) clearTimeout(live.timer);
    live.timer = null;
    const write = writeFor(live.job.id, from, to, context, live.job.leaseToken, Date.now());
    // The handler's part is over: its slot can take the next job while the write travels, so a
    // lease and a batch of outcome writes share the round trip instead of following each other.
    this.handlerDone();
    this.free(live);
    this.writes.write(write, (applied, error) => this.written(live, write, applied, error));
  }

  private written(live: LiveJob, write: TransitionWrite, applied: boolean, error: unknown): void {
    // On a failed write the lease runs out and the reaper returns the job; this process lets it go.
    if (error) this.hooks.error(error, `writing job ${live.job.id} ${write.from} -> ${write.to}`);
    else if (applied) {
      if (this.hooks.listening()) this.emitFor(live, write.from, write.to, write.attempt ?? live.job.attempt, write.lastError);
      // Back in the queue: the supervisor may have leased and gone to sleep while this write travelled.
      if (write.to === 'retrying' || write.to === 'pending') this.hooks.requeued(write.runAt ?? live.job.runAt);
    }
    this.leave(live);
  }

  /** Drops a job whose lease this process lost, without writing: the store already moved on. */
  private letGo(live: LiveJob): void {
    live.state = 'pending';
    live.ctx?.abort(new LeaseLostError(`job ${live.job.id} is no longer leased to this worker`));
    if (live.timer) clearTimeout(live.timer);
    live.timer = null;
    live.actor?.stop();
    if (live.started) this.handlerDone();
    else this.buffered.splice(this.buffered.indexOf(live), 1);
    this.free(live);
    this.leave(live);
  }

  private leave(live: LiveJob): void {
    // Only its own entry: while this job's last write was retrying, its lease may have run out and
    // this process leased the job afresh under the same id.
    if (this.live.get(live.job.id) === live) this.live.delete(live.job.id);
    if (live.waiters) for (const resolve of live.waiters) resolve();
  }

  private free(live: LiveJob): void {
    this.freedBatch.push(live.job);
    if (this.freedBatch.length === 1) {
      queueMicrotask(() => {
        const batch = this.freedBatch;
        this.freedBatch = [];
        this.hooks.freed(batch);
      });
    }
  }

  private emitFor(live: LiveJob, from: JobState, to: JobState, attempt: number, error: JobError | null | undefined): void {
    this.hooks.emit(transitionEvent(live.job, from, to, attempt, error));
  }
}

/** Resolves once the job has left this process. */
function left(live: LiveJob): Promise<void> {
  return new Promise((resolve) => (live.waiters ??= []).push(resolve));
}

function failure(thrown: unknown, retryable = !isPermanent(thrown)): JobEvent {
  return { type: 'FAIL', error: toJobError(thrown), retryable };
}
