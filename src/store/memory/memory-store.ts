import { randomUUID } from 'node:crypto';
import TinyQueue from 'tinyqueue';
import type { JobState } from '../../../machines/job.machine.js';
import type {
  InsertOptions,
  LeasedJob,
  LeaseRef,
  LeaseRequest,
  LeaseResult,
  ListOptions,
  ListPage,
  NewJob,
  StateCounts,
  Store,
  StoredJob,
  TransitionWrite,
} from '../contract.js';
import { enqueuedRecord } from '../enqueued-record.js';
import { RestWatchers } from '../rest-watchers.js';
import { WakeListeners } from '../wake-listeners.js';
import { isResting, StoreConfigError, StoreError } from '../contract.js';

interface Row extends StoredJob {
  seq: number;
  /** Bumped each time the row enters a heap; older heap entries for it are stale. */
  ticket: number;
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

const isLive = (entry: Entry) =>
  entry.ticket === entry.row.ticket && (entry.row.state === 'pending' || entry.row.state === 'retrying');

/** The row as the contract shows it; spelled out, as a rest spread costs more on the lease path. */
function copy(row: Row): StoredJob {
  return {
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
    leaseToken: row.leaseToken,
    leaseExpiresAt: row.leaseExpiresAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export interface MemoryStoreOptions {
  /** The clock the store reads; `Date.now` unless a test gives its own. */
  now?: () => number;
}

/**
 * The reference store: everything in this process's memory, nothing survives
 * it. Due jobs wait in one heap per queue, future ones in a heap by runAt, so
 * a lease costs a few heap operations whatever the backlog.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  /** Every enqueue is local and wakes the supervisor itself. */
  readonly maxSleepMs = Infinity;
  private readonly rows = new Map<string, Row>();
  private readonly ready = new Map<string, TinyQueue<Entry>>();
  private readonly scheduled = new TinyQueue<Entry>([], dueOrder);
  private readonly now: () => number;
  private readonly wakes = new WakeListeners();
  private readonly resting = new RestWatchers();
  private seq = 0;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
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
    const out: StoredJob[] = new Array(jobs.length);
    for (let i = 0; i < jobs.length; i++) {
      const job = jobs[i]!;
      const seq = ++this.seq;
      // The input is a copy through JSON, as a durable store would keep: later changes to the caller's object do not leak in.
      const row = enqueuedRecord(job, String(seq), inputs[i], now) as Row;
      row.seq = seq;
      row.ticket = 0;
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
    this.promoteDue(now);
    const jobs: LeasedJob[] = [];
    const taken: Record<string, number> = {};
    const token = randomUUID();
    while (jobs.length < request.limit) {
      const entry = this.bestReady(request.queueRoom, taken);
      if (!entry) break;
      this.ready.get(entry.row.queue)!.pop();
      const row = entry.row;
      const leasedFrom = row.state;
      row.state = 'running';
      row.attempt += 1;
      row.leaseToken = token;
      row.leaseExpiresAt = now + request.leaseMs;
      row.updatedAt = now;
      row.ticket++;
      taken[row.queue] = (taken[row.queue] ?? 0) + 1;
      const leased = copy(row) as LeasedJob;
      leased.leasedFrom = leasedFrom;
      jobs.push(leased);
    }
    return { jobs, nextRunAt: jobs.length < request.limit ? this.nextRunAt() : null };
  }

  async write(writes: readonly TransitionWrite[]): Promise<boolean[]> {
    this.assertOpen();
    // Every result is read before any write applies: a batch is all or nothing, as in the durable stores.
    const results = writes.map((write, i) => {
      if (write.resultJson === undefined) return undefined;
      try {
        return JSON.parse(write.resultJson) as unknown;
      } catch (error) {
        throw new StoreError(`memory store: writing job states failed: the resultJson of write ${i} of the batch is not JSON`, { cause: error });
      }
    });
    const now = this.now();
    const rested: string[] = [];
    const applied = writes.map((write, i) => {
      const row = this.rows.get(write.id);
      if (!row || row.state !== write.from) return false;
      if (write.token !== undefined && row.leaseToken !== write.token) return false;
      row.state = write.to;
      row.updatedAt = now;
      if (write.to !== 'running') {
        row.leaseToken = null;
        row.leaseExpiresAt = null;
      }
      if (write.attempt !== undefined) row.attempt = write.attempt;
      if (write.runAt !== undefined) row.runAt = write.runAt;
      if (write.lastError !== undefined) row.lastError = write.lastError;
      if (write.resultJson !== undefined) row.result = results[i];
      this.enterHeap(row, now);
      if (write.to === 'pending') this.wakes.notify(row.runAt);
      if (isResting(write.to) && this.resting.has(write.id)) rested.push(write.id);
      return true;
    });
    for (const id of rested) this.resting.notify(id);
    return applied;
  }

  /** Tells `listener` when job `id` comes to rest; every write is this process's, so no other signal is needed. */
  async watchRest(id: string, listener: () => void): Promise<() => void> {
    const { remove } = this.resting.add(id, listener);
    return () => void remove();
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
      if (!row || row.state !== 'running' || row.leaseToken !== token) return false;
      row.leaseExpiresAt = deadline;
      return true;
    });
  }

  async get(id: string): Promise<StoredJob | null> {
    this.assertOpen();
    const row = this.rows.get(id);
    return row ? copy(row) : null;
  }

  async expired(limit: number): Promise<StoredJob[]> {
    this.assertOpen();
    const now = this.now();
    const out: Row[] = [];
    for (const row of this.rows.values()) {
      if (row.state === 'running' && row.leaseExpiresAt !== null && row.leaseExpiresAt < now) out.push(row);
    }
    out.sort((a, b) => a.leaseExpiresAt! - b.leaseExpiresAt! || a.seq - b.seq);
    return out.slice(0, limit).map(copy);
  }

  async list(options: ListOptions): Promise<ListPage> {
    this.assertOpen();
    const after = options.cursor ? Number(options.cursor) : 0;
    const jobs: StoredJob[] = [];
    let last: Row | undefined;
    // Map iteration follows insertion, which is enqueue order.
    for (const row of this.rows.values()) {
      if (row.seq <= after || row.state !== options.state) continue;
      if (jobs.length === options.limit) return { jobs, nextCursor: String(last!.seq) };
      jobs.push(copy(row));
      last = row;
    }
    return { jobs, nextCursor: null };
  }

  async purge(state: JobState, before: number): Promise<number> {
    this.assertOpen();
    let removed = 0;
    for (const [id, row] of this.rows) {
      if (row.state === state && row.updatedAt < before) {
        this.rows.delete(id);
        row.ticket++;
        removed++;
      }
    }
    return removed;
  }

  async counts(): Promise<StateCounts> {
    this.assertOpen();
    const counts: StateCounts = {
      pending: 0,
      running: 0,
      retrying: 0,
      completed: 0,
      failed: 0,
      dlq: 0,
      cancelled: 0,
    };
    for (const row of this.rows.values()) counts[row.state]++;
    return counts;
  }


  private assertOpen(): void {
    if (this.closed) throw new StoreError('the memory store is closed');
  }

  /** Puts a leasable row where a lease will find it: ready if due, scheduled if not. */
  private enterHeap(row: Row, now: number): void {
    if (row.state !== 'pending' && row.state !== 'retrying') return;
    const entry: Entry = { row, ticket: ++row.ticket, priority: row.priority, runAt: row.runAt, seq: row.seq };
    if (row.runAt <= now) this.readyQueue(row.queue).push(entry);
    else this.scheduled.push(entry);
  }

  private readyQueue(queue: string): TinyQueue<Entry> {
    let heap = this.ready.get(queue);
    if (!heap) {
      heap = new TinyQueue<Entry>([], readyOrder);
      this.ready.set(queue, heap);
    }
    return heap;
  }

  private promoteDue(now: number): void {
    for (let top = this.scheduled.peek(); top && (top.runAt <= now || !isLive(top)); top = this.scheduled.peek()) {
      this.scheduled.pop();
      if (isLive(top)) this.readyQueue(top.row.queue).push(top);
    }
  }

  /** The best due entry among queues that still have room, stale entries dropped on the way. */
  private bestReady(queueRoom: Readonly<Record<string, number>>, taken: Record<string, number>): Entry | undefined {
    let best: Entry | undefined;
    for (const [queue, heap] of this.ready) {
      const room = queueRoom[queue];
      if (room !== undefined && (taken[queue] ?? 0) >= room) continue;
      let top = heap.peek();
      while (top && !isLive(top)) {
        heap.pop();
        top = heap.peek();
      }
      if (top && (!best || readyOrder(top, best) < 0)) best = top;
    }
    return best;
  }

  private nextRunAt(): number | null {
    let top = this.scheduled.peek();
    while (top && !isLive(top)) {
      this.scheduled.pop();
      top = this.scheduled.peek();
    }
    return top ? top.row.runAt : null;
  }
}

export function memoryStore(options?: MemoryStoreOptions): MemoryStore {
  return new MemoryStore(options);
}
