import { type Actor, createActor } from 'xstate';
import type { AbortReason, JobError, JobEvent, JobMachine, JobState } from '../../machines/job.machine.js';
import { CancelledError, InvalidInputError, LeaseLostError, PermanentError, ShutdownError, TimeoutError, UnknownJobError } from '../errors.js';
import type { AnyJobDefinition, HandlerContext } from '../job/define-job.js';
import type { Registry } from '../job/registry.js';
import type { LeasedJob, Store } from '../store/contract.js';
import { writeFor } from './chart.js';
import { type TransitionEvent, transitionEvent } from './events.js';
import { toJobError } from './records.js';
import type { WriteBuffer } from './write-buffer.js';

interface LiveJob {
  job: LeasedJob;
  actor: Actor<JobMachine>;
  /** The last state this process recorded for the job. */
  state: JobState;
  controller: AbortController | null;
  /** Resolves when the job has left this process (its last write answered). */
  finished: Promise<void>;
  finish: () => void;
}

export interface RunnerHooks {
  /** Jobs that left this process, so the supervisor can reuse their slots. */
  freed(jobs: ReadonlyArray<{ queue: string }>): void;
  /** A stored state change, for `events$`; only called when someone listens. */
  emit(event: TransitionEvent): void;
  listening(): boolean;
  error(error: unknown, context: string): void;
}

const abortErrors: Record<AbortReason, (id: string) => Error> = {
  timeout: (id) => new TimeoutError(`job ${id} ran past its timeout`),
  cancel: (id) => new CancelledError(`job ${id} was cancelled`),
  shutdown: (id) => new ShutdownError(`the dispatcher stopped before job ${id} finished`),
  'lease-expired': (id) => new LeaseLostError(`the lease on job ${id} expired`),
};

/**
 * The jobs this process holds: one live actor each, from lease to the write
 * that ends its stay here. The actor decides every transition; the runner
 * runs the handler, writes what the actor decided, and frees the slot.
 */
export class JobRunner {
  private readonly live = new Map<string, LiveJob>();
  private readonly machine: JobMachine;
  private freedBatch: Array<{ queue: string }> = [];

  constructor(
    chart: JobMachine,
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
  }

  get size(): number {
    return this.live.size;
  }

  start(jobs: readonly LeasedJob[]): void {
    const listening = this.hooks.listening();
    for (const job of jobs) {
      const def = this.registry.find(job.name);
      const actor = createActor(this.machine, {
        input: {
          id: job.id,
          name: job.name,
          queue: job.queue,
          // The store counted this attempt when it leased; the chart counts it again on LEASE.
          attempt: job.attempt - 1,
          maxRetries: job.maxRetries,
          timeoutMs: job.timeoutMs,
          lastError: job.lastError,
          deadLetter: def?.deadLetter ?? true,
        },
      });
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const live: LiveJob = { job, actor, state: 'running', controller: null, finished, finish };
      this.live.set(job.id, live);
      actor.start();
      // Subscribed after start, so the initial `pending` is not mistaken for a move.
      actor.subscribe((snapshot) => this.observe(live, snapshot.value as JobState));
      actor.send({ type: 'LEASE' });
      if (listening) this.emitFor(live, job.leasedFrom, 'running', job.attempt, undefined);
    }
  }

  /** Sends an event to a job this process holds (under lease `token`, when given); null when it holds no such job. */
  send(id: string, event: JobEvent, token?: string | null): Promise<void> | null {
    const live = this.live.get(id);
    if (!live || (token !== undefined && live.job.leaseToken !== token)) return null;
    if (live.state === 'running') live.actor.send(event);
    return live.finished;
  }

  abandonAll(): void {
    for (const live of this.live.values()) {
      if (live.state === 'running') live.actor.send({ type: 'ABANDON' });
    }
  }

  /** Extends every held lease; a lease found lost (cancelled or reaped elsewhere) is let go. */
  async heartbeat(leaseMs: number): Promise<void> {
    const held = [...this.live.values()].filter((l) => l.state === 'running');
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
    while (this.live.size > 0) await Promise.all([...this.live.values()].map((l) => l.finished));
  }

  private runHandler(id: string): void {
    const live = this.live.get(id)!;
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
    const controller = new AbortController();
    live.controller = controller;
    const ctx = handlerContext(live.job, controller.signal);
    let result: unknown;
    try {
      result = (def as AnyJobDefinition).handler(parsed.data, ctx);
    } catch (error) {
      this.settle(live, failure(error));
      return;
    }
    Promise.resolve(result).then(
      () => this.settle(live, { type: 'SUCCEED' }),
      (error: unknown) => this.settle(live, failure(error)),
    );
  }

  /** Hands the handler's outcome to the actor, unless the attempt already ended (timeout, cancel...). */
  private settle(live: LiveJob, event: JobEvent): void {
    if (live.state === 'running' && this.live.get(live.job.id) === live) live.actor.send(event);
  }

  private abort(id: string, reason: AbortReason): void {
    this.live.get(id)?.controller?.abort(abortErrors[reason](id));
  }

  private observe(live: LiveJob, to: JobState): void {
    if (to === live.state || live.state !== 'running') return;
    const from = live.state;
    live.state = to;
    const context = live.actor.getSnapshot().context;
    // The actor's work here is done; a backoff timer it armed lives on as the stored runAt.
    live.actor.stop();
    const write = writeFor(live.job.id, from, to, context, live.job.leaseToken, Date.now());
    this.writes.write(write).then(
      (applied) => {
        if (applied && this.hooks.listening()) this.emitFor(live, from, to, context.attempt, context.lastError);
        this.leave(live);
      },
      (error: unknown) => {
        // The lease will run out and the reaper will return the job; this process lets it go.
        this.hooks.error(error, `writing job ${live.job.id} ${from} -> ${to}`);
        this.leave(live);
      },
    );
  }

  /** Drops a job whose lease this process lost, without writing: the store already moved on. */
  private letGo(live: LiveJob): void {
    live.state = 'pending';
    live.controller?.abort(new LeaseLostError(`job ${live.job.id} is no longer leased to this worker`));
    live.actor.stop();
    this.leave(live);
  }

  private leave(live: LiveJob): void {
    this.live.delete(live.job.id);
    live.finish();
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

function failure(thrown: unknown, retryable = !(thrown instanceof PermanentError)): JobEvent {
  return { type: 'FAIL', error: toJobError(thrown), retryable };
}

function handlerContext(job: LeasedJob, signal: AbortSignal): HandlerContext {
  return {
    signal,
    attempt: job.attempt,
    job: {
      id: job.id,
      name: job.name,
      queue: job.queue,
      priority: job.priority,
      attempt: job.attempt,
      maxRetries: job.maxRetries,
      runAt: new Date(job.runAt),
      createdAt: new Date(job.createdAt),
    },
  };
}
