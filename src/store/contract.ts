import type { JobError, JobState } from '../../machines/job.machine.js';
import { jobRules } from '../../machines/job.rules.js';
import type { HistoryEntry } from './history.js';
import type { ScheduleStore } from './schedules.js';
import type { QueueSettingsChange, QueueStateCounts, StoredQueue } from './queue-settings.js';

/**
 * A job as a store keeps it. Times are epoch milliseconds; the engine turns
 * them into Dates at the public edge.
 */
export interface StoredJob {
  id: string;
  name: string;
  queue: string;
  state: JobState;
  /** The input as JSON gives it back. */
  input: unknown;
  priority: number;
  runAt: number;
  /** Attempts started so far (a lease counts one). */
  attempt: number;
  maxRetries: number;
  timeoutMs: number;
  lastError: JobError | null;
  /** The handler's result as JSON gives it back; null until a completion stores one. */
  result: unknown;
  /** The handler's latest progress report (`ctx.progress`) as JSON gives it back; null until one is stored. */
  progress: unknown;
  leaseToken: string | null;
  leaseExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  /** The group it was enqueued in, for its queue's `groupConcurrency`; null when none. */
  group: string | null;
  /** The enqueuer's trace context (see NewJob.traceContext); absent when none was stored. */
  traceContext?: string;
  /**
   * Set when the row holds a value the store cannot read back (an input,
   * last error or result that is not JSON, or not the shape it must have):
   * that field is left empty (input undefined, lastError and result null)
   * and named here. Reads
   * never throw for it; the engine fails such a job permanently, with a
   * CorruptJobError, when it is next leased, so it lands in the DLQ instead
   * of blocking the queue. A state the chart does not have is no StoredJob
   * at all: `get()` throws a CorruptJobError, lease, expired and list never
   * select such a row, and counts leave it out.
   */
  defect?: RowDefect;
  /**
   * Only on what `insert` answers for a job with a `unique` key that was
   * already held: the holder, `kept` as it was or `replaced` (REPLACE applied).
   */
  duplicate?: 'kept' | 'replaced';
  /** With `duplicate: 'replaced'`, when the holder was due out of another state (`retrying`): that state. */
  replacedFrom?: JobState;
}

/** A column of a stored row that could not be read, and why. */
export interface RowDefect {
  field: 'input' | 'lastError' | 'result';
  reason: string;
}

/** A job to insert; the store gives it an id, state `pending` and attempt 0. */
export interface NewJob {
  name: string;
  queue: string;
  input: unknown;
  /** The input as JSON, made once by the engine: stores keep this text rather than stringify again. */
  inputJson: string;
  priority: number;
  runAt: number;
  maxRetries: number;
  timeoutMs: number;
  /** A unique key: while a job of this name holds it, no second one is made (see JobKey). */
  unique?: JobKey;
  /** The group, for its queue's `groupConcurrency`; absent or null: none. */
  group?: string | null;
  /**
   * The enqueuing span's trace context, as the engine made it (opaque text to
   * the store: kept as given, answered on reads); absent or null: none.
   */
  traceContext?: string | null;
}

/**
 * A unique job's key, per job name. The store decides atomically, across
 * processes: while the key's holder is not at rest (or rests for less than
 * the holder's keepForMs), the new job is not inserted and the holder is
 * answered with `duplicate` set. Otherwise the new job takes the key.
 */
export interface JobKey {
  key: string;
  /** How long the key stays held once its job is at rest (measured from its updatedAt). */
  keepForMs: number;
  /**
   * `ignore`: answer the holder as it is. `replace`: apply REPLACE where the
   * chart accepts it (jobRules.replaceFrom): the holder's input, runAt and
   * priority become this job's; elsewhere answer it as it is. `error`: throw
   * a JobKeyConflictError, and store nothing of the batch.
   */
  onConflict: 'ignore' | 'replace' | 'error';
  /**
   * With `replace`: a holder that has started (neither replaceable nor at
   * rest) gives the key up, and this job is inserted to hold it (debounce).
   */
  debounce: boolean;
}

export interface InsertOptions {
  /**
   * A store-specific handle to write through, such as the caller's own `pg`
   * client inside its transaction. Stores that have no such thing refuse it.
   */
  client?: unknown;
}

export interface LeaseRequest {
  /** At most this many jobs in all. */
  limit: number;
  /** At most this many of each queue named here; other queues are bounded by `limit` alone. */
  queueRoom: Readonly<Record<string, number>>;
  /** The lease deadline is now plus this. */
  leaseMs: number;
  /**
   * Only jobs with one of these names: the ones the worker can run. Others
   * stay where they are, untouched, for a worker that knows them. None: the
   * lease takes nothing.
   */
  names: readonly string[];
  /** When given, only jobs of these queues. */
  queues?: readonly string[];
  /**
   * The leasing worker's id. Given, each leased job's steps (a due delayed
   * edge, then LEASE) go into its history in the lease's own write; absent, none.
   */
  worker?: string;
}

export interface LeasedJob extends StoredJob {
  /** The state the job was leased from: `pending`, or `retrying` once its backoff is over. */
  leasedFrom: JobState;
}

/**
 * An idle worker's room, offered to this store object's next lone insert (see
 * Store.offer): the insert may write its job already leased, as a lease by
 * this request would have taken it, and hand it over.
 */
export interface LeaseOffer {
  /**
   * Takes the offer back: null when no insert took it, else a promise of
   * the moment the insert that took it is done (and has handed over what it
   * leased). Null at once, so a lease that finds its offer untaken waits for
   * nothing.
   */
  withdraw(): Promise<void> | null;
}

export interface LeaseResult {
  /** Due jobs, now `running`, in the one order: priority desc, runAt asc, enqueue order asc. */
  jobs: LeasedJob[];
  /**
   * When fewer jobs came back than asked: the earliest runAt still in the
   * future among jobs the request could take (its names and queues), or null;
   * or sooner, when a queue's rate limit held due jobs back: when its window
   * next has room.
   */
  nextRunAt: number | null;
}

/**
 * A state change the job statechart computed, written with a compare-and-set:
 * it applies only while the job is still in `from` and, when `token` is
 * given, still holds that lease. Leaving `running` clears the lease.
 */
export interface TransitionWrite {
  id: string;
  from: JobState;
  to: JobState;
  /** The lease the writer holds; null to require none; absent to ignore the lease. */
  token?: string | null;
  attempt?: number;
  runAt?: number;
  lastError?: JobError | null;
  /** The handler's result as JSON, on the write that completes the job; absent keeps the stored one. */
  resultJson?: string;
  /**
   * The chart's event that took the step. Given, the store appends the step to
   * the job's history in the same write (only if the write applies); absent, it keeps none.
   */
  event?: string;
  /** With `event`: the worker process taking the step; null or absent for a client's. */
  worker?: string | null;
}

/**
 * The states a job rests in, the chart's `rest` tag: nothing moves it on but
 * a user (a replay). The states `waitFor` waits for, and the ones `watchRest` reports.
 */
export const RESTING_STATES: readonly JobState[] = jobRules.rest;
const resting: ReadonlySet<JobState> = new Set(jobRules.rest);

export function isResting(state: JobState): boolean {
  return resting.has(state);
}

const queued: ReadonlySet<JobState> = new Set(jobRules.leaseFrom);

/**
 * Whether a job in `state` is in the queue: a lease takes it once it is due
 * (`pending`, and `retrying` once its backoff is over). A write that brings a
 * job here wakes the workers.
 */
export function inQueue(state: JobState): boolean {
  return queued.has(state);
}

export interface LeaseRef {
  id: string;
  token: string;
}

export interface ListOptions {
  state: JobState;
  /** Only jobs of this queue. */
  queue?: string;
  /** Only jobs of this name. */
  name?: string;
  limit: number;
  /** Opaque, from the previous page's `nextCursor`. */
  cursor?: string | null;
}

export interface ListPage {
  jobs: StoredJob[];
  /** Null on the last page. */
  nextCursor: string | null;
}

/** Counts by state, for dashboards and tests. */
export type StateCounts = Record<JobState, number>;

export interface CountFilter {
  /** Only jobs of this queue. */
  queue?: string;
}

/** A running job's progress, written only while it still holds lease `token`. */
export interface ProgressWrite {
  id: string;
  token: string;
  /** The progress as JSON, made once by the engine. */
  progressJson: string;
}

/** The chart's RESCHEDULE as a compare-and-set: also sets the job's runAt and priority. */
export interface RescheduleWrite extends TransitionWrite {
  runAt: number;
  priority: number;
}

/** One bounded batch of retention: jobs in `state` last changed before `before`. */
export interface ExpireBatch {
  state: JobState;
  before: number;
  /** At most this many jobs looked at (and so deleted) in this batch. */
  limit: number;
  /** From the previous batch's answer; null to start. */
  cursor: string | null;
}

export interface ExpireResult {
  deleted: number;
  /** Where the next batch goes on; null once no job left could be old enough. */
  cursor: string | null;
}

/** What a migration run did: the schema version before and after, and the steps it applied. */
export interface MigrationReport {
  from: number;
  to: number;
  applied: Array<{ version: number; name: string }>;
}

/**
 * The store contract. Every backend passes the same conformance suite.
 * Stores keep rows and enforce compare-and-set; they never choose a state:
 * the job statechart does (the one fixed rule, lease, is checked against the
 * chart by the tests).
 */
export interface Store extends ScheduleStore {
  /** A short name for messages and benchmarks: memory, sqlite, postgres. */
  readonly kind: string;
  /**
   * The longest the supervisor may sleep without asking: how soon a job
   * enqueued by another process is seen when no wake-up arrives.
   */
  readonly maxSleepMs: number;
  /** Creates tables and applies migrations. Safe to call more than once. */
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Inserts all or nothing; durable before the promise resolves. Jobs with a
   * `unique` key are decided in order, each seeing the ones before it.
   */
  insert(jobs: readonly NewJob[], options?: InsertOptions): Promise<StoredJob[]>;
  /**
   * Moves due `pending` and `retrying` jobs of the names (and queues) asked
   * for to `running` under a new lease, counting an attempt. A backlog of
   * other names must not slow it down.
   */
  lease(request: LeaseRequest): Promise<LeaseResult>;
  /**
   * Offers an idle worker's room to the next lone insert through this store
   * object, saving the lease's round trip after it. The insert leases its job
   * only where `lease(request)` would have taken that job first: due, in a
   * lane of the request, its queue neither paused, limited nor capped, no
   * other due job of the request's lanes at its priority or above, and no
   * group. At most one job per offer. `handed` gets the job so leased, now
   * the worker's to run or give back, once its insert has committed and
   * before the insert's caller is answered; the store does not wake its
   * subscribers for it. Stores whose lease is cheap leave this out.
   */
  offer?(request: LeaseRequest, handed: (jobs: LeasedJob[]) => void): LeaseOffer;
  /** Applies each write whose compare-and-set holds; answers, in order, which did. */
  write(writes: readonly TransitionWrite[]): Promise<boolean[]>;
  /**
   * True when a `write` commits on the calling thread before it returns
   * (SQLite: a commit and an fsync with nothing else running): the engine
   * then gathers the outcome writes of a whole turn of the event loop into
   * one call, rather than those of one callback.
   */
  readonly writesBlock?: boolean;
  /** Pushes the lease deadlines out by `leaseMs`; answers, in order, which leases were still held. */
  extend(leases: readonly LeaseRef[], leaseMs: number): Promise<boolean[]>;
  get(id: string): Promise<StoredJob | null>;
  /**
   * The job's steps through the chart, oldest first: its enqueue (the row's
   * creation), every step written with an `event` or leased with a `worker`,
   * and every REPLACE of a unique enqueue. Kept with the job and deleted with
   * it. [] for a job the store does not have.
   */
  history(id: string): Promise<HistoryEntry[]>;
  /** Running jobs whose lease deadline has passed, oldest deadline first. */
  expired(limit: number): Promise<StoredJob[]>;
  /** Jobs in one state, in enqueue order, a page at a time. */
  list(options: ListOptions): Promise<ListPage>;
  /** Deletes jobs in `state` last changed before `before`; answers how many. */
  purge(state: JobState, before: number): Promise<number>;
  counts(filter?: CountFilter): Promise<StateCounts>;
  /** Stores each running job's progress while it holds the lease named; answers, in order, which did. */
  progress(writes: readonly ProgressWrite[]): Promise<boolean[]>;
  /** Applies a RESCHEDULE if its compare-and-set holds; wakes workers as a write back to the queue does. */
  reschedule(write: RescheduleWrite): Promise<boolean>;
  /**
   * Deletes, in one bounded batch, jobs in `state` last changed before
   * `before`, with whatever the store keeps for them (waits...). Walks jobs
   * in enqueue order, so a batch costs about `limit` rows whatever the table holds.
   */
  expire(batch: ExpireBatch): Promise<ExpireResult>;
  /**
   * Calls `listener` when another process enqueues a job (with its runAt), so
   * an idle supervisor wakes at once. Stores without cross-process wake-ups
   * leave this out and rely on `maxSleepMs`.
   */
  subscribe?(listener: (runAt: number) => void): () => void;
  /**
   * True when `subscribe` also tells of jobs inserted through this store
   * object, once a lease can see them: the engine then does not wake its own
   * worker after an enqueue as well (a second wake is a second lease).
   */
  readonly subscribeTellsOwnInserts?: boolean;
  /**
   * Calls `listener` when job `id` may have come to rest (see RESTING_STATES),
   * whichever process moved it, soon after the write: a hint, which the caller
   * confirms with `get`. Resolves once the watch is in effect, with the
   * function that ends it. A write already under way as the watch began may
   * go untold (Postgres): callers read again a moment later. Stores without
   * a cross-process signal leave this out, and callers poll.
   */
  watchRest?(id: string, listener: () => void): Promise<() => void>;
  /**
   * Runs `run` only if nobody else, in this process or another, is running
   * the duty of that name (the reaper; retention and cron to come), and
   * answers whether it ran; an error of `run` is thrown after the duty is
   * given up. A holder that dies must not keep the duty forever: the store
   * frees it when the holder's session ends or its claim expires. Duties
   * save work; correctness never depends on them, as every write is a
   * compare-and-set.
   */
  withDuty(name: string, run: () => Promise<void>): Promise<boolean>;
  /**
   * Changes a queue's settings at once for every worker (see queue-settings.ts)
   * and answers them. A queue once configured keeps its row, defaults or not.
   * A change that may let jobs be leased wakes the workers, as an enqueue does.
   */
  configureQueue(name: string, change: QueueSettingsChange): Promise<StoredQueue>;
  /** Every queue that has settings, by name. */
  queueSettings(): Promise<StoredQueue[]>;
  /** Counts by state of every queue that has jobs. */
  queueCounts(): Promise<QueueStateCounts>;
}

export { ENQUEUE_EVENT, ERROR_STATES, type HistoryEntry, readHistory, type WorkerNames, showsError } from './history.js';
export type { CatchUp, NewSchedule, Overlap, ScheduleStore, StoredSchedule, TickFire, TickResult } from './schedules.js';
export type { QueueSettings, QueueSettingsChange, QueueStateCounts, RateLimit, StoredQueue } from './queue-settings.js';
export { changedSettings, isDefault, isLimited, NO_QUEUE_SETTINGS } from './queue-settings.js';

/** The methods every store has (the optional ones, subscribe and watchRest, aside): what proves a value is a store. */
export const STORE_METHODS = [
  'open', 'close', 'insert', 'lease', 'write', 'extend', 'get', 'history', 'expired', 'list', 'purge', 'counts', 'withDuty',
  'progress', 'reschedule', 'expire', 'configureQueue', 'queueSettings', 'queueCounts',
  'saveSchedule', 'listSchedules', 'removeSchedule', 'fireTick', 'pruneTicks',
] as const satisfies ReadonlyArray<keyof Store>;

/** The job chart's rules (which states a lease takes from, which holds a lease...), that stores follow. */
export { jobRules, sqlList } from '../../machines/job.rules.js';

// What a backend needs besides the contract (its errors, its option fields), so it imports nothing else.
export { CorruptJobError, JobKeyConflictError, StoreConfigError, StoreError } from '../errors.js';
export { durationField } from '../duration.js';
export { type OptionKeys, type OptionShape, optionKeys, refuseUnknownKeys, strictOptions } from '../strict-options.js';
