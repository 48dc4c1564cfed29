import { type Observable, Subject } from 'rxjs';
import { type Actor, createActor, fromPromise } from 'xstate';
import type { JobEvent, JobState } from '../../machines/job.machine.js';
import { type LeaseOutcome, type LeaseRoom, supervisorMachine } from '../../machines/supervisor.machine.js';
import { type BackoffStrategy, defaultBackoff } from '../backoff/backoff.js';
import { waitFor, type WaitForOptions } from '../client/wait-for.js';
import { checkOutput } from '../job/output.js';
import { type Duration, describe, MAX_TIMER_MS, toMs } from '../duration.js';
import {
  InvalidInputError,
  InvalidOptionError,
  InvalidTransitionError,
  JobNotFoundError,
  LifecycleError,
  PayloadTooLargeError,
  StoreConfigError,
} from '../errors.js';
import type { AnyJobDefinition, InputOf } from '../job/define-job.js';
import {
  type EnqueueOptions,
  fields,
  type JobOptions,
  parseEnqueueOptions,
  parseJobOptions,
  parseOrThrow,
  type ResolvedOptions,
} from '../job/options.js';
import { Registry } from '../job/registry.js';
import { assertJsonSerializable } from '../job/serializable.js';
import type { NewJob, StateCounts, Store, StoredJob } from '../store/contract.js';
import { memoryStore } from '../store/memory/memory-store.js';
import { chartWithBackoff, contextOf, writeFor } from '../kernel/chart.js';
import { JobKernel } from '../kernel/kernel.js';
import { optionKeys, refuseUnknownKeys } from '../strict-options.js';
import type { Middleware } from '../worker/middleware.js';
import { ActorMirror, type Inspect } from '../worker/mirror.js';
import { type TransitionEvent, transitionEvent } from './events.js';
import { JobRunner } from '../worker/job-runner.js';
import { parseServe } from './serve.js';
import { type JobRecord, type RecordOf, toRecord } from './records.js';
import { holdStore, releaseStore } from './shared-store.js';
import { WriteBuffer } from './write-buffer.js';

export interface DispatcherOptions extends JobOptions {
  /** Where jobs live. Default: an in-memory store (nothing survives the process). */
  store?: Store;
  /** Jobs run at once by this process. Default 10. */
  concurrency?: number;
  /**
   * Jobs leased beyond `concurrency`, waiting here for a free handler, so the
   * next lease overlaps the running jobs instead of following them. Worth it
   * for short jobs on a store a round trip away (Postgres). A prefetched job
   * counts an attempt when leased and is `running` in the store while it
   * waits; its timeout starts when its handler does. Default 0.
   */
  prefetch?: number;
  /** Per-queue limits inside `concurrency`, e.g. `{ mail: { concurrency: 2 } }`. */
  queues?: Record<string, QueueOptions>;
  /**
   * The queues this worker leases from, e.g. `['mail']`. Default: every queue.
   * Either way it leases only jobs it has a registered definition for; others
   * wait in `pending` for a worker that has.
   */
  serve?: readonly string[];
  /** Backoff for definitions that name none. Default: exponential, full jitter, 1s up to 60s. */
  backoff?: BackoffStrategy;
  /** How long a lease lasts without a heartbeat. Default 30s. */
  lease?: Duration;
  /** How often held leases are extended. Default a third of `lease`. */
  heartbeat?: Duration;
  /** How often expired leases (of dead workers) are looked for. Default half of `lease`. */
  reapInterval?: Duration;
  /** The largest input accepted, in bytes of JSON. Default 1 MiB. */
  maxPayloadBytes?: number;
  /**
   * An inspection observer, as xstate's `createActor` takes (for example
   * `createBrowserInspector().inspect` from @statelyai/inspect): the
   * supervisor and every job this process runs are shown as live actors,
   * from lease to rest. Without it, jobs have no actors and cost nothing more.
   */
  inspect?: Inspect;
  /** Told of failures outside any job (a lease or write the store refused). Default: console.error. */
  onError?: (error: unknown, context: string) => void;
}

export interface QueueOptions {
  /** Jobs of this queue run at once by this process, within the dispatcher's `concurrency`. */
  concurrency?: number;
}

export interface StopOptions {
  /** How long running jobs may take to finish before they are aborted and given back. Default 10s. */
  grace?: Duration;
}

// Unknown keys are refused. A new option in one of these interfaces is a compile error here until it is listed.
const dispatcherKeys = optionKeys<DispatcherOptions>({
  store: true,
  concurrency: true,
  prefetch: true,
  queues: true,
  backoff: true,
  lease: true,
  heartbeat: true,
  reapInterval: true,
  maxPayloadBytes: true,
  onError: true,
  inspect: true,
  serve: true,
  maxRetries: true,
  timeout: true,
  queue: true,
  priority: true,
});
const queueKeys = optionKeys<QueueOptions>({ concurrency: true });
const stopKeys = optionKeys<StopOptions>({ grace: true });
const dlqListKeys = optionKeys<DlqListOptions>({ limit: true, cursor: true });
const dlqPurgeKeys = optionKeys<DlqPurgeOptions>({ before: true });

export interface DlqPage {
  jobs: JobRecord[];
  nextCursor: string | null;
}

export interface DlqListOptions {
  limit?: number;
  cursor?: string | null;
}

export interface DlqPurgeOptions {
  before: Date;
}

export interface Dlq {
  list(options?: DlqListOptions): Promise<DlqPage>;
  replay(id: string): Promise<JobRecord>;
  purge(options: DlqPurgeOptions): Promise<number>;
}

/** A dispatcher: the registry, the enqueue API and, once started, the worker. */
export interface Dispatcher {
  /** Every stored state change, as it happens. */
  readonly events$: Observable<TransitionEvent>;
  readonly dlq: Dlq;
  readonly store: Store;
  /** The supervisor actor, for inspection: its state and context show slots and sleeps. */
  readonly supervisorActor: Actor<typeof supervisorMachine>;
  register(definition: AnyJobDefinition): this;
  /**
   * Adds middleware around every handler call, in the order added (the first
   * is outermost). Add it before `start()`.
   */
  use(middleware: Middleware): this;
  registerAll(definitions: readonly AnyJobDefinition[]): this;
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
  enqueueMany<D extends AnyJobDefinition>(
    job: D | string,
    inputs: ReadonlyArray<InputOf<D>>,
    options?: EnqueueOptions,
  ): Promise<Array<RecordOf<D>>>;
  getJob(id: string): Promise<JobRecord | null>;
  /**
   * Resolves with the job's record once it comes to rest (`completed`,
   * `failed`, `dlq`, `cancelled`), at once if it is; in whichever process it
   * runs. Given the record `enqueue` answered, the result is typed. Rejects
   * with a `WaitTimeoutError` after `timeout`, a `JobNotFoundError` for an
   * unknown id, and a `LifecycleError` if the dispatcher stops first.
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
   * Returns jobs whose worker stopped heartbeating (it died) to the queue, or
   * to the DLQ when they have no attempts left, as a started dispatcher does
   * on its `reapInterval`. Answers how many jobs moved.
   */
  reap(): Promise<number>;
}

const DEFAULTS = { maxRetries: 3, queue: 'default', priority: 0, timeoutMs: 5 * 60_000 };

type Phase = 'new' | 'started' | 'stopping' | 'stopped';

/** Builds the supervisor with the engine's side effects plugged into its named slots. */
function supervisorFor(d: DispatcherImpl, input: { concurrency: number; queueLimits: Record<string, number> }, inspect: Inspect | undefined) {
  return createActor(
    supervisorMachine.provide({
      actors: {
        leaseJobs: fromPromise<LeaseOutcome, LeaseRoom>(({ input: room }) => d.lease(room)),
      },
      actions: {
        // Job actors start and move outside the supervisor's own step: one actor's
        // transition must not run inside another's action.
        startJobs: (_, { jobs }) => queueMicrotask(() => d.startJobs(jobs)),
        armWake: ({ context }) => d.armWake(context.sleepMs),
        reportLeaseError: (_, { error }) => d.reportError(error, 'leasing jobs'),
        abandonAll: () => queueMicrotask(() => d.abandonAll()),
        stopped: () => d.supervisorStopped(),
      },
    }),
    { input, ...(inspect ? { inspect, id: 'supervisor' } : {}) },
  );
}

class DispatcherImpl implements Dispatcher {
  readonly events$: Observable<TransitionEvent>;
  readonly dlq: Dlq;
  readonly store: Store;
  private readonly events = new Subject<TransitionEvent>();
  private readonly registry = new Registry();
  private readonly defaults: Required<ResolvedOptions>;
  private readonly backoff: BackoffStrategy;
  private readonly chart;
  private readonly kernel: JobKernel;
  private readonly middleware: Middleware[] = [];
  private readonly writes: WriteBuffer;
  private readonly runner: JobRunner;
  private readonly supervisor: Actor<typeof supervisorMachine>;
  private readonly leaseMs: number;
  private readonly heartbeatMs: number;
  private readonly reapMs: number;
  private readonly onError: (error: unknown, context: string) => void;
  private readonly maxPayloadBytes: number;
  private readonly serve: readonly string[] | undefined;
  private phase: Phase = 'new';
  private opening: Promise<void> | null = null;
  private wakeAt = Infinity;
  private loopTurned = true;
  private duties: Every[] = [];
  private unsubscribe: (() => void) | null = null;
  private stopping: Promise<void> | null = null;
  /** Ends the waits of waitFor when the dispatcher stops. */
  private readonly waits = new AbortController();
  private resolveSupervisorStopped!: () => void;
  private readonly supervisorDone = new Promise<void>((resolve) => (this.resolveSupervisorStopped = resolve));

  constructor(options: DispatcherOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object');
    refuseUnknownKeys(options, dispatcherKeys, 'options', 'createDispatcher');
    const concurrency = parseOrThrow(fields.count, options.concurrency ?? 10, 'concurrency');
    const prefetch = options.prefetch === undefined ? 0 : parseOrThrow(fields.maxRetries, options.prefetch, 'prefetch');
    const queueLimits: Record<string, number> = {};
    if (options.queues !== undefined && (options.queues === null || typeof options.queues !== 'object')) {
      throw new InvalidOptionError('options.queues', 'must be an object such as { mail: { concurrency: 2 } }');
    }
    for (const [queue, config] of Object.entries(options.queues ?? {})) {
      if (config !== undefined && (config === null || typeof config !== 'object')) {
        throw new InvalidOptionError(`options.queues.${queue}`, 'must be an object such as { concurrency: 2 }');
      }
      refuseUnknownKeys(config, queueKeys, `options.queues.${queue}`, 'a queue in createDispatcher');
      if (config?.concurrency === undefined) continue;
      queueLimits[queue] = parseOrThrow(fields.count, config.concurrency, `queues.${queue}.concurrency`);
    }
    this.serve = parseServe(options.serve);
    const { maxRetries, timeout, queue, priority } = options;
    const parsed = parseJobOptions({ maxRetries, timeout, queue, priority }, 'options');
    this.defaults = {
      maxRetries: parsed.maxRetries ?? DEFAULTS.maxRetries,
      timeoutMs: parsed.timeoutMs ?? DEFAULTS.timeoutMs,
      queue: parsed.queue ?? DEFAULTS.queue,
      priority: parsed.priority ?? DEFAULTS.priority,
    };
    if (options.backoff !== undefined && typeof options.backoff !== 'function') {
      throw new InvalidOptionError('backoff', 'must be a backoff strategy function');
    }
    this.backoff = options.backoff ?? defaultBackoff;
    this.leaseMs = positive(options.lease ?? '30s', 'lease');
    this.heartbeatMs = positive(options.heartbeat ?? Math.max(1, Math.floor(this.leaseMs / 3)), 'heartbeat');
    if (this.heartbeatMs >= this.leaseMs) throw new InvalidOptionError('heartbeat', 'must be shorter than lease');
    this.reapMs = positive(options.reapInterval ?? Math.max(1, Math.floor(this.leaseMs / 2)), 'reapInterval');
    this.maxPayloadBytes = parseOrThrow(fields.bytes, options.maxPayloadBytes ?? 1024 * 1024, 'maxPayloadBytes');
    this.onError = options.onError ?? ((error, context) => console.error(`dispatch: ${context}:`, error));
    if (options.store !== undefined && !isStore(options.store)) {
      throw new StoreConfigError(
        'store',
        `must be a store, such as sqliteStore({ path }) or postgresStore({ connectionString }); got ${describe(options.store)}`,
      );
    }
    this.store = options.store ?? memoryStore();
    this.chart = chartWithBackoff((name) => this.registry.find(name)?.backoff ?? this.backoff);
    this.kernel = new JobKernel(this.chart);
    // Unanswered outcome writes count against the supervisor's room: a crash re-runs at most concurrency + prefetch jobs.
    this.writes = new WriteBuffer(this.store, (backlog) => {
      // Only a started supervisor hears: one never started would keep every report in its mailbox (a
      // producer that cancels jobs), and once drained and stopped the writes no longer concern it.
      if (this.phase === 'new' || this.supervisor.getSnapshot().status !== 'active') return;
      this.supervisor.send({ type: 'WRITE_BACKLOG', ...backlog });
    });
    const mirror = options.inspect ? new ActorMirror(this.chart, options.inspect, (e, c) => this.reportError(e, c)) : null;
    this.runner = new JobRunner({
      concurrency,
      kernel: this.kernel,
      registry: this.registry,
      writes: this.writes,
      store: this.store,
      middleware: this.middleware,
      mirror,
      hooks: {
        freed: (jobs) => {
          // The freed jobs' writes are counted before their slots are given back.
          this.writes.report();
          this.supervisor.send({ type: 'SLOTS_FREED', jobs });
        },
        emit: (job, step) => this.events.next(transitionEvent(job, step)),
        output: (def, value) => checkOutput(def, value, this.maxPayloadBytes),
        listening: () => this.events.observed,
        requeued: (runAt) => this.wake(runAt),
        error: (error, context) => this.reportError(error, context),
      },
    });
    this.supervisor = supervisorFor(this, { concurrency: concurrency + prefetch, queueLimits }, options.inspect);
    this.events$ = this.events.asObservable();
    this.dlq = {
      list: (o) => this.listDlq(o),
      replay: (id) => this.replay(id),
      purge: (o) => this.purgeDlq(o),
    };
  }

  register(definition: AnyJobDefinition): this {
    this.registry.register(definition);
    // Jobs of this name may be waiting already: a running worker looks at once.
    this.wake(Date.now());
    return this;
  }

  use(middleware: Middleware): this {
    if (typeof middleware !== 'function') throw new InvalidOptionError('middleware', 'must be a function (ctx, next) => ...');
    if (this.phase !== 'new') throw new LifecycleError('add middleware before start()');
    this.middleware.push(middleware);
    return this;
  }

  registerAll(definitions: readonly AnyJobDefinition[]): this {
    for (const definition of definitions) this.register(definition);
    return this;
  }

  async start(): Promise<void> {
    if (this.phase === 'started') return;
    if (this.phase !== 'new') throw new LifecycleError('a stopped dispatcher cannot start again; create a new one');
    await this.ready();
    this.phase = 'started';
    this.unsubscribe = this.store.subscribe?.((runAt) => this.wake(runAt)) ?? null;
    this.duties.push(
      // Heartbeats go on while draining: jobs finishing in the grace period keep their leases.
      new Every(this.heartbeatMs, () => this.runner.heartbeat(this.leaseMs).catch((e) => this.reportError(e, 'extending leases'))),
      // Not while stopping: reap() refuses a stopping dispatcher, and a leaving process need not reap.
      new Every(this.reapMs, async () => {
        if (this.phase === 'started') await this.reap().catch((e) => this.reportError(e, 'reaping expired leases'));
      }),
    );
    this.supervisor.start();
    this.supervisor.send({ type: 'START' });
  }

  stop(options: StopOptions = {}): Promise<void> {
    if (this.stopping) return this.stopping;
    refuseUnknownKeys(options, stopKeys, 'options', 'stop');
    const graceMs = toMs(options.grace ?? '10s', 'grace');
    this.stopping = this.shutdown(graceMs);
    return this.stopping;
  }

  enqueue<D extends AnyJobDefinition>(job: D, input: InputOf<D>, options?: EnqueueOptions): Promise<RecordOf<D>>;
  enqueue(job: string, input: unknown, options?: EnqueueOptions): Promise<JobRecord>;
  async enqueue(job: AnyJobDefinition | string, input: unknown, options?: EnqueueOptions): Promise<JobRecord> {
    const def = this.registry.resolve(job);
    const parsed = parseEnqueueOptions(options);
    const newJob = this.newJob(def, input, parsed, Date.now());
    const [stored] = await this.insert([newJob], parsed.client);
    return toRecord(stored!);
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

  async enqueueMany<D extends AnyJobDefinition>(
    job: D | string,
    inputs: ReadonlyArray<InputOf<D>>,
    options?: EnqueueOptions,
  ): Promise<Array<RecordOf<D>>> {
    const def = this.registry.resolve(job);
    if (!Array.isArray(inputs)) throw new InvalidOptionError('inputs', 'must be an array');
    const parsed = parseEnqueueOptions(options);
    const now = Date.now();
    const jobs = inputs.map((input, i) => this.newJob(def, input, parsed, now, `inputs[${i}]`));
    if (jobs.length === 0) return [];
    const stored = await this.insert(jobs, parsed.client);
    return stored.map((s) => toRecord(s) as RecordOf<D>);
  }

  async getJob(id: string): Promise<JobRecord | null> {
    checkId(id);
    await this.ready();
    const job = await this.store.get(id);
    return job ? toRecord(job) : null;
  }

  waitFor<I = unknown, O = unknown>(job: string | JobRecord<I, O>, options?: WaitForOptions): Promise<JobRecord<I, O>> {
    return waitFor<I, O>({ store: this.store, ready: () => this.ready(), stopped: this.waits.signal }, job, options);
  }

  async cancel(id: string): Promise<JobRecord> {
    checkId(id);
    await this.ready();
    for (;;) {
      const local = this.runner.send(id, { type: 'CANCEL' });
      if (local) {
        await local;
        continue;
      }
      const job = await this.store.get(id);
      if (!job) throw new JobNotFoundError(id);
      const moved = await this.applyChart(job, { type: 'CANCEL' });
      if (moved === null) return toRecord(job);
      if (moved) return toRecord(moved);
      // Lost the compare-and-set: the job moved on; look again.
    }
  }

  counts(): Promise<StateCounts> {
    return this.ready().then(() => this.store.counts());
  }

  get supervisorActor(): Actor<typeof supervisorMachine> {
    return this.supervisor;
  }

  // --- wired into the supervisor's named slots -------------------------------

  async lease(room: LeaseRoom): Promise<LeaseOutcome> {
    if (room.limit === 0) return { jobs: [], sleepMs: MAX_TIMER_MS };
    // With a store that answers at once (memory, SQLite) a busy worker is one unbroken chain of
    // microtasks: when no turn of the event loop came since the last lease, take one, so the
    // app's timers and I/O keep flowing.
    if (!this.loopTurned) await new Promise<void>((resolve) => setImmediate(resolve));
    this.loopTurned = false;
    setImmediate(() => (this.loopTurned = true));
    const names = this.registry.names();
    // Knowing no job, it could take nothing: sleep until a register wakes it.
    if (names.length === 0) return { jobs: [], sleepMs: MAX_TIMER_MS };
    const result = await this.store.lease({ ...room, leaseMs: this.leaseMs, names, queues: this.serve });
    const ceiling = Math.min(this.store.maxSleepMs, MAX_TIMER_MS);
    const sleepMs = result.nextRunAt === null ? ceiling : Math.max(0, Math.min(ceiling, result.nextRunAt - Date.now()));
    return { jobs: result.jobs, sleepMs };
  }

  startJobs(jobs: LeaseOutcome['jobs']): void {
    this.runner.start(jobs as Parameters<JobRunner['start']>[0]);
  }

  armWake(sleepMs: number): void {
    this.wakeAt = Date.now() + sleepMs;
  }

  abandonAll(): void {
    this.runner.abandonAll();
  }

  supervisorStopped(): void {
    this.resolveSupervisorStopped();
  }

  reportError(error: unknown, context: string): void {
    try {
      this.onError(error, context);
    } catch {
      // A failing error hook must not take the engine down with it.
    }
  }

  // --- internals -----------------------------------------------------------

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

  private newJob(
    def: AnyJobDefinition,
    input: unknown,
    options: ReturnType<typeof parseEnqueueOptions>,
    now: number,
    field = 'input',
  ): NewJob {
    const checked = def.input.safeParse(input);
    if (!checked.success) {
      const issues = checked.error.issues.map((i: { path: PropertyKey[]; message: string }) => ({ path: i.path.map(String).join('.'), message: i.message }));
      const first = issues[0]!;
      throw new InvalidInputError([field, first.path].filter(Boolean).join('.'), first.message, issues);
    }
    assertJsonSerializable(input, field);
    const inputJson = JSON.stringify(input);
    // A UTF-16 length three times under the limit cannot be over it in UTF-8: skip the count.
    if (inputJson.length * 3 > this.maxPayloadBytes) {
      const bytes = Buffer.byteLength(inputJson);
      if (bytes > this.maxPayloadBytes) throw new PayloadTooLargeError(field, bytes, this.maxPayloadBytes);
    }
    const runAt = options.runAt ?? (options.delayMs ? now + options.delayMs : now);
    return {
      name: def.name,
      queue: options.queue ?? def.options.queue ?? this.defaults.queue,
      input,
      inputJson,
      priority: options.priority ?? def.options.priority ?? this.defaults.priority,
      runAt,
      maxRetries: options.maxRetries ?? def.options.maxRetries ?? this.defaults.maxRetries,
      timeoutMs: options.timeoutMs ?? def.options.timeoutMs ?? this.defaults.timeoutMs,
    };
  }

  private async insert(jobs: NewJob[], client: unknown): Promise<StoredJob[]> {
    await this.ready();
    const stored = await this.store.insert(jobs, client === undefined ? undefined : { client });
    let earliest = Infinity;
    for (const job of jobs) if (job.runAt < earliest) earliest = job.runAt;
    this.wake(earliest);
    return stored;
  }

  /** Lets an idle supervisor know a job is due at `runAt`, unless it would look by then anyway. */
  private wake(runAt: number): void {
    if (this.phase !== 'started') return;
    const snapshot = this.supervisor.getSnapshot();
    if (snapshot.matches({ running: 'waiting' })) {
      if (runAt < this.wakeAt) this.supervisor.send({ type: 'WAKE', inMs: runAt - Date.now() });
    } else if (snapshot.matches({ running: 'leasing' }) && !snapshot.context.lookAgain) {
      this.supervisor.send({ type: 'WAKE', inMs: runAt - Date.now() });
    }
  }

  /**
   * Moves a job this process does not hold, as the chart decides, and answers
   * the job as written. Null when the chart refuses the event; false when the
   * compare-and-set lost.
   */
  private async applyChart(job: StoredJob, event: JobEvent): Promise<StoredJob | false | null> {
    const now = Date.now();
    const step = this.kernel.decide(job.state, contextOf(job, this.registry.deadLetter(job.name)), event);
    if (!step) return null;
    const write = writeFor(step, job.leaseToken, now);
    const applied = await this.writes.writeAsync(write);
    if (!applied) return false;
    if (this.events.observed) this.events.next(transitionEvent(job, step));
    if (write.to === 'pending') this.wake(write.runAt ?? job.runAt);
    return {
      ...job,
      state: write.to,
      attempt: write.attempt ?? job.attempt,
      runAt: write.runAt ?? job.runAt,
      lastError: write.lastError === undefined ? job.lastError : write.lastError,
      leaseToken: null,
      leaseExpiresAt: null,
      updatedAt: now,
    };
  }

  private async listDlq(options: DlqListOptions = {}): Promise<DlqPage> {
    refuseUnknownKeys(options, dlqListKeys, 'options', 'dlq.list');
    const limit = parseOrThrow(fields.count.max(1000, { error: 'must be at most 1000' }), options.limit ?? 50, 'limit');
    if (options.cursor !== undefined && options.cursor !== null && typeof options.cursor !== 'string') {
      throw new InvalidOptionError('cursor', 'must be a string from a previous page');
    }
    await this.ready();
    const page = await this.store.list({ state: 'dlq', limit, cursor: options.cursor ?? null });
    return { jobs: page.jobs.map((j) => toRecord(j)), nextCursor: page.nextCursor };
  }

  private async replay(id: string): Promise<JobRecord> {
    checkId(id);
    await this.ready();
    const job = await this.store.get(id);
    if (!job) throw new JobNotFoundError(id);
    const moved = await this.applyChart(job, { type: 'REPLAY' });
    if (moved === null) throw new InvalidTransitionError(id, job.state, 'REPLAY');
    if (!moved) throw new InvalidTransitionError(id, (await this.store.get(id))?.state ?? 'gone', 'REPLAY');
    return toRecord(moved);
  }

  private async purgeDlq(options: DlqPurgeOptions): Promise<number> {
    refuseUnknownKeys(options, dlqPurgeKeys, 'options', 'dlq.purge');
    const before = parseOrThrow(fields.runAt, options?.before, 'before');
    await this.ready();
    return this.store.purge('dlq', before.getTime());
  }

  async reap(): Promise<number> {
    await this.ready();
    let moved = 0;
    const run = async () => {
      const expired = await this.store.expired(100);
      for (const job of expired) {
        // A lease of ours that ran out (a stalled event loop): our own actor takes the event. Only that
        // lease: the row may be stale, the job since reaped elsewhere and leased to us afresh.
        const local = this.runner.send(job.id, { type: 'LEASE_EXPIRED' }, job.leaseToken);
        if (local) await local;
        else if (await this.applyChart(job, { type: 'LEASE_EXPIRED' })) moved++;
      }
    };
    await this.store.withDuty('reaper', run);
    return moved;
  }

  private async shutdown(graceMs: number): Promise<void> {
    const wasStarted = this.phase === 'started';
    this.phase = 'stopping';
    try {
      if (wasStarted) {
        this.runner.drain();
        this.supervisor.send({ type: 'STOP', graceMs });
        await this.supervisorDone;
        await this.runner.drained();
      }
      await this.writes.idle();
    } finally {
      await Promise.all(this.duties.map((duty) => duty.stop()));
      this.duties = [];
      this.unsubscribe?.();
      this.supervisor.stop();
      this.phase = 'stopped';
      this.events.complete();
      this.waits.abort(new LifecycleError('the dispatcher stopped before the job came to rest'));
      if (this.opening) await this.opening.then(() => releaseStore(this.store), () => undefined);
    }
  }
}

/** Runs `run` every `ms`, skipping a beat while the last run is still going. */
class Every {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<unknown> | null = null;

  constructor(ms: number, run: () => Promise<unknown>) {
    this.timer = setInterval(() => {
      this.running ??= run().finally(() => (this.running = null));
    }, ms);
    this.timer.unref();
  }

  /** Stops the beat and waits for a run in progress, so nothing touches a closed store. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

/** Whether `value` has the store contract's methods: a URL or a path given in its place is caught here, not at the first enqueue. */
function isStore(value: unknown): value is Store {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return ['open', 'close', 'insert', 'lease', 'write', 'extend', 'get', 'expired', 'list', 'purge', 'counts', 'withDuty'].every(
    (m) => typeof store[m] === 'function',
  );
}

function positive(value: Duration, field: string): number {
  const ms = toMs(value, field);
  if (ms <= 0) throw new InvalidOptionError(field, 'must be longer than 0 ms');
  return ms;
}

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionError('id', 'must be a non-empty string');
}

export type { JobState };

/** Creates a dispatcher: register definitions, `start()` to work, `enqueue` from anywhere. */
export function createDispatcher(options?: DispatcherOptions): Dispatcher {
  return new DispatcherImpl(options);
}
