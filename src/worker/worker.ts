import { type Actor, createActor } from 'xstate';
import type { JobEvent } from '../../machines/job.machine.js';
import { type LeaseOutcome, type LeaseRoom, type SupervisorEvent, supervisorMachine } from '../../machines/supervisor.machine.js';
import { MAX_TIMER_MS } from '../duration.js';
import type { Settings } from '../engine/settings.js';
import type { WriteBuffer } from '../engine/write-buffer.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { Registry } from '../job/registry.js';
import type { Decision, JobKernel } from '../kernel/kernel.js';
import { Every } from '../maintenance/service.js';
import type { LeasedJob, LeaseOffer, StoredJob } from '../store/contract.js';
import { JobRunner } from './job-runner.js';
import type { Middleware } from './middleware.js';
import { ActorMirror } from './mirror.js';
import type { AttemptSpans } from '../observability/attempt-spans.js';

export interface WorkerParts {
  settings: Settings;
  registry: Registry;
  kernel: JobKernel;
  writes: WriteBuffer;
  middleware: readonly Middleware[];
  /** The handler's checked result as JSON (see checkOutput). */
  output(def: AnyJobDefinition, value: unknown): string | undefined;
  /** A stored step, for `events$`; only called when someone listens. */
  emit(job: StoredJob, step: Decision, progress?: unknown): void;
  listening(): boolean;
  reportError(error: unknown, context: string): void;
  /** Each attempt's span. */
  spans: AttemptSpans;
}

/**
 * The worker side of a dispatcher: the supervisor actor (slots, leasing,
 * sleeping, draining), the runner that holds leased jobs, and the
 * heartbeats that keep their leases.
 */
export class Worker {
  readonly supervisor: Actor<typeof supervisorMachine>;
  private readonly runner: JobRunner;
  private started = false;
  private wakeAt = Infinity;
  private loopTurned = true;
  private heartbeats: Every | null = null;
  /** The room offered to this process's next enqueue while the supervisor waits (see offerRoom). */
  private offer: LeaseOffer | null = null;
  /** Jobs an enqueue handed over, not yet given to the supervisor (HANDED, or the next lease's answer). */
  private handed: LeasedJob[] = [];
  private unsubscribe: (() => void) | null = null;
  private resolveStopped!: () => void;
  private readonly stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));

  constructor(private readonly parts: WorkerParts) {
    const { settings } = parts;
    const mirror = settings.inspect ? new ActorMirror(parts.kernel.machine, settings.inspect, parts.reportError) : null;
    this.runner = new JobRunner({
      concurrency: settings.concurrency,
      unstoredLimit: settings.concurrency + settings.prefetch,
      clock: settings.clock,
      kernel: parts.kernel,
      registry: parts.registry,
      writes: parts.writes,
      store: settings.store,
      middleware: parts.middleware,
      spans: parts.spans,
      mirror,
      history: settings.history ? { worker: settings.workerId } : null,
      hooks: {
        freed: (jobs) => this.supervisor.send({ type: 'SLOTS_FREED', jobs }),
        emit: parts.emit,
        output: parts.output,
        listening: parts.listening,
        requeued: (runAt) => this.wake(runAt),
        error: parts.reportError,
      },
    });
    this.supervisor = this.supervisorActor();
  }

  /** Starts leasing and running jobs; the store must be open. */
  start(): void {
    const { settings } = this.parts;
    this.started = true;
    this.unsubscribe = settings.store.subscribe?.((runAt) => this.wake(runAt)) ?? null;
    // Heartbeats go on while draining: jobs finishing in the grace period keep their leases.
    this.heartbeats = new Every(
      settings.heartbeatMs,
      () => this.runner.heartbeat(settings.leaseMs).catch((e) => this.parts.reportError(e, 'extending leases')),
      settings.clock,
    );
    this.supervisor.start();
    this.supervisor.send({ type: 'START' });
  }

  /**
   * Stops leasing, lets running jobs finish within `graceMs`, gives back the
   * rest (ABANDON), and waits until every job has left.
   */
  async stop(graceMs: number): Promise<void> {
    if (this.started) {
      // A job an enqueue under way leases to this worker runs, and is drained, as a leased one is.
      await this.takeOffer();
      this.handOver();
      this.runner.drain();
      this.supervisor.send({ type: 'STOP', graceMs });
      await this.stopped;
      await this.runner.drained();
    }
    await this.heartbeats?.stop();
    this.unsubscribe?.();
    this.supervisor.stop();
    this.started = false;
  }

  /** Sends an event to a job this worker holds (under lease `token`, when given); null when it holds no such job. */
  send(id: string, event: JobEvent, token?: string | null): Promise<void> | null {
    return this.runner.send(id, event, token);
  }

  /** A batch of writes is being tried again (true), or no longer is: meanwhile the supervisor leases nothing. */
  writesStalled(stalled: boolean): void {
    // Only a started supervisor hears: one never started would keep every report in its mailbox (a
    // producer that cancels jobs), and once drained and stopped the writes no longer concern it.
    if (!this.started) return;
    const snapshot = this.supervisor.getSnapshot();
    if (snapshot.status !== 'active' || snapshot.context.writesStalled === stalled) return;
    this.supervisor.send({ type: 'WRITES_STALLED', stalled });
  }

  /** Lets an idle supervisor know a job is due at `runAt`, unless it would look by then anyway. */
  wake(runAt: number): void {
    if (!this.started) return;
    const snapshot = this.supervisor.getSnapshot();
    if (snapshot.matches({ running: 'waiting' })) {
      if (runAt < this.wakeAt) this.supervisor.send({ type: 'WAKE', inMs: runAt - this.parts.settings.clock.now() });
    } else if (snapshot.matches({ running: 'leasing' }) && !snapshot.context.lookAgain) {
      this.supervisor.send({ type: 'WAKE', inMs: runAt - this.parts.settings.clock.now() });
    }
  }

  /** Leases, and tells the supervisor what came back (unless it was stopped meanwhile). */
  private startLease(room: LeaseRoom): void {
    this.lease(room).then(
      (output) => this.answerLease({ type: 'LEASED', output }),
      (error: unknown) => this.answerLease({ type: 'LEASE_FAILED', error }),
    );
  }

  private answerLease(event: SupervisorEvent): void {
    if (this.supervisor.getSnapshot().status === 'active') this.supervisor.send(event);
  }

  /** Takes back the room offered; resolves, if an insert holds it, once that insert is done. */
  private takeOffer(): Promise<void> | null {
    const offer = this.offer;
    this.offer = null;
    return offer?.withdraw() ?? null;
  }

  /** Offers the room to this process's next enqueue, unless an offer is still out (taken by an insert under way). */
  private offerRoom(room: LeaseRoom): void {
    const { store, leaseMs, serve, history, workerId } = this.parts.settings;
    // Memory and SQLite make no offers: nothing more is done on their every wait.
    if (!store.offer || this.offer || room.limit === 0) return;
    const names = this.parts.registry.names();
    if (names.length === 0) return;
    const offer = store.offer({ ...room, limit: 1, leaseMs, names, queues: serve, ...(history ? { worker: workerId } : {}) }, (jobs) => {
      if (this.offer === offer) this.offer = null;
      this.handed.push(...jobs);
      // After the enqueue that leased them is answered, so its caller goes first.
      setImmediate(() => this.handOver());
    });
    this.offer = offer;
  }

  /** Gives the supervisor the jobs enqueues leased to this worker that no lease has answered with yet. */
  private handOver(): void {
    if (this.handed.length === 0 || this.supervisor.getSnapshot().status !== 'active') return;
    this.supervisor.send({ type: 'HANDED', jobs: this.handed.splice(0) });
  }

  private async lease(room: LeaseRoom): Promise<LeaseOutcome> {
    const taken = this.takeOffer();
    if (taken) await taken;
    if (this.handed.length > 0) {
      // Jobs leased by an enqueue while this lease was asked for: they are its answer, after that
      // enqueue is answered. Then lease again at once (sleep 0), for what this lease was asked for.
      await new Promise<void>((resolve) => setImmediate(resolve));
      return { jobs: this.handed.splice(0), sleepMs: 0 };
    }
    if (room.limit === 0) return { jobs: [], sleepMs: MAX_TIMER_MS };
    // With a store that answers at once (memory, SQLite) a busy worker is one unbroken chain of
    // microtasks: when no turn of the event loop came since the last lease, take one, so the
    // app's timers and I/O keep flowing.
    if (!this.loopTurned) await new Promise<void>((resolve) => setImmediate(resolve));
    this.loopTurned = false;
    setImmediate(() => (this.loopTurned = true));
    const { store, leaseMs, serve, history, workerId } = this.parts.settings;
    const names = this.parts.registry.names();
    // Knowing no job, it could take nothing: sleep until a register wakes it.
    if (names.length === 0) return { jobs: [], sleepMs: MAX_TIMER_MS };
    const result = await store.lease({ ...room, leaseMs, names, queues: serve, ...(history ? { worker: workerId } : {}) });
    const ceiling = Math.min(store.maxSleepMs, MAX_TIMER_MS);
    const sleepMs = result.nextRunAt === null ? ceiling : Math.max(0, Math.min(ceiling, result.nextRunAt - this.parts.settings.clock.now()));
    return { jobs: result.jobs, sleepMs };
  }

  /** The supervisor with the worker's side effects plugged into its named slots. */
  private supervisorActor(): Actor<typeof supervisorMachine> {
    const { concurrency, prefetch, queueLimits, inspect } = this.parts.settings;
    return createActor(
      supervisorMachine.provide({
        actions: {
          leaseJobs: (_, room) => this.startLease(room),
          // Jobs start and move outside the supervisor's own step: one actor's transition must
          // not run inside another's action.
          startJobs: (_, { jobs }) => queueMicrotask(() => this.runner.start(jobs as readonly LeasedJob[])),
          armWake: ({ context }) => (this.wakeAt = this.parts.settings.clock.now() + context.sleepMs),
          offerRoom: (_, room) => this.offerRoom(room),
          reportLeaseError: (_, { error }) => this.parts.reportError(error, 'leasing jobs'),
          abandonAll: () => queueMicrotask(() => this.runner.abandonAll()),
          stopped: () => this.resolveStopped(),
        },
      }),
      // Its sleeps and retries on the engine's clock, as xstate lets an actor have.
      { input: { concurrency: concurrency + prefetch, queueLimits }, clock: this.parts.settings.clock, ...(inspect ? { inspect, id: 'supervisor' } : {}) },
    );
  }
}
