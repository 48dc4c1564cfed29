import type { Hono } from 'hono';
import { type Observable, Subject } from 'rxjs';
import type { Actor } from 'xstate';
import type { JobState } from '../../machines/job.machine.js';
import type { supervisorMachine } from '../../machines/supervisor.machine.js';
import { createAdmin } from '../admin/app.js';
import type { AdminOptions } from '../admin/options.js';
import { JobClient, type Dlq } from '../client/client.js';
import type { WaitForOptions } from '../client/wait-for.js';
import { type Schedule, ScheduleClient, type ScheduleOptions, type Schedules } from '../client/schedules.js';
import { queueControl, type Queues } from '../client/queues.js';
import type { Jobs, RescheduleOptions } from '../client/jobs.js';
import { InvalidOptionError, LifecycleError } from '../errors.js';
import type { AnyJobDefinition, InputOf } from '../job/define-job.js';
import type { EnqueueOptions } from '../job/options.js';
import { checkOutput } from '../job/output.js';
import { Registry } from '../job/registry.js';
import { chartWithBackoff } from '../kernel/chart.js';
import { JobKernel } from '../kernel/kernel.js';
import { CronService } from '../maintenance/cron.js';
import { reaper } from '../maintenance/reaper.js';
import { retention } from '../maintenance/retention.js';
import { Maintenance } from '../maintenance/service.js';
import type { StateCounts, Store, StoredJob } from '../store/contract.js';
import type { Middleware } from '../worker/middleware.js';
import { Worker } from '../worker/worker.js';
import { type TransitionEvent, transitionEvent } from './events.js';
import type { JobRecord, RecordOf } from './records.js';
import { type DispatcherOptions, parseSettings, parseStop, type Settings, type StopOptions } from './settings.js';
import { holdStore, releaseStore } from './shared-store.js';
import { WriteBuffer } from './write-buffer.js';
import { AttemptSpans } from '../observability/attempt-spans.js';
import { JobMetrics } from '../observability/job-metrics.js';
import { attachObserved } from '../observability/observed.js';
import { isRecording, otelSink } from '../observability/otel-metrics.js';

export type { DispatcherOptions, QueueOptions, StopOptions } from './settings.js';
export type { RetentionOptions } from '../maintenance/retention.js';
export type { Dlq, DlqListOptions, DlqPage, DlqPurgeOptions } from '../client/client.js';
export type { Schedule, ScheduleOptions, Schedules } from '../client/schedules.js';
export type { QueueConfig, QueueInfo, Queues, QueueSettingsRecord } from '../client/queues.js';
export type { JobCountOptions, JobHistoryEntry, JobListOptions, JobPage, Jobs, ReplayAllOptions, RescheduleOptions } from '../client/jobs.js';

/** A dispatcher: the registry, the enqueue API and, once started, the worker. */
export interface Dispatcher {
  /** Every stored step of the chart, as it happens. */
  readonly events$: Observable<TransitionEvent>;
  readonly dlq: Dlq;
  /** The cron schedules stored in the store: list them with their next tick, or remove one. */
  readonly schedules: Schedules;
  /** Cluster-wide queue settings: pause, resume, concurrency, rate limit, group concurrency. */
  readonly queues: Queues;
  /** Finding jobs: `jobs.list({ state, queue, name, limit, cursor })`, `jobs.counts({ queue })`, `jobs.history(id)`. */
  readonly jobs: Jobs;
  readonly store: Store;
  /** The supervisor actor, for inspection: its state and context show slots and sleeps. */
  readonly supervisorActor: Actor<typeof supervisorMachine>;
  register(definition: AnyJobDefinition): this;
  registerAll(definitions: readonly AnyJobDefinition[]): this;
  /**
   * Adds middleware around every handler call, in the order added (the first
   * is outermost). Add it before `start()`.
   */
  use(middleware: Middleware): this;
  /** Opens the store and starts leasing and running jobs. */
  start(): Promise<void>;
  /**
   * Stops leasing, lets running jobs finish within the grace, gives back the
   * rest, and closes the store unless another dispatcher still uses it.
   */
  stop(options?: StopOptions): Promise<void>;
  enqueue<D extends AnyJobDefinition>(job: D, input: InputOf<D>, options?: EnqueueOptions): Promise<RecordOf<D>>;
  enqueue(job: string, input: unknown, options?: EnqueueOptions): Promise<JobRecord>;
  enqueueAt<D extends AnyJobDefinition>(job: D, input: InputOf<D>, runAt: Date): Promise<RecordOf<D>>;
  enqueueWithPriority<D extends AnyJobDefinition>(job: D, input: InputOf<D>, priority: number): Promise<RecordOf<D>>;
  enqueueOnQueue<D extends AnyJobDefinition>(job: D, input: InputOf<D>, queue: string): Promise<RecordOf<D>>;
  /** Many inputs of one job in one write: all are checked first, and none is stored unless all are. */
  enqueueMany<D extends AnyJobDefinition>(job: D | string, inputs: ReadonlyArray<InputOf<D>>, options?: EnqueueOptions): Promise<Array<RecordOf<D>>>;
  getJob(id: string): Promise<JobRecord | null>;
  /**
   * Resolves with the job's record once it comes to rest (`completed`,
   * `failed`, `dlq` or `cancelled`; at once if it already is), whichever
   * process runs it. Rejects with a `WaitTimeoutError` (a `TimeoutError`)
   * after `timeout`, and a `JobNotFoundError` for an unknown id. Given the
   * record `enqueue` answered, the result is typed by the definition's `output`.
   */
  waitFor<I = unknown, O = unknown>(job: string | JobRecord<I, O>, options?: WaitForOptions): Promise<JobRecord<I, O>>;
  /**
   * Cancels a job: a waiting job never runs; a running one here is aborted
   * through its signal; one running in another process loses its lease. A
   * job already finished is returned as it is.
   */
  cancel(id: string): Promise<JobRecord>;
  counts(): Promise<StateCounts>;
  /**
   * Moves a job that waits (pending, or retrying in its backoff) to a new
   * `runAt` and/or `priority`; wakes workers, as it may now be due sooner. A
   * running job, or one at rest, is refused with an InvalidTransitionError.
   */
  reschedule(id: string, options: RescheduleOptions): Promise<JobRecord>;
  /**
   * Runs one pass of the reaper now, under its leader duty, as a started
   * dispatcher does on its `reapInterval`: jobs whose worker stopped
   * heartbeating (it died) go back to the queue, or to the DLQ when they have
   * no attempts left. Answers how many jobs moved (0 when another process
   * held the duty).
   */
  reap(): Promise<number>;
  /**
   * Creates the cron schedule `name`, or replaces it: at each tick of `cron`
   * (read in `options.tz`, UTC by default) one job of `job` with `input` is
   * enqueued, exactly once across every process sharing the store. Checks the
   * expression, time zone, job, input and options before anything is stored.
   * Works before `start()` and in a process that runs no worker; started
   * dispatchers fire the ticks.
   */
  schedule<D extends AnyJobDefinition>(name: string, cron: string, job: D, input: InputOf<D>, options?: ScheduleOptions): Promise<Schedule>;
  schedule(name: string, cron: string, job: string, input: unknown, options?: ScheduleOptions): Promise<Schedule>;
  /**
   * Runs one pass of retention now, under its leader duty, as a started
   * dispatcher does on `retention.interval`: finished jobs older than their
   * state's retention are deleted in bounded batches. Answers how many
   * (0 when another process held the duty, or retention is off).
   */
  retain(): Promise<number>;
  /**
   * The admin HTTP API and the web dashboard, as a Hono app: mount it in
   * your own (`app.route('/ops', dispatcher.admin())`), or serve its
   * `fetch` anywhere a fetch handler runs. `serveAdmin` serves it on its own.
   */
  admin(options?: AdminOptions): Hono;
}

type Phase = 'new' | 'started' | 'stopping' | 'stopped';

/**
 * Puts the parts together: the kernel (the chart), the client (what any
 * process does with jobs), the worker (leasing and running), and the
 * maintenance services, and opens and closes the store for them.
 */
export class DispatcherImpl implements Dispatcher {
  readonly events$: Observable<TransitionEvent>;
  readonly dlq: Dlq;
  readonly schedules: Schedules;
  readonly queues: Queues;
  readonly jobs: Jobs;
  readonly store: Store;
  private readonly settings: Settings;
  private readonly scheduling: ScheduleClient;
  private readonly events = new Subject<TransitionEvent>();
  /** Figures for metrics sinks (OpenTelemetry, Prometheus); steps reach it only while it has one. */
  private readonly metrics = new JobMetrics();
  /** Run once the dispatcher has stopped: metrics sinks let go of the store. */
  private readonly afterStop: Array<() => void> = [];
  private readonly registry = new Registry();
  private readonly middleware: Middleware[] = [];
  private readonly writes: WriteBuffer;
  private readonly client: JobClient;
  private readonly worker: Worker;
  private readonly maintenance: Maintenance;
  /** Ends the waits of waitFor when the dispatcher stops. */
  private readonly waits = new AbortController();
  private phase: Phase = 'new';
  private opening: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(options: DispatcherOptions = {}) {
    this.settings = parseSettings(options);
    const settings = this.settings;
    this.store = settings.store;
    const kernel = new JobKernel(chartWithBackoff((name) => this.registry.find(name)?.backoff ?? settings.backoff));
    // A stalled batch holds leasing back; the runner holds starts back while outcomes are unstored.
    this.writes = new WriteBuffer(this.store, (stalled) => this.worker.writesStalled(stalled), settings.clock);
    const metrics = this.metrics;
    if (isRecording(settings.meter)) {
      const otel = otelSink(settings.meter, this.store, (error) => settings.logger.debug({ err: error }, 'reading queue depth for metrics'));
      metrics.add(otel.sink);
      this.afterStop.push(otel.close);
    }
    const emit = (job: StoredJob, step: Parameters<typeof transitionEvent>[1], progress?: unknown) => {
      if (metrics.active) metrics.step(job, step, settings.clock.now());
      if (this.events.observed) this.events.next(transitionEvent(job, step, settings.clock.now(), progress));
    };
    const reportError = (error: unknown, context: string) => this.reportError(error, context);
    const enqueued = (jobs: readonly StoredJob[]) => metrics.active && metrics.enqueued(jobs);
    this.worker = new Worker({
      settings,
      registry: this.registry,
      kernel,
      writes: this.writes,
      middleware: this.middleware,
      output: (def, value) => checkOutput(def, value, settings.maxPayloadBytes),
      emit,
      listening: () => this.events.observed || metrics.active,
      reportError,
      spans: new AttemptSpans(settings.tracer),
    });
    this.client = new JobClient({
      store: this.store,
      registry: this.registry,
      kernel,
      writes: this.writes,
      defaults: settings.defaults,
      maxPayloadBytes: settings.maxPayloadBytes,
      ready: () => this.ready(),
      wake: (runAt) => this.worker.wake(runAt),
      sendHeld: (id, event, token) => this.worker.send(id, event, token),
      emit,
      enqueued,
      stopped: this.waits.signal,
      clock: settings.clock,
      history: settings.history,
    });
    this.maintenance = new Maintenance(this.store, reportError, settings.clock).add(
      reaper({
        store: this.store,
        everyMs: settings.reapMs,
        sendLocal: (id, event, token) => this.worker.send(id, event, token),
        apply: (job, event) => this.client.move(job, event, settings.workerId),
      }),
    ).add(
      new CronService({
        store: this.store,
        clock: settings.clock,
        wake: (runAt) => this.worker.wake(runAt),
        enqueued,
        reportError,
      }),
    );
    this.scheduling = new ScheduleClient({
      store: this.store,
      registry: this.registry,
      defaults: settings.defaults,
      maxPayloadBytes: settings.maxPayloadBytes,
      ready: () => this.ready(),
      clock: settings.clock,
      saved: () => this.maintenance.wake('cron'),
    });
    this.schedules = this.scheduling;
    this.events$ = this.events.asObservable();
    this.dlq = this.client.dlq;
    this.queues = queueControl({ store: this.store, ready: () => this.ready() });
    if (settings.retention) this.maintenance.add(retention({ store: this.store, clock: settings.clock, settings: settings.retention }));
    this.jobs = this.client.jobs;
    attachObserved(this, { metrics, store: this.store, logger: settings.logger, onStop: (fn) => this.afterStop.push(fn) });
  }

  get supervisorActor(): Actor<typeof supervisorMachine> {
    return this.worker.supervisor;
  }

  register(definition: AnyJobDefinition): this {
    this.registry.register(definition);
    // Jobs of this name may be waiting already: a running worker looks at once.
    this.worker.wake(this.settings.clock.now());
    return this;
  }

  registerAll(definitions: readonly AnyJobDefinition[]): this {
    for (const definition of definitions) this.register(definition);
    return this;
  }

  use(middleware: Middleware): this {
    if (typeof middleware !== 'function') throw new InvalidOptionError('middleware', 'must be a function (ctx, next) => ...');
    if (this.phase !== 'new') throw new LifecycleError('add middleware before start()');
    this.middleware.push(middleware);
    return this;
  }

  async start(): Promise<void> {
    if (this.phase === 'started') return;
    if (this.phase !== 'new') throw new LifecycleError('a stopped dispatcher cannot start again; create a new one');
    await this.ready();
    this.phase = 'started';
    this.worker.start();
    this.maintenance.start();
    const { settings } = this;
    settings.logger.info({ store: this.store.kind, concurrency: settings.concurrency, prefetch: settings.prefetch, queues: settings.serve ?? 'all' }, 'dispatcher started');
  }

  stop(options: StopOptions = {}): Promise<void> {
    if (this.stopping) return this.stopping;
    const graceMs = parseStop(options);
    this.stopping = this.shutdown(graceMs);
    return this.stopping;
  }

  enqueue<D extends AnyJobDefinition>(job: D, input: InputOf<D>, options?: EnqueueOptions): Promise<RecordOf<D>>;
  enqueue(job: string, input: unknown, options?: EnqueueOptions): Promise<JobRecord>;
  enqueue(job: AnyJobDefinition | string, input: unknown, options?: EnqueueOptions): Promise<JobRecord> {
    return this.client.enqueue(job, input, options);
  }

  enqueueAt<D extends AnyJobDefinition>(job: D, input: InputOf<D>, runAt: Date): Promise<RecordOf<D>> {
    return this.enqueue(job, input, { runAt });
  }

  enqueueWithPriority<D extends AnyJobDefinition>(job: D, input: InputOf<D>, priority: number): Promise<RecordOf<D>> {
    return this.enqueue(job, input, { priority });
  }

  enqueueOnQueue<D extends AnyJobDefinition>(job: D, input: InputOf<D>, queue: string): Promise<RecordOf<D>> {
    return this.enqueue(job, input, { queue });
  }

  enqueueMany<D extends AnyJobDefinition>(job: D | string, inputs: ReadonlyArray<InputOf<D>>, options?: EnqueueOptions): Promise<Array<RecordOf<D>>> {
    return this.client.enqueueMany(job, inputs, options);
  }

  getJob(id: string): Promise<JobRecord | null> {
    return this.client.getJob(id);
  }

  waitFor<I = unknown, O = unknown>(job: string | JobRecord<I, O>, options?: WaitForOptions): Promise<JobRecord<I, O>> {
    return this.client.waitFor(job, options);
  }

  cancel(id: string): Promise<JobRecord> {
    return this.client.cancel(id);
  }

  counts(): Promise<StateCounts> {
    return this.client.counts();
  }

  reschedule(id: string, options: RescheduleOptions): Promise<JobRecord> {
    return this.client.reschedule(id, options);
  }

  async retain(): Promise<number> {
    await this.ready();
    if (!this.settings.retention) return 0;
    return (await this.maintenance.runOnce('retention')) ?? 0;
  }

  async reap(): Promise<number> {
    await this.ready();
    return (await this.maintenance.runOnce('reaper')) ?? 0;
  }

  schedule<D extends AnyJobDefinition>(name: string, cron: string, job: D, input: InputOf<D>, options?: ScheduleOptions): Promise<Schedule>;
  schedule(name: string, cron: string, job: string, input: unknown, options?: ScheduleOptions): Promise<Schedule>;
  schedule(name: string, cron: string, job: AnyJobDefinition | string, input: unknown, options?: ScheduleOptions): Promise<Schedule> {
    return this.scheduling.schedule(name, cron, job, input, options);
  }

  admin(options?: AdminOptions): Hono {
    return createAdmin(this, options).app;
  }

  private reportError(error: unknown, context: string): void {
    // A failing logger or error hook must not take the engine down with it, nor keep the other from hearing.
    try {
      this.settings.logger.error({ err: error, context }, context);
    } catch {}
    try {
      this.settings.onError?.(error, context);
    } catch {}
  }

  private ready(): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') {
      return Promise.reject(new LifecycleError('the dispatcher has stopped'));
    }
    this.opening ??= holdStore(this.store).catch((error: unknown) => {
      this.opening = null;
      throw error;
    });
    return this.opening;
  }

  private async shutdown(graceMs: number): Promise<void> {
    const { logger } = this.settings;
    const started = this.phase === 'started';
    this.phase = 'stopping';
    if (started) logger.info({ graceMs }, 'dispatcher stopping: draining running jobs');
    try {
      // The worker stops taking jobs at once, before anything is awaited: a job finishing meanwhile
      // must not start a buffered one. Maintenance ends beside the drain (a leaving process need not reap).
      const draining = this.worker.stop(graceMs);
      await this.maintenance.stop();
      await draining;
      if (started) logger.debug({}, 'drained: every job this process held has left it');
      await this.writes.idle();
    } finally {
      this.phase = 'stopped';
      this.events.complete();
      this.waits.abort(new LifecycleError('the dispatcher stopped before the job came to rest'));
      if (this.opening) await this.opening.then(() => releaseStore(this.store), () => undefined);
      for (const fn of this.afterStop) fn();
      if (started) logger.info({}, 'dispatcher stopped');
    }
  }
}

export type { JobState };

/** Creates a dispatcher: register definitions, `start()` to work, `enqueue` from anywhere. */
export function createDispatcher(options?: DispatcherOptions): Dispatcher {
  return new DispatcherImpl(options);
}
