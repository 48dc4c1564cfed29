import type { JobError, JobState } from '../../machines/job.machine.js';
import { type JobRecord, toRecord } from '../engine/records.js';
import { InvalidOptionError, InvalidTransitionError, JobNotFoundError } from '../errors.js';
import { fields, parseOrThrow } from '../job/options.js';
import { contextOf, writeFor } from '../kernel/chart.js';
import { inQueue, jobRules, type StateCounts, type StoredJob } from '../store/contract.js';
import { optionKeys, refuseUnknownKeys } from '../strict-options.js';
import type { ClientParts } from './client.js';

export interface JobListOptions {
  /** The state to list; one state a call. */
  state: JobState;
  /** Only jobs of this queue. */
  queue?: string;
  /** Only jobs of this name. */
  name?: string;
  /** Jobs a page, 1 to 1000; 50 unless given. */
  limit?: number;
  /** From the previous page's `nextCursor`. */
  cursor?: string | null;
}

export interface JobPage {
  /** In enqueue order. */
  jobs: JobRecord[];
  /** Null on the last page. */
  nextCursor: string | null;
}

export interface JobCountOptions {
  /** Only jobs of this queue. */
  queue?: string;
}

/** One step of a job through the chart, as `jobs.history` answers it. */
export interface JobHistoryEntry {
  /** Null for the enqueue that created the job. */
  from: JobState | null;
  to: JobState;
  /** The chart's event, as `events$` names it: LEASE, SUCCEED, FAIL, xstate's name of a delay...; `xstate.init` for the enqueue. */
  event: string;
  attempt: number;
  /** Where the step stopped short of success: the job's last error. */
  error?: JobError;
  /** The `workerId` of the dispatcher whose worker (or reaper) took the step; null for a client's (enqueue, cancel, replay, reschedule). */
  worker: string | null;
  at: Date;
}

/** Finding jobs: a state's jobs a page at a time, how many there are in each state, and one job's story. */
export interface Jobs {
  list(options: JobListOptions): Promise<JobPage>;
  counts(options?: JobCountOptions): Promise<StateCounts>;
  /**
   * Every step job `id` took through the chart, oldest first, from its
   * enqueue (see docs/history.md). [] for an id that names no job (as getJob
   * answers null), and always [] with `history: false`.
   */
  history(id: string): Promise<JobHistoryEntry[]>;
}

export interface RescheduleOptions {
  /** When the job is due; now if neither this nor `priority` keeps it. Left out: its runAt is kept. */
  runAt?: Date;
  /** Left out: its priority is kept. */
  priority?: number;
}

export interface ReplayAllOptions {
  /** Only jobs of this name. */
  name?: string;
  /** Only jobs of this queue. */
  queue?: string;
  /** Called after each batch with how many this call has replayed so far: for a progress bar. */
  onProgress?: (replayed: number) => void;
}

const listKeys = optionKeys<JobListOptions>({ state: true, queue: true, name: true, limit: true, cursor: true });
const countKeys = optionKeys<JobCountOptions>({ queue: true });
const rescheduleKeys = optionKeys<RescheduleOptions>({ runAt: true, priority: true });
const replayAllKeys = optionKeys<ReplayAllOptions>({ name: true, queue: true, onProgress: true });
const STATES: ReadonlySet<string> = new Set(jobRules.states);
/** Jobs replayed a batch: one page of the DLQ, its writes sent as one store call. */
const REPLAY_BATCH = 100;

export async function listJobs(parts: ClientParts, options: JobListOptions): Promise<JobPage> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object such as { state: "dlq" }');
  refuseUnknownKeys(options, listKeys, 'options', 'jobs.list');
  if (typeof options.state !== 'string' || !STATES.has(options.state)) {
    throw new InvalidOptionError('state', `must be one of ${jobRules.states.join(', ')}`);
  }
  return listPage(parts, options.state, options);
}

/** One page of a state's jobs, its limit, cursor and filters checked: what jobs.list and dlq.list share. */
export async function listPage(parts: ClientParts, state: JobState, options: Omit<JobListOptions, 'state'>): Promise<JobPage> {
  const limit = parseOrThrow(fields.count.max(1000, { error: 'must be at most 1000' }), options.limit ?? 50, 'limit');
  const filters = filtersOf(options);
  if (options.cursor !== undefined && options.cursor !== null && typeof options.cursor !== 'string') {
    throw new InvalidOptionError('cursor', 'must be a string from a previous page');
  }
  await parts.ready();
  const page = await parts.store.list({ state, limit, cursor: options.cursor ?? null, ...filters });
  return { jobs: page.jobs.map((j) => toRecord(j)), nextCursor: page.nextCursor };
}

/** The queue and name a list or a replay is narrowed to, checked; only those given. */
function filtersOf(options: { queue?: string; name?: string }): { queue?: string; name?: string } {
  if (options.queue !== undefined) parseOrThrow(fields.queue, options.queue, 'queue');
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
    throw new InvalidOptionError('name', 'must be a non-empty string');
  }
  return {
    ...(options.queue !== undefined ? { queue: options.queue } : {}),
    ...(options.name !== undefined ? { name: options.name } : {}),
  };
}

export function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) throw new InvalidOptionError('id', 'must be a non-empty string');
}

export async function jobHistory(parts: ClientParts, id: string): Promise<JobHistoryEntry[]> {
  checkId(id);
  await parts.ready();
  if (!parts.history) return [];
  const entries = await parts.store.history(id);
  return entries.map((entry) => {
    const out: JobHistoryEntry = { from: entry.from, to: entry.to, event: entry.event, attempt: entry.attempt, worker: entry.worker, at: new Date(entry.at) };
    if (entry.error) out.error = entry.error;
    return out;
  });
}

export async function countJobs(parts: ClientParts, options: JobCountOptions = {}): Promise<StateCounts> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object such as { queue: "mail" }');
  refuseUnknownKeys(options, countKeys, 'options', 'jobs.counts');
  if (options.queue !== undefined) parseOrThrow(fields.queue, options.queue, 'queue');
  await parts.ready();
  return parts.store.counts(options.queue === undefined ? {} : { queue: options.queue });
}

/**
 * Moves a job that waits (pending, or retrying in its backoff) to a new runAt
 * and priority: the chart's RESCHEDULE, written with a compare-and-set. A
 * running job, or one at rest, is refused with an InvalidTransitionError.
 */
export async function reschedule(parts: ClientParts, id: string, options: RescheduleOptions): Promise<JobRecord> {
  checkId(id);
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object such as { runAt, priority }');
  refuseUnknownKeys(options, rescheduleKeys, 'options', 'reschedule');
  const runAt = options.runAt === undefined ? undefined : parseOrThrow(fields.runAt, options.runAt, 'runAt').getTime();
  const priority = options.priority === undefined ? undefined : parseOrThrow(fields.priority, options.priority, 'priority');
  if (runAt === undefined && priority === undefined) throw new InvalidOptionError('options', 'give runAt, priority or both');
  await parts.ready();
  for (;;) {
    const job = await parts.store.get(id);
    if (!job) throw new JobNotFoundError(id);
    const event = { type: 'RESCHEDULE' as const, runAt: runAt ?? job.runAt, priority: priority ?? job.priority };
    const now = parts.clock.now();
    const step = parts.kernel.decide(job.state, contextOf(job, parts.registry.deadLetter(job.name)), event);
    if (!step) throw new InvalidTransitionError(id, job.state, 'RESCHEDULE');
    const write = { ...writeFor(job.id, step, job.leaseToken, now, parts.history ? { worker: null } : null), runAt: event.runAt, priority: event.priority };
    // Lost: the job moved on (leased, cancelled, rescheduled by another); look again.
    if (!(await parts.store.reschedule(write))) continue;
    parts.emit(job, step);
    if (inQueue(write.to)) parts.wake(write.runAt);
    const moved: StoredJob = {
      ...job,
      state: write.to,
      runAt: write.runAt,
      priority: write.priority,
      attempt: write.attempt ?? job.attempt,
      leaseToken: null,
      leaseExpiresAt: null,
      updatedAt: now,
    };
    return toRecord(moved);
  }
}

/**
 * Replays every dead-lettered job (of a name, a queue), a page at a time,
 * each through the chart's REPLAY with a compare-and-set: a job another
 * caller replays at the same moment is counted by one of them only. Answers
 * how many this call replayed.
 */
export async function replayAll(
  parts: ClientParts,
  move: (job: StoredJob) => Promise<StoredJob | false | null>,
  options: ReplayAllOptions = {},
): Promise<number> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object such as { name: "mail" }');
  refuseUnknownKeys(options, replayAllKeys, 'options', 'dlq.replayAll');
  const filters = filtersOf(options);
  const { onProgress } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new InvalidOptionError('onProgress', 'must be a function (replayed) => ...');
  await parts.ready();
  let replayed = 0;
  let cursor: string | null = null;
  do {
    const page = await parts.store.list({ state: 'dlq', limit: REPLAY_BATCH, cursor, ...filters });
    // Sent together, so the write buffer stores the page in one call.
    const moved = await Promise.all(page.jobs.map((job) => move(job)));
    replayed += moved.filter(Boolean).length;
    onProgress?.(replayed);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return replayed;
}
