// Over 400 lines on purpose: one class holds the whole contract for the memory store, its heaps and
// lanes shared by every method; pieces that stand alone (rest watchers, wake listeners) live beside it.
import { randomUUID } from 'node:crypto';
import TinyQueue from 'tinyqueue';
import type { JobError, JobState } from '../../../machines/job.machine.js';
import type {
  CountFilter,
  ExpireBatch,
  ExpireResult,
  InsertOptions,
  LeasedJob,
  LeaseRef,
  LeaseRequest,
  LeaseResult,
  ListOptions,
  ListPage,
  NewJob,
  NewSchedule,
  ProgressWrite,
  RescheduleWrite,
  StateCounts,
  StoredSchedule,
  TickFire,
  TickResult,
  Store,
  StoredJob,
  TransitionWrite,
} from '../contract.js';
import { expireRows, listRows } from './job-walks.js';
import { enqueueEntry, type HistoryEntry, leaseEntries, replaceEntries, showsError } from '../history.js';
import { enqueuedRecord } from '../enqueued-record.js';
import { replacedInto } from '../job-keys.js';
import { MemoryKeys } from './job-keys.js';
import type { QueueSettingsChange, QueueStateCounts, StoredQueue } from '../contract.js';
import { countByQueue, QueueBook, type QueueRoom } from './queue-book.js';
import { RestWatchers } from '../rest-watchers.js';
import { MemorySchedules } from './schedules.js';
import { WakeListeners } from '../wake-listeners.js';
import { inQueue, jobRules, optionKeys, refuseUnknownKeys, StoreConfigError, StoreError } from '../contract.js';

interface Row extends StoredJob {
  seq: number;
  /** Bumped each time the row enters a heap; older heap entries for it are stale. */
  ticket: number;
  /** The unique key it was enqueued with, to free the key's entry when the row is purged. */
  keyed?: string;
  /**
   * Its steps since the enqueue, oldest first, flat: STEP_FIELDS values a
   * step (see note), no object each, as completed jobs keep them for days.
   * Null until one is recorded.
   */
  steps?: unknown[] | null;
}

/**
 * A row's place in a heap. The order's keys are copied in: a heap compares
 * entries at every level, and with a big backlog reaching into each row for
 * them cost a cache miss a level. Fixed at entry, they also stay put while a
 * stale entry (its row since moved on) waits to be dropped.
 */
interface Entry {
  row: Row;
  ticket: number;
  priority: number;
  runAt: number;
  seq: number;
}

/** The one order: priority desc, runAt asc, enqueue order asc. */
function readyOrder(a: Entry, b: Entry): number {
  return b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq;
}

function dueOrder(a: Entry, b: Entry): number {
  return a.runAt - b.runAt || a.seq - b.seq;
}

/** The chart's: the state a lease leaves jobs in. */
const LEASED = jobRules.leased;

const isLive = (entry: Entry) => entry.ticket === entry.row.ticket && inQueue(entry.row.state);

/** The row as the contract shows it; spelled out, as a rest spread costs more on the lease path. */
function copy(row: Row): StoredJob {
  const job: StoredJob = {
    id: row.id,
    name: row.name,
    queue: row.queue,
    state: row.state,
    input: row.input,
    priority: row.priority,
    runAt: row.runAt,
    attempt: row.attempt,
    maxRetries: row.maxRetries,
    timeoutMs: row.timeoutMs,
    lastError: row.lastError,
    result: row.result,
    progress: row.progress,
    leaseToken: row.leaseToken,
    leaseExpiresAt: row.leaseExpiresAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    group: row.group,
  };
  if (row.traceContext) job.traceContext = row.traceContext;
  return job;
}

export interface MemoryStoreOptions {
  /** The clock the store reads; `Date.now` unless a test gives its own. */
  now?: () => number;
}

// A new option in MemoryStoreOptions is a compile error here until it is listed.
const optionNames = optionKeys<MemoryStoreOptions>({ now: true });

/**
 * The jobs of one name on one queue: due ones in the one order, future ones by
 * runAt. A lease reads only the lanes of the names and queues it asks for, so
 * a backlog of a name this worker does not know is never touched. (Entries of
 * jobs cancelled or purged meanwhile are dropped when a lease next reads the lane.)
 */
interface Lane {
  queue: string;
  name: string;
  /** Jobs of one group have a lane of their own, so a queue's groupConcurrency can pass over a full group. */
  group: string | null;
  ready: TinyQueue<Entry>;
  scheduled: TinyQueue<Entry>;
}

/** The lanes a request may take from, worked out once per set of lanes and kept while no lane is added. */
interface LaneChoice {
  queues: readonly string[] | undefined;
  generation: number;
  lanes: Lane[];
}

/**
 * The reference store: everything in this process's memory, nothing survives
 * it. Jobs wait in lanes (queue, name), each a heap of due jobs and a heap of
 * future ones, so a lease costs a few heap operations per lane it may take
 * from, whatever the backlog.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  /** Its inserts wake this process's subscribers as they return. */
  readonly subscribeTellsOwnInserts = true;
  /** Every enqueue is local and wakes the supervisor itself. */
  readonly maxSleepMs = Infinity;
  private readonly rows = new Map<string, Row>();
  /** Lanes by queue, then by name, then by group; never removed (there is one per triple ever enqueued). */
  private readonly lanes = new Map<string, Map<string, Map<string | null, Lane>>>();
  /** Bumped when a lane is added, so a kept LaneChoice knows it is out of date. */
  private laneGeneration = 0;
  /** Keyed by the request's names array: a dispatcher passes the same one on every lease. */
  private readonly choices = new WeakMap<readonly string[], LaneChoice>();
  private readonly now: () => number;
  private readonly wakes = new WakeListeners();
  /** The duties running now (see withDuty). */
  private readonly duties = new Set<string>();
  private readonly resting = new RestWatchers();
  private readonly schedules = new MemorySchedules((jobs) => this.insert(jobs));
  private readonly keys = new MemoryKeys();
  private readonly queueBook = new QueueBook();
  private seq = 0;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    if (options === null || typeof options !== 'object') throw new StoreConfigError('options', 'must be an object such as { now: Date.now }');
    refuseUnknownKeys(options, optionNames, '', 'memoryStore', StoreConfigError);
    if (options.now !== undefined && typeof options.now !== 'function') throw new StoreConfigError('now', 'must be a function returning milliseconds');
    this.now = options.now ?? Date.now;
  }

  async open(): Promise<void> {
    this.closed = false;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async insert(jobs: readonly NewJob[], options?: InsertOptions): Promise<StoredJob[]> {
    this.assertOpen();
    if (options?.client !== undefined) {
      throw new StoreConfigError('client', 'the memory store has no transactions to join');
    }
    // Every input is read before any row goes in: a batch is all or nothing, as in the durable stores.
    const inputs = jobs.map((job, i) => {
      try {
        return JSON.parse(job.inputJson) as unknown;
      } catch (error) {
        throw new StoreError(`memory store: inserting jobs failed: the inputJson of job ${i} of the batch is not JSON`, { cause: error });
      }
    });
    const now = this.now();
    // Keyed jobs are all decided before anything is written: an 'error' conflict throws with nothing stored.
    const outcomes = this.keys.decide(jobs, (id) => this.rows.get(id), now);
    const out: StoredJob[] = new Array(jobs.length);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const outcome = outcomes?.[i];
      if (outcome && outcome.kind !== 'insert') {
        const holder = outcome.holder as Row;
        const from = holder.state;
        if (outcome.kind === 'replace') {
          holder.state = replacedInto(holder, now)!;
          for (const entry of replaceEntries(from, holder.state, holder.attempt, now)) note(holder, entry);
          holder.input = inputs[i];
          holder.runAt = job.runAt;
          holder.priority = job.priority;
          holder.updatedAt = now;
          this.enterHeap(holder, now);
        }
        out[i] = copy(holder);
        out[i]!.duplicate = outcome.kind === 'replace' ? 'replaced' : 'kept';
        if (holder.state !== from) out[i]!.replacedFrom = from;
        continue;
      }
      const seq = ++this.seq;
      // The input is a copy through JSON, as a durable store would keep: later changes to the caller's object do not leak in.
      const row = enqueuedRecord(job, String(seq), inputs[i], now) as Row;
      row.seq = seq;
      row.ticket = 0;
      if (job.unique) row.keyed = this.keys.claim(job.name, job.unique, row.id);
      this.rows.set(row.id, row);
      this.enterHeap(row, now);
      out[i] = copy(row);
    }
    let earliest = Infinity;
    for (const job of jobs) earliest = Math.min(earliest, job.runAt);
    if (jobs.length > 0) this.wakes.notify(earliest);
    return out;
  }

  async lease(request: LeaseRequest): Promise<LeaseResult> {
    this.assertOpen();
    const now = this.now();
    const lanes = this.lanesFor(request);
    for (const lane of lanes) this.promoteDue(lane, now);
    if (!this.queueBook.empty) return this.leaseUnderSettings(request, lanes, now);
    const jobs: LeasedJob[] = [];
    const taken: Record<string, number> = {};
    const token = randomUUID();
    while (jobs.length < request.limit) {
      const lane = this.bestLane(lanes, request.queueRoom, taken);
      if (!lane) break;
      const row = lane.ready.pop()!.row;
      const leasedFrom = take(row, token, now, request.leaseMs, request.worker);
      taken[row.queue] = (taken[row.queue] ?? 0) + 1;
      const leased = copy(row) as LeasedJob;
      leased.leasedFrom = leasedFrom;
      jobs.push(leased);
    }
    return { jobs, nextRunAt: jobs.length < request.limit ? this.nextRunAt(lanes) : null };
  }

  async write(writes: readonly TransitionWrite[]): Promise<boolean[]> {
    this.assertOpen();
    // Every result is read before any write applies: a batch is all or nothing, as in the durable stores.
    const results = writes.some((write) => write.resultJson !== undefined)
      ? writes.map((write, i) => {
          if (write.resultJson === undefined) return undefined;
          try {
            return JSON.parse(write.resultJson) as unknown;
          } catch (error) {
            throw new StoreError(`memory store: writing job states failed: the resultJson of write ${i} of the batch is not JSON`, { cause: error });
          }
        })
      : null;
    const now = this.now();
    const book = this.queueBook;
    const applied = writes.map((write, i) => {
      const row = this.rows.get(write.id);
      if (!row || row.state !== write.from) return false;
      if (write.token !== undefined && row.leaseToken !== write.token) return false;
      if (!book.empty && row.state === LEASED && write.to !== LEASED && book.tracks(row.queue)) {
        book.stopped(row.queue, row.group);
        // Room another dispatcher on this store may be waiting for.
        if (book.capsRunning(row.queue)) this.wakes.notify(now);
      }
      row.state = write.to;
      row.updatedAt = now;
      if (write.to !== LEASED) {
        row.leaseToken = null;
        row.leaseExpiresAt = null;
      }
      if (write.attempt !== undefined) row.attempt = write.attempt;
      if (write.runAt !== undefined) row.runAt = write.runAt;
      if (write.lastError !== undefined) row.lastError = write.lastError;
      if (results && write.resultJson !== undefined) row.result = results[i];
      if (write.event !== undefined) noteStep(row, write, now);
      if (this.enterHeap(row, now)) this.wakes.notify(row.runAt);
      return true;
    });
    this.resting.written(writes, applied);
    return applied;
  }

  /** Tells `listener` when job `id` comes to rest; every write is this process's, so no other signal is needed. */
  async watchRest(id: string, listener: () => void): Promise<() => void> {
    return this.resting.watch(id, listener);
  }

  /** Wakes other dispatchers sharing this store, as LISTEN/NOTIFY does across processes. */
  subscribe(listener: (runAt: number) => void): () => void {
    return this.wakes.subscribe(listener);
  }

  async extend(leases: readonly LeaseRef[], leaseMs: number): Promise<boolean[]> {
    this.assertOpen();
    const deadline = this.now() + leaseMs;
    return leases.map(({ id, token }) => {
      const row = this.rows.get(id);
      if (!row || row.state !== LEASED || row.leaseToken !== token) return false;
      row.leaseExpiresAt = deadline;
      return true;
    });
  }

  async get(id: string): Promise<StoredJob | null> {
    this.assertOpen();
    const row = this.rows.get(id);
    return row ? copy(row) : null;
  }

  async history(id: string): Promise<HistoryEntry[]> {
    this.assertOpen();
    const row = this.rows.get(id);
    if (!row) return [];
    return [enqueueEntry(row.createdAt), ...entriesOf(row.steps ?? [])];
  }

  async expired(limit: number): Promise<StoredJob[]> {
    this.assertOpen();
    const now = this.now();
    const out: Row[] = [];
    for (const row of this.rows.values()) {
      if (row.state === LEASED && row.leaseExpiresAt !== null && row.leaseExpiresAt < now) out.push(row);
    }
    out.sort((a, b) => a.leaseExpiresAt! - b.leaseExpiresAt! || a.seq - b.seq);
    return out.slice(0, limit).map(copy);
  }

  async list(options: ListOptions): Promise<ListPage> {
    this.assertOpen();
    return listRows(this.rows, options, copy);
  }

  async purge(state: JobState, before: number): Promise<number> {
    this.assertOpen();
    let removed = 0;
    for (const row of this.rows.values()) {
      if (row.state === state && row.updatedAt < before) {
        this.drop(row);
        removed++;
      }
    }
    return removed;
  }

  /** Deletes a job and what is kept beside it (its unique key). */
  private drop(row: Row): void {
    this.rows.delete(row.id);
    if (row.keyed) this.keys.release(row.keyed, row.id);
    row.ticket++;
  }

  async configureQueue(name: string, change: QueueSettingsChange): Promise<StoredQueue> {
    this.assertOpen();
    const now = this.now();
    const stored = this.queueBook.configure(name, change, now, this.rows.values());
    // A resume or a looser limit may let waiting jobs go.
    this.wakes.notify(now);
    return stored;
  }

  async queueSettings(): Promise<StoredQueue[]> {
    this.assertOpen();
    return this.queueBook.list();
  }

  async queueCounts(): Promise<QueueStateCounts> {
    this.assertOpen();
    return countByQueue(this.rows.values());
  }

  async counts(filter: CountFilter = {}): Promise<StateCounts> {
    this.assertOpen();
    const counts = Object.fromEntries(jobRules.states.map((state) => [state, 0])) as StateCounts;
    for (const row of this.rows.values()) if (filter.queue === undefined || row.queue === filter.queue) counts[row.state]++;
    return counts;
  }

  async progress(writes: readonly ProgressWrite[]): Promise<boolean[]> {
    this.assertOpen();
    const values = writes.map((write, i) => {
      try {
        return JSON.parse(write.progressJson) as unknown;
      } catch (error) {
        throw new StoreError(`memory store: writing progress failed: the progressJson of write ${i} of the batch is not JSON`, { cause: error });
      }
    });
    return writes.map((write, i) => {
      const row = this.rows.get(write.id);
      if (!row || row.state !== jobRules.progressIn || row.leaseToken !== write.token) return false;
      row.progress = values[i];
      return true;
    });
  }

  async reschedule(write: RescheduleWrite): Promise<boolean> {
    this.assertOpen();
    const row = this.rows.get(write.id);
    if (!row || row.state !== write.from) return false;
    if (write.token !== undefined && row.leaseToken !== write.token) return false;
    const now = this.now();
    row.state = write.to;
    row.runAt = write.runAt;
    row.priority = write.priority;
    row.updatedAt = now;
    if (write.attempt !== undefined) row.attempt = write.attempt;
    if (write.lastError !== undefined) row.lastError = write.lastError;
    if (write.event !== undefined) noteStep(row, write, now);
    // A new heap entry under the new priority and runAt; the old one is stale by its ticket.
    if (this.enterHeap(row, now)) this.wakes.notify(row.runAt);
    return true;
  }

  async expire(batch: ExpireBatch): Promise<ExpireResult> {
    this.assertOpen();
    return expireRows(this.rows, batch, this.seq, (row) => this.drop(row));
  }

  /**
   * Every holder is in this process, so a set of the duties being run is the
   * lock: two dispatchers sharing this store never run one duty at once.
   */
  async withDuty(name: string, run: () => Promise<void>): Promise<boolean> {
    this.assertOpen();
    if (this.duties.has(name)) return false;
    this.duties.add(name);
    try {
      await run();
    } finally {
      this.duties.delete(name);
    }
    return true;
  }

  async saveSchedule(schedule: NewSchedule): Promise<StoredSchedule> {
    this.assertOpen();
    return this.schedules.save(schedule);
  }

  async listSchedules(): Promise<StoredSchedule[]> {
    this.assertOpen();
    return this.schedules.list();
  }

  async removeSchedule(name: string): Promise<boolean> {
    this.assertOpen();
    return this.schedules.remove(name);
  }

  fireTick(tick: TickFire): Promise<TickResult> {
    this.assertOpen();
    return this.schedules.fire(tick);
  }

  async pruneTicks(before: number, limit: number): Promise<number> {
    this.assertOpen();
    return this.schedules.prune(before, limit);
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('the memory store is closed');
  }

  /** Puts a leasable row where a lease will find it: ready if due, scheduled if not. Answers whether it was leasable. */
  private enterHeap(row: Row, now: number): boolean {
    if (!inQueue(row.state)) return false;
    const entry: Entry = { row, ticket: ++row.ticket, priority: row.priority, runAt: row.runAt, seq: row.seq };
    const lane = this.laneOf(row.queue, row.name, row.group);
    if (row.runAt <= now) lane.ready.push(entry);
    else lane.scheduled.push(entry);
    return true;
  }

  private laneOf(queue: string, name: string, group: string | null): Lane {
    let byName = this.lanes.get(queue);
    if (!byName) {
      byName = new Map();
      this.lanes.set(queue, byName);
    }
    let byGroup = byName.get(name);
    if (!byGroup) {
      byGroup = new Map();
      byName.set(name, byGroup);
    }
    let lane = byGroup.get(group);
    if (!lane) {
      lane = { queue, name, group, ready: new TinyQueue<Entry>([], readyOrder), scheduled: new TinyQueue<Entry>([], dueOrder) };
      byGroup.set(group, lane);
      this.laneGeneration++;
    }
    return lane;
  }

  /** The lanes of the names and queues asked for; kept for the same names array until a lane is added. */
  private lanesFor(request: LeaseRequest): Lane[] {
    const { names, queues } = request;
    const kept = this.choices.get(names);
    if (kept && kept.generation === this.laneGeneration && kept.queues === queues) return kept.lanes;
    const lanes: Lane[] = [];
    for (const queue of queues ?? this.lanes.keys()) {
      const byName = this.lanes.get(queue);
      if (!byName) continue;
      for (const name of names) {
        const byGroup = byName.get(name);
        if (byGroup) for (const lane of byGroup.values()) lanes.push(lane);
      }
    }
    this.choices.set(names, { queues, generation: this.laneGeneration, lanes });
    return lanes;
  }

  private promoteDue(lane: Lane, now: number): void {
    const { scheduled, ready } = lane;
    for (let top = scheduled.peek(); top && (top.runAt <= now || !isLive(top)); top = scheduled.peek()) {
      scheduled.pop();
      if (isLive(top)) ready.push(top);
    }
  }

  /** The lane whose due head comes first in the one order, among lanes whose queue has room; stale heads dropped on the way. */
  private bestLane(lanes: readonly Lane[], queueRoom: Readonly<Record<string, number>>, taken: Record<string, number>): Lane | undefined {
    let best: Lane | undefined;
    let bestTop: Entry | undefined;
    for (const lane of lanes) {
      const room = queueRoom[lane.queue];
      if (room !== undefined && (taken[lane.queue] ?? 0) >= room) continue;
      const heap = lane.ready;
      let top = heap.peek();
      while (top && !isLive(top)) {
        heap.pop();
        top = heap.peek();
      }
      if (top && (!bestTop || readyOrder(top, bestTop) < 0)) {
        best = lane;
        bestTop = top;
      }
    }
    return best;
  }

  /**
   * A lease while some queue has settings: each queue's room is what its
   * settings leave (none while paused), and in a queue with a
   * groupConcurrency the groups take turns, the group that got fewest in
   * this lease first, so one busy group cannot starve the rest.
   */
  private leaseUnderSettings(request: LeaseRequest, lanes: readonly Lane[], now: number): LeaseResult {
    const book = this.queueBook;
    const rooms = new Map<string, QueueRoom>();
    const taken = new Map<string, number>();
    const groupTaken = new Map<string, number>();
    const groupKeyOf = (lane: Lane) => `${lane.queue}\u0000${lane.group}`;
    let rateOpensAt: number | null = null;
    for (const lane of lanes) if (!rooms.has(lane.queue)) rooms.set(lane.queue, book.roomOf(lane.queue, now));
    const jobs: LeasedJob[] = [];
    const token = randomUUID();
    while (jobs.length < request.limit) {
      let best: Lane | undefined;
      let bestTop: Entry | undefined;
      let bestTurn = 0;
      for (const lane of lanes) {
        const top = this.liveTop(lane);
        if (!top) continue;
        const room = rooms.get(lane.queue)!;
        const taking = taken.get(lane.queue) ?? 0;
        const asked = request.queueRoom[lane.queue];
        if ((asked !== undefined && taking >= asked) || taking >= room.room) {
          if (taking >= room.rateLeft) rateOpensAt = Math.min(rateOpensAt ?? Infinity, room.rateOpensAt!);
          continue;
        }
        let turn = 0;
        if (room.groupRoom) {
          turn = groupTaken.get(groupKeyOf(lane)) ?? 0;
          if (turn >= room.groupRoom(lane.group)) continue;
        }
        if (!bestTop || turn < bestTurn || (turn === bestTurn && readyOrder(top, bestTop) < 0)) {
          best = lane;
          bestTop = top;
          bestTurn = turn;
        }
      }
      if (!best) break;
      const row = best.ready.pop()!.row;
      const leasedFrom = take(row, token, now, request.leaseMs, request.worker);
      taken.set(row.queue, (taken.get(row.queue) ?? 0) + 1);
      if (rooms.get(row.queue)!.groupRoom) groupTaken.set(groupKeyOf(best), bestTurn + 1);
      book.started(row.queue, row.group, now);
      const leased = copy(row) as LeasedJob;
      leased.leasedFrom = leasedFrom;
      jobs.push(leased);
    }
    if (jobs.length === request.limit) return { jobs, nextRunAt: null };
    const later = this.nextRunAt(lanes);
    return { jobs, nextRunAt: rateOpensAt === null ? later : Math.min(rateOpensAt, later ?? Infinity) };
  }

  /** A lane's first live due entry, stale ones dropped on the way. */
  private liveTop(lane: Lane): Entry | undefined {
    let top = lane.ready.peek();
    while (top && !isLive(top)) {
      lane.ready.pop();
      top = lane.ready.peek();
    }
    return top;
  }

  /** The earliest future runAt among the lanes asked for. */
  private nextRunAt(lanes: readonly Lane[]): number | null {
    let next: number | null = null;
    for (const { scheduled } of lanes) {
      let top = scheduled.peek();
      while (top && !isLive(top)) {
        scheduled.pop();
        top = scheduled.peek();
      }
      if (top && (next === null || top.row.runAt < next)) next = top.row.runAt;
    }
    return next;
  }
}

export function memoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options);
}

/** Moves a row to the leased state under `token` (LEASE, as the chart's rules say); answers the state it left. */
function take(row: Row, token: string, now: number, leaseMs: number, worker: string | undefined): JobState {
  const leasedFrom = row.state;
  if (worker !== undefined) {
    if (jobRules.dueThrough.has(leasedFrom)) for (const entry of leaseEntries(leasedFrom, row.attempt, worker, now)) note(row, entry);
    else push(row, leasedFrom, LEASED, 'LEASE', row.attempt + jobRules.attemptsPerLease, null, worker, now);
  }
  row.state = LEASED;
  row.attempt += jobRules.attemptsPerLease;
  row.leaseToken = token;
  row.leaseExpiresAt = now + leaseMs;
  row.updatedAt = now;
  row.ticket++;
  return leasedFrom;
}

/** Values a step takes in Row.steps: from, to, event, attempt, error, worker, at. */
const STEP_FIELDS = 7;

function push(row: Row, from: JobState, to: JobState, event: string, attempt: number, error: JobError | null, worker: string | null, at: number): void {
  (row.steps ??= []).push(from, to, event, attempt, error, worker, at);
}

function note(row: Row, entry: HistoryEntry): void {
  push(row, entry.from!, entry.to, entry.event, entry.attempt, entry.error, entry.worker, entry.at);
}

function entriesOf(steps: readonly unknown[]): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (let i = 0; i < steps.length; i += STEP_FIELDS) {
    const [from, to, event, attempt, error, worker, at] = steps.slice(i, i + STEP_FIELDS) as [JobState, JobState, string, number, JobError | null, string | null, number];
    entries.push({ from, to, event, attempt, error, worker, at });
  }
  return entries;
}

/** Records a written step, the row already changed by it. */
function noteStep(row: Row, write: TransitionWrite, now: number): void {
  push(row, write.from, write.to, write.event!, row.attempt, showsError(write.to) ? row.lastError : null, write.worker ?? null, now);
}
