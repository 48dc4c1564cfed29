import type { Actor } from 'xstate';
import type { AbortReason, JobContext, JobEvent, JobMachine, JobState } from '../../machines/job.machine.js';
import { jobRules } from '../../machines/job.rules.js';
import type { Clock } from '../clock.js';
import type { WriteBuffer, WriteSink } from '../engine/write-buffer.js';
import { CancelledError, LeaseLostError, ShutdownError, TimeoutError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { Registry } from '../job/registry.js';
import { contextOf, type HistoryMark, writeFor } from '../kernel/chart.js';
import type { Decision, JobKernel, Timer } from '../kernel/kernel.js';
import { inQueue, type LeasedJob, type Store, type TransitionWrite } from '../store/contract.js';
import { type AttemptParts, type AttemptSink, type Outcome, runAttempt } from './attempt.js';
import type { LazyHandlerContext } from './handler-context.js';
import type { Middleware } from './middleware.js';
import { ProgressWrites } from './progress.js';
import { type ArmedDelay, DelayQueue } from './delays.js';
import type { ActorMirror } from './mirror.js';
import { context } from '@opentelemetry/api';
import type { AttemptSpan, AttemptSpans } from '../observability/attempt-spans.js';

interface LiveJob {
  job: LeasedJob;
  /** The chart's context as this process last decided it. */
  context: JobContext;
  /** The chart's LEASE step: its actions (run the handler, arm the timeout) are run when a handler is free. */
  lease: Decision;
  /** Its handler was started. */
  started: boolean;
  /** The first delay armed while this process holds the job (most jobs arm one, the timeout). */
  timer: ArmedDelay<LiveJob> | null;
  /** Any more delays armed beside it. */
  moreTimers: Array<ArmedDelay<LiveJob>> | null;
  /** The last state this process recorded for the job. */
  state: JobState;
  ctx: LazyHandlerContext | null;
  /** The handler's result, stored if the chart's step says so (storeResult). */
  resultJson: string | undefined;
  /** The step out of the leased state and its write, once made: what the write's answer concerns. */
  exit: Decision | null;
  exitWrite: TransitionWrite | null;
  /** Waiting for the job to leave this process (its last write answered); made only when someone waits. */
  waiters: Array<() => void> | null;
  /** Its live actor, for an inspector; null unless the dispatcher was given `inspect`. */
  actor: Actor<JobMachine> | null;
  /** The span of its attempt, from the handler's start to the step out of running; null when nothing records spans. */
  span: AttemptSpan | null;
}

export interface RunnerParts {
  /** Handlers run at once; the supervisor may hold more jobs than this (prefetch). */
  concurrency: number;
  /**
   * Jobs started here whose outcome the store lacks (running, or written and
   * unanswered): what a crash would run again. No job starts beyond it.
   */
  unstoredLimit: number;
  clock: Clock;
  kernel: JobKernel;
  registry: Registry;
  writes: WriteBuffer;
  store: Store;
  middleware: readonly Middleware[];
  /** Each attempt's span; none: no spans. */
  spans?: AttemptSpans;
  /** Live actors mirroring each job, for an inspector; null for none. */
  mirror: ActorMirror | null;
  /** This worker's mark on the steps it writes, for job histories; null: none kept. */
  history: HistoryMark | null;
  hooks: RunnerHooks;
}

export interface RunnerHooks {
  /**
   * Jobs whose handler is done (or never ran), so the supervisor can reuse
   * their slots while their outcome writes travel.
   */
  freed(jobs: ReadonlyArray<{ queue: string }>): void;
  /** A step of the chart that is stored, for `events$` (with the progress a PROGRESS step stored); only called when someone listens. */
  emit(job: LeasedJob, step: Decision, progress?: unknown): void;
  listening(): boolean;
  /** A job went back to the queue, due at `runAt`. */
  requeued(runAt: number): void;
  error(error: unknown, context: string): void;
  /** The handler's return value, checked, as JSON to store; undefined for none. Throws to fail the attempt. */
  output(def: AnyJobDefinition, value: unknown): string | undefined;
}

// Shared: these events carry nothing, and every job sends them.
const LEASE: JobEvent = Object.freeze({ type: 'LEASE' });
const ABANDON: JobEvent = Object.freeze({ type: 'ABANDON' });
const LEASED = jobRules.leased;
/**
 * The id in the chart contexts the runner decides with: the chart never reads
 * it (a kernel test checks), the runner keys jobs by their own id, and with
 * it blank the steps of like jobs are one remembered decision, not a copy each.
 */
const ANONYMOUS = '';

const abortErrors: Record<AbortReason, (id: string) => Error> = {
  timeout: (id) => new TimeoutError(`job ${id} ran past its timeout`),
  cancel: (id) => new CancelledError(`job ${id} was cancelled`),
  shutdown: (id) => new ShutdownError(`the dispatcher stopped before job ${id} finished`),
  'lease-expired': (id) => new LeaseLostError(`the lease on job ${id} expired`),
};

/**
 * The jobs this process holds, from lease to the write that ends their stay
 * here. The kernel (the chart) decides every step; the runner runs the named
 * actions it answers (run the handler, abort it, keep the result), arms the
 * delays it answers as timers while the job is here, writes each step that
 * leaves the leased state, and frees the slot.
 */
export class JobRunner implements AttemptSink<LiveJob>, WriteSink<LiveJob> {
  private readonly live = new Map<string, LiveJob>();
  private freedBatch: Array<{ queue: string }> = [];
  /**
   * Leased jobs waiting for a handler: by priority, then in lease order. A lease
   * answers in the one order, but a job of higher priority leased later (an
   * urgent one, enqueued while prefetched jobs wait) must not wait behind them.
   */
  private readonly buffered: LiveJob[] = [];
  private running = 0;
  /** Jobs started here whose outcome write is not answered yet, running ones included. */
  private unstored = 0;
  /** Stopping: buffered jobs go back to the queue instead of starting. */
  private draining = false;
  private readonly unknownActions = new Set<string>();
  private readonly attempts: AttemptParts;
  private readonly concurrency: number;
  private readonly unstoredLimit: number;
  private readonly clock: Clock;
  private readonly kernel: JobKernel;
  private readonly registry: Registry;
  private readonly writes: WriteBuffer;
  private readonly store: Store;
  private readonly mirror: ActorMirror | null;
  private readonly history: HistoryMark | null;
  private readonly hooks: RunnerHooks;
  private readonly spans: AttemptSpans | null;
  private readonly delays: DelayQueue<LiveJob>;

  constructor(parts: RunnerParts) {
    const { middleware } = parts;
    ({
      concurrency: this.concurrency,
      unstoredLimit: this.unstoredLimit,
      clock: this.clock,
      kernel: this.kernel,
      registry: this.registry,
      writes: this.writes,
      store: this.store,
      mirror: this.mirror,
      history: this.history,
      hooks: this.hooks,
    } = parts);
    this.spans = parts.spans ?? null;
    this.delays = new DelayQueue(this.clock, (delay) => this.delayDue(delay));
    const progress = new ProgressWrites<LiveJob>({
      store: this.store,
      // Only while this process holds the job running under the lease it started with.
      decide: (live, event) =>
        live.state === LEASED && this.live.get(live.job.id) === live ? this.decide(live.state, live.context, event, live.actor) : null,
      job: (live) => live.job,
      emit: (job, step, value) => this.hooks.emit(job, step, value),
      listening: () => this.hooks.listening(),
      error: (error, context) => this.hooks.error(error, context),
    });
    this.attempts = { registry: this.registry, middleware, output: this.hooks.output, progress };
  }

  /** Takes leased jobs: each starts at once while handlers are free, the rest wait in the buffer. */
  start(jobs: readonly LeasedJob[]): void {
    const listening = this.hooks.listening();
    for (const job of jobs) {
      const actor = this.mirror?.open(job.id, job.leasedFrom, leasedFromContext(job, this.registry)) ?? null;
      const lease = this.leaseStep(job, listening, actor);
      if (!lease) {
        actor?.stop();
        continue;
      }
      const live: LiveJob = {
        job,
        context: lease.context,
        lease,
        started: false,
        timer: null,
        moreTimers: null,
        state: LEASED,
        ctx: null,
        resultJson: undefined,
        exit: null,
        exitWrite: null,
        waiters: null,
        actor,
        span: null,
      };
      this.live.set(job.id, live);
      if (this.mayStart()) this.run(live);
      else {
        this.buffer(live);
        if (this.draining) this.decideBuffered(live, ABANDON);
      }
    }
  }

  /**
   * The chart's steps that the store's lease applied in one write: the delayed
   * edge of a state a job was due through (retrying's backoff), then LEASE.
   * Decided here from the job as it was, to run their actions and report them.
   */
  private leaseStep(job: LeasedJob, listening: boolean, actor: Actor<JobMachine> | null): Decision | null {
    let context = leasedFromContext(job, this.registry, ANONYMOUS);
    let state = job.leasedFrom;
    const due = jobRules.dueThrough.get(state);
    if (due) {
      const step = this.decide(state, context, { type: due.event }, actor);
      if (step) {
        if (listening) this.hooks.emit(job, step);
        state = step.to;
        context = step.context;
      }
    }
    const lease = this.decide(state, context, LEASE, actor);
    if (!lease || lease.to !== job.state || lease.context.attempt !== job.attempt) {
      // The store's lease and the chart disagree: a bug, not a job to run on a guess.
      this.hooks.error(
        new Error(`the store leased job ${job.id} from ${job.leasedFrom} to ${job.state} (attempt ${job.attempt}); the chart says ${lease ? `${lease.to} (attempt ${lease.context.attempt})` : 'LEASE is not possible there'}`),
        'leasing jobs',
      );
      this.free(job);
      return null;
    }
    if (listening) this.hooks.emit(job, lease);
    return lease;
  }

  /** The dispatcher is stopping: jobs that have not started go back to the queue, uncounted. */
  drain(): void {
    this.draining = true;
    for (const live of [...this.buffered]) this.decideBuffered(live, ABANDON);
  }

  /**
   * A handler is free, and the outcomes not yet stored leave room: while
   * writes are backed up nothing starts, so a crash re-runs at most
   * `unstoredLimit` jobs.
   */
  private mayStart(): boolean {
    return this.running < this.concurrency && this.unstored < this.unstoredLimit;
  }

  /** Into the buffer behind every job of its priority or higher, ahead of those of lower. */
  private buffer(live: LiveJob): void {
    const { priority } = live.job;
    let at = this.buffered.length;
    while (at > 0 && this.buffered[at - 1]!.job.priority < priority) at--;
    if (at === this.buffered.length) this.buffered.push(live);
    else this.buffered.splice(at, 0, live);
  }

  /** Starts buffered jobs while they may start. */
  private startBuffered(): void {
    while (!this.draining && this.buffered.length > 0 && this.mayStart()) this.run(this.buffered.shift()!);
  }

  private run(live: LiveJob): void {
    this.running++;
    this.unstored++;
    live.started = true;
    live.span = this.spans?.start(live.job) ?? null;
    this.perform(live, live.lease, true);
  }

  /** Runs a step's actions for a job held here; its delays become timers when it stays here. */
  private perform(live: LiveJob, step: Decision, stays: boolean): void {
    for (const id of step.cancels) this.clearTimer(live, id);
    // Timers first: a handler that settles at once must find the step's timeout armed to cancel.
    if (stays) for (const timer of step.timers) this.arm(live, timer);
    for (const action of step.actions) {
      switch (action.type) {
        case 'runHandler':
          this.runHandler(live);
          break;
        case 'abortHandler':
          live.ctx?.abort(abortErrors[(action.params as { reason: AbortReason }).reason](live.job.id));
          break;
        case 'storeResult':
          break; // Read from the step when the write is made.
        case 'storeProgress':
          break; // Written by the progress writes, which decided this step.
        default:
          if (!this.unknownActions.has(action.type)) {
            this.unknownActions.add(action.type);
            this.hooks.error(new Error(`the job chart names an action the engine does not run: ${action.type}`), 'running the job chart');
          }
      }
    }
  }

  private arm(live: LiveJob, timer: Timer): void {
    this.clearTimer(live, timer.id);
    const armed = this.delays.arm(live, timer.id, timer.event, timer.delayMs);
    // A field, then a list: a job arms one delay or two, and a Map per job was a measurable cost.
    if (!live.timer) live.timer = armed;
    else (live.moreTimers ??= []).push(armed);
  }

  private delayDue(delay: ArmedDelay<LiveJob>): void {
    const live = delay.owner;
    this.forgetTimer(live, delay);
    if (live.state === LEASED && this.live.get(live.job.id) === live) this.apply(live, { type: delay.event });
  }

  private clearTimer(live: LiveJob, id: string): void {
    const armed = live.timer?.id === id ? live.timer : live.moreTimers?.find((t) => t.id === id);
    if (!armed) return;
    this.delays.cancel(armed);
    this.forgetTimer(live, armed);
  }

  private forgetTimer(live: LiveJob, armed: ArmedDelay<LiveJob>): void {
    if (live.timer === armed) live.timer = live.moreTimers?.shift() ?? null;
    else {
      const at = live.moreTimers?.indexOf(armed) ?? -1;
      if (at >= 0) live.moreTimers!.splice(at, 1);
    }
  }

  private clearTimers(live: LiveJob): void {
    if (live.timer) this.delays.cancel(live.timer);
    for (const timer of live.moreTimers ?? []) this.delays.cancel(timer);
    live.timer = null;
    live.moreTimers = null;
  }

  /** A handler is free: the next buffered job may take it. */
  private handlerDone(): void {
    this.running--;
    this.startBuffered();
  }

  /** Sends an event to a job this process holds (under lease `token`, when given); null when it holds no such job. */
  send(id: string, event: JobEvent, token?: string | null): Promise<void> | null {
    const live = this.live.get(id);
    if (!live || (token !== undefined && live.job.leaseToken !== token)) return null;
    const waiting = left(live);
    if (live.state === LEASED) {
      if (live.started) this.apply(live, event);
      else this.decideBuffered(live, event);
    }
    return waiting;
  }

  abandonAll(): void {
    this.drain();
    for (const live of [...this.live.values()]) {
      if (live.state === LEASED && live.started) this.apply(live, ABANDON);
    }
  }

  /** The kernel's step, mirrored to the job's actor when there is one. */
  private decide(state: JobState, context: JobContext, event: JobEvent | { type: string }, actor: Actor<JobMachine> | null): Decision | null {
    const step = this.kernel.decide(state, context, event);
    if (step && actor) this.mirror!.send(actor, event, step.to);
    return step;
  }

  /** Asks the chart where `event` takes a running job, and carries the step out. */
  private apply(live: LiveJob, event: JobEvent | { type: string }): void {
    const step = this.decide(live.state, live.context, event, live.actor);
    if (!step) return;
    live.context = step.context;
    if (step.to === LEASED) {
      this.perform(live, step, true);
      return;
    }
    this.perform(live, step, false);
    this.leave(live, step, true);
  }

  /** A job still in the buffer has not started: the chart decides, and no handler is there to stop. */
  private decideBuffered(live: LiveJob, event: JobEvent): void {
    const step = this.decide(live.state, live.context, event, live.actor);
    if (!step || step.to === LEASED) return;
    this.buffered.splice(this.buffered.indexOf(live), 1);
    this.leave(live, step, false);
  }

  /**
   * Extends every held lease, including those whose outcome write is still on
   * its way (retried, maybe), so no other worker reaps a job that already ran.
   * A running job whose lease is found lost (cancelled or reaped elsewhere) is let go.
   */
  async heartbeat(leaseMs: number): Promise<void> {
    // A job whose outcome write is out needs no more time: if that write is given up on, the lease
    // runs out and the reaper returns the job.
    const held = [...this.live.values()].filter((live) => live.state === LEASED);
    if (held.length === 0) return;
    const kept = await this.store.extend(
      held.map((l) => ({ id: l.job.id, token: l.job.leaseToken! })),
      leaseMs,
    );
    held.forEach((live, i) => {
      if (!kept[i] && live.state === LEASED && this.live.get(live.job.id) === live) this.letGo(live);
    });
  }

  /** Resolves when every job has left this process. */
  async drained(): Promise<void> {
    while (this.live.size > 0) await Promise.all([...this.live.values()].map(left));
  }

  private runHandler(live: LiveJob): void {
    // The middleware seam: middleware and handler run with the attempt's span active.
    if (live.span) context.with(live.span.context, runAttempt, undefined, live.job, this.attempts, this, live);
    else runAttempt(live.job, this.attempts, this, live);
  }

  private endSpan(live: LiveJob, step: Decision | null): void {
    if (!live.span) return;
    this.spans!.end(live.span, step);
    live.span = null;
  }

  attemptStarted(live: LiveJob, ctx: LazyHandlerContext): void {
    live.ctx = ctx;
  }

  attemptDone(live: LiveJob, outcome: Outcome): void {
    if (outcome.resultJson !== undefined) live.resultJson = outcome.resultJson;
    this.settle(live, outcome.event);
  }

  /** Hands the handler's outcome to the chart, unless the attempt already ended (timeout, cancel...). */
  private settle(live: LiveJob, event: JobEvent): void {
    if (live.state !== LEASED || this.live.get(live.job.id) !== live) return;
    this.apply(live, event);
  }

  /** Records the chart's step out of the leased state, frees the slot and sends the write. */
  private leave(live: LiveJob, step: Decision, started: boolean): void {
    live.state = step.to;
    this.clearTimers(live);
    this.endSpan(live, step);
    const write = writeFor(live.job.id, step, live.job.leaseToken, this.clock.now(), this.history);
    if (live.resultJson !== undefined && step.actions.some((a) => a.type === 'storeResult')) write.resultJson = live.resultJson;
    // The handler's part is over: its slot can be leased into and a prefetched job can start while
    // the write travels, so a lease and a batch of outcome writes share the round trip. It counts
    // as unstored until the write is answered.
    if (started) this.handlerDone();
    this.free(live.job);
    live.exit = step;
    live.exitWrite = write;
    this.writes.write(write, this, live);
  }

  /** The write of a job's step out of the leased state was answered. */
  written(live: LiveJob, applied: boolean, error?: unknown): void {
    const step = live.exit!;
    const write = live.exitWrite!;
    // On a failed write the lease runs out and the reaper returns the job; this process lets it go.
    if (error) this.hooks.error(error, `writing job ${live.job.id} ${write.from} -> ${write.to}`);
    else if (applied) {
      if (this.hooks.listening()) this.hooks.emit(live.job, step);
      // Back in the queue: the supervisor may have leased and gone to sleep while this write travelled.
      if (inQueue(write.to)) this.hooks.requeued(write.runAt ?? live.job.runAt);
    }
    if (live.started) this.stored();
    this.forget(live);
  }

  /** Drops a job whose lease this process lost, without writing: the store already moved on. */
  private letGo(live: LiveJob): void {
    live.state = 'pending';
    live.ctx?.abort(new LeaseLostError(`job ${live.job.id} is no longer leased to this worker`));
    this.clearTimers(live);
    this.endSpan(live, null);
    if (live.started) {
      this.handlerDone();
      this.stored();
    } else this.buffered.splice(this.buffered.indexOf(live), 1);
    this.free(live.job);
    this.forget(live);
  }

  /** A started job's outcome was answered (or given up on): one more may start. */
  private stored(): void {
    this.unstored--;
    this.startBuffered();
  }

  private forget(live: LiveJob): void {
    // Only its own entry: while this job's last write was retrying, its lease may have run out and
    // this process leased the job afresh under the same id.
    if (this.live.get(live.job.id) === live) this.live.delete(live.job.id);
    live.actor?.stop();
    if (live.waiters) for (const resolve of live.waiters) resolve();
  }

  private free(job: { queue: string }): void {
    this.freedBatch.push(job);
    if (this.freedBatch.length === 1) {
      queueMicrotask(() => {
        const batch = this.freedBatch;
        this.freedBatch = [];
        this.hooks.freed(batch);
      });
    }
  }
}

/** The chart's context of a leased job as it was before the lease counted its attempt. */
function leasedFromContext(job: LeasedJob, registry: Registry, id = job.id): JobContext {
  const context = contextOf(job, registry.deadLetter(job.name));
  context.id = id;
  context.attempt -= jobRules.attemptsPerLease;
  return context;
}

/** Resolves once the job has left this process. */
function left(live: LiveJob): Promise<void> {
  return new Promise((resolve) => (live.waiters ??= []).push(resolve));
}
