// Over 400 lines on purpose: the contract's methods against one connection, each a few lines around a
// prepared statement; lease, keys, queue limits, schedules and job admin live in files beside it.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import type {
  CountFilter,
  MigrationReport,
  ExpireBatch,
  ExpireResult,
  InsertOptions,
  LeaseRef,
  LeaseRequest,
  LeaseResult,
  ListOptions,
  ListPage,
  NewJob,
  NewSchedule,
  QueueSettingsChange,
  QueueStateCounts,
  ProgressWrite,
  RescheduleWrite,
  StateCounts,
  StoredQueue,
  Store,
  StoredJob,
  StoredSchedule,
  TickFire,
  TickResult,
  TransitionWrite,
} from '../contract.js';
import { type HistoryEntry, inQueue, JobKeyConflictError, readHistory, StoreConfigError, StoreError } from '../contract.js';
import { type JobAdmin, prepareAdmin } from './job-admin.js';
import { enqueuedRecord } from '../enqueued-record.js';
import { RestWatchers } from '../rest-watchers.js';
import { WakeListeners } from '../wake-listeners.js';
import { type DutyClaims, dutyClaims } from './duties.js';
import { ForeignEnqueues } from './foreign-enqueues.js';
import { earliestStored, GroupCommit, type InsertOutcome } from '../group-commit.js';
import { keyedInsert } from './job-keys.js';
import { leaseOperation } from './lease.js';
import { migrate } from './migrations.js';
import { checkLocation, parseOptions, type ResolvedSqliteOptions, type SqliteStoreOptions } from './options.js';
import { SQL } from './queries.js';
import { type ScheduleStatements, scheduleStatements } from './schedules.js';
import { queueSettingsOperations } from './queue-settings.js';
import { workerRefs, type WorkerRefs } from './worker-refs.js';
import { type JobRow, rowidOf, toStoredJob } from './rows.js';

type JobState = StoredJob['state'];

/** How long SQLite itself may block this thread waiting for another process's lock. */
const IN_THREAD_BUSY_MS = 10;

/**
 * Everything prepared once per open connection. The write transactions read
 * the clock once they hold the lock, so a wait for it never ages a time they store.
 */
interface Prepared {
  db: Db;
  /** One caller's batch in its own transaction (keyed or not). */
  insert: (jobs: readonly NewJob[]) => StoredJob[];
  /** Several callers' batches in one write transaction, each under a savepoint of its own. */
  insertBatches: (batches: ReadonlyArray<readonly NewJob[]>) => InsertOutcome[];
  lease: (request: LeaseRequest) => LeaseResult;
  write: (writes: readonly TransitionWrite[]) => boolean[];
  extend: (leases: readonly LeaseRef[], leaseMs: number) => boolean[];
  get: Statement<[number], JobRow>;
  history: Statement<[number], { created_at: number; history: string | null }>;
  expired: Statement<[number, number], JobRow>;
  list: Statement<[JobState, number, number], JobRow>;
  purge: Statement<[JobState, number]>;
  counts: Statement<[], { state: JobState; n: number }>;
  duties: DutyClaims;
  restingIn: Statement<[string], { id: number }>;
  schedules: ScheduleStatements;
  queues: ReturnType<typeof queueSettingsOperations>;
  admin: JobAdmin;
  workers: WorkerRefs;
}

/**
 * The embedded durable store: one SQLite file in WAL mode, shared safely by
 * every process on one machine. Each change is one write transaction
 * (BEGIN IMMEDIATE), so leases never overlap and every write is a
 * compare-and-set. Another process's enqueue wakes this one's workers
 * through a watch on the WAL file, or at the latest after `pollInterval`.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  /** Its inserts wake this process's subscribers as they return. */
  readonly subscribeTellsOwnInserts = true;
  readonly writesBlock = true;
  readonly maxSleepMs: number;
  readonly path: string;
  private readonly options: ResolvedSqliteOptions;
  private prepared: Prepared | null = null;
  private opening: Promise<Prepared> | null = null;
  private readonly wakes = new WakeListeners();
  private readonly resting = new RestWatchers();
  private foreign: ForeignEnqueues | null = null;
  /** Gathers the inserts of one turn of the event loop into one commit; one per open connection. */
  private inserts: GroupCommit | null = null;
  /** The queue settings as last seen, to tell another process's resume from its other commits. */
  private queuesVersion = '';

  constructor(options: SqliteStoreOptions) {
    this.options = parseOptions(options);
    checkLocation(this.options.path);
    this.path = this.options.path;
    this.maxSleepMs = this.options.pollIntervalMs;
  }

  async open(): Promise<void> {
    if (this.prepared) return;
    this.opening ??= this.connect().finally(() => (this.opening = null));
    this.prepared = await this.opening;
    this.inserts ??= new GroupCommit((batches) => this.commitInserts(batches), () => this.notOpen());
  }

  async close(): Promise<void> {
    // Inserts already called are committed (and answered) before the connection goes; later ones are refused.
    const inserted = this.inserts?.close();
    await this.opening?.catch(() => undefined);
    await inserted;
    this.inserts = null;
    const prepared = this.prepared;
    this.prepared = null;
    this.foreign?.close();
    this.foreign = null;
    prepared?.db.close();
  }

  /**
   * Applies pending migrations, as `open()` does, and answers the versions
   * before and after and the steps applied. Before open(), the connection
   * lives for this call only.
   */
  async migrate(): Promise<MigrationReport> {
    const open = this.prepared?.db;
    const db = open ?? (await this.connection());
    try {
      return await whileBusy(this.options.busyTimeoutMs, () => migrate(db));
    } catch (error) {
      throw openError(this.path, error, this.options.busyTimeoutMs);
    } finally {
      if (!open) db.close();
    }
  }

  /** A new connection to the file in WAL mode, its pragmas set. */
  private async connection(): Promise<Db> {
    checkLocation(this.path);
    let db: Db | undefined;
    try {
      db = new Database(this.path, { timeout: Math.min(IN_THREAD_BUSY_MS, this.options.busyTimeoutMs) });
      const connection = db;
      await whileBusy(this.options.busyTimeoutMs, () => {
        // A new file becomes WAL once, for every connection after; the change needs the file to itself for a moment.
        const mode = connection.pragma('journal_mode = WAL', { simple: true });
        if (mode !== 'wal') throw new StoreError(`${this.path} cannot use WAL mode (it reports ${String(mode)}); put it on a local disk`);
      });
      db.pragma(`synchronous = ${this.options.synchronous.toUpperCase()}`);
      // After a burst, give the WAL file back down to this size.
      db.pragma('journal_size_limit = 67108864');
      return db;
    } catch (error) {
      db?.close();
      throw openError(this.path, error, this.options.busyTimeoutMs);
    }
  }

  private async connect(): Promise<Prepared> {
    const db = await this.connection();
    try {
      await whileBusy(this.options.busyTimeoutMs, () => migrate(db));
      const prepared = prepare(db, this.options.synchronous);
      this.foreign = new ForeignEnqueues(
        db,
        (runAt) => this.wakes.notify(runAt),
        () => {
          this.restedElsewhere(prepared);
          this.queuesChangedElsewhere(prepared);
        },
      );
      this.listenersChanged(prepared);
      return prepared;
    } catch (error) {
      db.close();
      throw openError(this.path, error, this.options.busyTimeoutMs);
    }
  }

  async insert(jobs: readonly NewJob[], options?: InsertOptions): Promise<StoredJob[]> {
    if (options?.client !== undefined) {
      throw new StoreConfigError('client', 'the sqlite store has no outside transaction to join; leave it out');
    }
    this.ready();
    if (!this.inserts) throw this.notOpen();
    if (jobs.length === 0) return [];
    return this.inserts.add(jobs);
  }

  /**
   * One commit for the batches of every caller of this turn. A lone batch is
   * its own transaction, as before; several share one, each under a savepoint,
   * so a batch that fails (a key conflict, a bad row) is rolled back alone and
   * fails only its caller. Whatever fails the transaction itself fails them all.
   */
  private async commitInserts(batches: ReadonlyArray<readonly NewJob[]>): Promise<InsertOutcome[]> {
    const outcomes = await this.run('inserting jobs', (s): InsertOutcome[] =>
      batches.length === 1 ? [{ stored: s.insert(batches[0]!) }] : s.insertBatches(batches),
    );
    let first = Infinity;
    let last = -Infinity;
    for (const outcome of outcomes) {
      if (!('stored' in outcome)) {
        outcome.error = this.failure('inserting jobs', outcome.error);
        continue;
      }
      for (const job of outcome.stored) {
        if (job.duplicate) continue;
        first = Math.min(first, Number(job.id));
        last = Math.max(last, Number(job.id));
      }
    }
    if (first <= last) this.committed(first, last);
    const earliest = earliestStored(batches, outcomes);
    if (earliest < Infinity) this.wakes.notify(earliest);
    return outcomes;
  }

  lease(request: LeaseRequest): Promise<LeaseResult> {
    return this.run('leasing jobs', (s) => s.lease(request));
  }

  async write(writes: readonly TransitionWrite[]): Promise<boolean[]> {
    this.ready();
    if (writes.length === 0) return [];
    const applied = await this.run('writing transitions', (s) => s.write(writes));
    const now = Date.now();
    writes.forEach((w, i) => {
      if (applied[i] && inQueue(w.to)) this.wakes.notify(w.runAt ?? now);
    });
    this.resting.written(writes, applied);
    return applied;
  }

  /**
   * Tells `listener` when job `id` comes to rest: at once for a write through
   * this store, and for another process's (or connection's) write when the
   * watch on the WAL file sees its commit, or at worst at the caller's poll
   * where the file cannot be watched.
   */
  async watchRest(id: string, listener: () => void): Promise<() => void> {
    return this.listening(this.resting.watch(id, listener));
  }

  async configureQueue(name: string, change: QueueSettingsChange): Promise<StoredQueue> {
    this.ready();
    const stored = await this.run('configuring a queue', (s) => s.queues.configure(name, change));
    // A resume or a looser limit may let waiting jobs go: look now, here (other processes hear the commit).
    this.wakes.notify(Date.now());
    return stored;
  }

  async queueSettings(): Promise<StoredQueue[]> {
    return this.run('reading queue settings', (s) => s.queues.list());
  }

  async queueCounts(): Promise<QueueStateCounts> {
    return this.run('counting jobs by queue', (s) => s.queues.counts());
  }

  /** Another connection committed: if it changed queue settings (a resume), workers here look at once. */
  private queuesChangedElsewhere(prepared: Prepared): void {
    if (this.prepared !== prepared) return;
    let version: string;
    try {
      version = prepared.queues.version();
    } catch {
      return; // The poll finds the change.
    }
    if (version === this.queuesVersion) return;
    this.queuesVersion = version;
    this.wakes.notify(Date.now());
  }

  /** Another connection committed: which of the jobs waited on here are now at rest? */
  private restedElsewhere(prepared: Prepared): void {
    if (this.resting.size === 0 || this.prepared !== prepared) return;
    const ids = [...this.resting.ids()].map(rowidOf).filter((id): id is number => id !== null);
    if (ids.length === 0) return;
    let rows: Array<{ id: number }>;
    try {
      rows = prepared.restingIn.all(JSON.stringify(ids));
    } catch {
      // Busy or failing: the waiter's own poll looks again.
      return;
    }
    for (const { id } of rows) this.resting.notify(String(id));
  }

  /**
   * Tells this process's dispatchers on this store of enqueues and of jobs
   * put back in the queue, as the memory store does, and of enqueues made
   * by other processes on the file, heard through a watch on its WAL file.
   */
  subscribe(listener: (runAt: number) => void): () => void {
    return this.listening(this.wakes.subscribe(listener));
  }

  /** A listener was added: watch the file while any is left; `remove` takes it away. */
  private listening(remove: () => void): () => void {
    if (this.prepared) this.listenersChanged(this.prepared);
    return () => {
      remove();
      if (this.prepared) this.listenersChanged(this.prepared);
    };
  }

  /** Watches the WAL file only while a worker or a waiter here listens (see foreign-enqueues.ts). */
  private listenersChanged(prepared: Prepared): void {
    if (!this.foreign) return;
    if (this.wakes.size + this.resting.size === 0) {
      this.foreign.stop();
    } else if (!this.foreign.watching) {
      try {
        // Settings changed before the watch are the listener's first look's to see.
        this.queuesVersion = prepared.queues.version();
      } catch {
        // Busy: the first commit looked at may wake the workers once more than needed.
      }
      this.foreign.start();
    }
  }

  async extend(leases: readonly LeaseRef[], leaseMs: number): Promise<boolean[]> {
    this.ready();
    if (leases.length === 0) return [];
    return this.run('extending leases', (s) => s.extend(leases, leaseMs));
  }

  async get(id: string): Promise<StoredJob | null> {
    const rowid = rowidOf(id);
    const row = await this.run('reading a job', (s) => (rowid === null ? undefined : s.get.get(rowid)));
    return row ? toStoredJob(row) : null;
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const rowid = rowidOf(id);
    if (rowid === null) return [];
    return this.run('reading a job\'s history', (s) => {
      const row = s.history.get(rowid);
      return row ? readHistory(id, row.created_at, row.history, (refs) => s.workers.namesOf(refs)) : [];
    });
  }

  async expired(limit: number): Promise<StoredJob[]> {
    const rows = await this.run('finding expired leases', (s) => s.expired.all(Date.now(), limit));
    return rows.map(toStoredJob);
  }

  async list(options: ListOptions): Promise<ListPage> {
    let after = 0;
    if (options.cursor !== undefined && options.cursor !== null) {
      const rowid = rowidOf(options.cursor);
      if (rowid === null) throw new StoreConfigError('cursor', 'is not a cursor this store gave out');
      after = rowid;
    }
    // One row more than the page tells whether another page follows.
    const filtered = options.queue !== undefined || options.name !== undefined;
    const rows = await this.run('listing jobs', (s) =>
      filtered ? s.admin.list(options, after) : s.list.all(options.state, after, options.limit + 1),
    );
    const more = rows.length > options.limit;
    if (more) rows.length = options.limit;
    return { jobs: rows.map(toStoredJob), nextCursor: more ? String(rows[rows.length - 1]!.id) : null };
  }

  purge(state: JobState, before: number): Promise<number> {
    return this.run('purging jobs', (s) => s.purge.run(state, before).changes);
  }

  async progress(writes: readonly ProgressWrite[]): Promise<boolean[]> {
    this.ready();
    if (writes.length === 0) return [];
    return this.run('writing progress', (s) => s.admin.progress(writes));
  }

  async reschedule(write: RescheduleWrite): Promise<boolean> {
    const applied = await this.run('rescheduling a job', (s) => s.admin.reschedule(write));
    if (applied && inQueue(write.to)) this.wakes.notify(write.runAt);
    return applied;
  }

  expire(batch: ExpireBatch): Promise<ExpireResult> {
    return this.run('deleting old jobs', (s) => s.admin.expire(batch));
  }

  async counts(filter: CountFilter = {}): Promise<StateCounts> {
    if (filter.queue !== undefined) {
      const queue = filter.queue;
      return this.run('counting jobs', (s) => s.admin.counts({ queue }));
    }
    const counts: StateCounts = { pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, dlq: 0, cancelled: 0 };
    // A state outside the chart (a row edited behind the store's back) is no job: left out.
    for (const { state, n } of await this.run('counting jobs', (s) => s.counts.all())) if (state in counts) counts[state] = n;
    return counts;
  }

  /**
   * Runs `run` under a claim on the duty in the file (see duties.ts), which
   * processes sharing it and dispatchers sharing this store both respect.
   * The claim is renewed while `run` lasts; if this process dies, another
   * may take the duty once `dutyExpiry` has passed.
   */
  async withDuty(name: string, run: () => Promise<void>): Promise<boolean> {
    const claim = { name, holder: randomUUID() };
    const expiryMs = this.options.dutyExpiryMs;
    if (!(await this.run(`taking the ${name} duty`, (s) => s.duties.take(claim, expiryMs)))) return false;
    // A renewal that fails (the file busy past busyTimeout, the store closed) is not fatal: the worst
    // is that the claim expires and another process runs the duty too, which the compare-and-sets allow.
    const renewal = setInterval(() => {
      this.run(`renewing the ${name} duty`, (s) => s.duties.renew(claim, expiryMs)).catch(() => undefined);
    }, Math.floor(expiryMs / 3));
    renewal.unref();
    try {
      await run();
    } finally {
      clearInterval(renewal);
      // Left behind, the claim expires on its own.
      await this.run(`giving up the ${name} duty`, (s) => s.duties.release(claim)).catch(() => undefined);
    }
    return true;
  }

  saveSchedule(schedule: NewSchedule): Promise<StoredSchedule> {
    return this.run('saving a schedule', (s) => s.schedules.save(schedule));
  }

  listSchedules(): Promise<StoredSchedule[]> {
    return this.run('listing schedules', (s) => s.schedules.list());
  }

  removeSchedule(name: string): Promise<boolean> {
    return this.run('removing a schedule', (s) => s.schedules.remove(name));
  }

  async fireTick(tick: TickFire): Promise<TickResult> {
    const result = await this.run('firing a tick', (s) => s.schedules.fire(tick));
    if (result.job) {
      this.committed(Number(result.job.id), Number(result.job.id));
      this.wakes.notify(result.job.runAt);
    }
    return result;
  }

  pruneTicks(before: number, limit: number): Promise<number> {
    return this.run('pruning ticks', (s) => s.schedules.prune(before, limit));
  }

  /** Runs one statement or transaction on the open connection; a failure underneath becomes a StoreError. */
  private async run<T>(what: string, operation: (s: Prepared) => T): Promise<T> {
    try {
      return await whileBusy(this.options.busyTimeoutMs, () => operation(this.ready()));
    } catch (error) {
      throw this.failure(what, error);
    }
  }

  /** The typed error a caller gets: the store's own errors as they are, anything from underneath as a StoreError. */
  private failure(what: string, error: unknown): unknown {
    if (error instanceof StoreError || error instanceof StoreConfigError || error instanceof JobKeyConflictError) return error;
    return new StoreError(`sqlite store: ${what} failed: ${reasonOf(error, this.options.busyTimeoutMs)}`, { cause: error });
  }

  /**
   * Jobs `first` to `last` were committed through this connection: not another
   * process's enqueue to this store, and news to the other processes, told by
   * the WAL file's times once the commit is visible (see foreign-enqueues.ts).
   */
  private committed(first: number, last: number): void {
    try {
      this.foreign?.inserted(first, last);
    } catch {
      // Committed all the same: at worst this store takes its own jobs for another process's and wakes its workers once more.
    }
    this.foreign?.announce();
  }

  private notOpen(): StoreError {
    return new StoreError(`the sqlite store at ${this.path} is not open; call open() first`);
  }

  private ready(): Prepared {
    if (!this.prepared) throw this.notOpen();
    return this.prepared;
  }
}

function prepare(db: Db, synchronous: 'full' | 'normal'): Prepared {
  const insertOne = db.prepare<[string, string, string, number, number, number, number, number, number, string | null, string | null]>(SQL.insert);
  const writeOne = db.prepare<{
    id: number;
    from: JobState;
    to: JobState;
    anyToken: number;
    token: string | null;
    attempt: number | null;
    runAt: number | null;
    setError: number;
    lastError: string | null;
    result: string | null;
    event: string | null;
    worker: number | null;
    now: number;
  }>(SQL.write);
  // Extra named values are ignored: one object serves both statements.
  const writeBare = db.prepare<Parameters<typeof writeOne.run>[0]>(SQL.writeBare);
  const workers = workerRefs(db);
  const extendOne = db.prepare<[number, number, string]>(SQL.extend);

  const write = db.transaction((writes: readonly TransitionWrite[], refs: readonly (number | null)[]) => {
    const now = Date.now();
    return writes.map((w, i) => {
      const id = rowidOf(w.id);
      if (id === null) return false;
      // No event to record and no result: the statement without those expressions.
      const statement = w.event == null && w.resultJson == null ? writeBare : writeOne;
      return (
        statement.run({
          id,
          from: w.from,
          to: w.to,
          anyToken: w.token === undefined ? 1 : 0,
          token: w.token ?? null,
          attempt: w.attempt ?? null,
          runAt: w.runAt ?? null,
          setError: w.lastError === undefined ? 0 : 1,
          lastError: w.lastError ? JSON.stringify(w.lastError) : null,
          result: w.resultJson ?? null,
          event: w.event ?? null,
          worker: refs[i] ?? null,
          now,
        }).changes === 1
      );
    });
  }).immediate;
  const insertKeyed = keyedInsert(db);
  const insertPlain = db.transaction((jobs: readonly NewJob[]) => {
      const now = Date.now();
      return jobs.map((job): StoredJob => {
        // Stored as JSON and read back, so the caller gets what a later get() would give.
        const input = job.inputJson;
        const { lastInsertRowid } = insertOne.run(
          job.name, job.queue, input, job.priority, job.runAt, job.maxRetries, job.timeoutMs, now, now, job.group ?? null, job.traceContext ?? null,
        );
        return enqueuedRecord(job, String(lastInsertRowid), JSON.parse(input), now);
      });
    }).immediate;
  // A batch with a unique key reads each key's holder and writes under the lock: see job-keys.ts.
  const insert = (jobs: readonly NewJob[]) => (jobs.some((job) => job.unique !== undefined) ? insertKeyed : insertPlain)(jobs);
  const prepared: Omit<Prepared, 'schedules'> = {
    db,
    insert,
    // Called inside this transaction, each batch's own transaction is a savepoint (better-sqlite3 nests them so).
    insertBatches: db.transaction((batches: ReadonlyArray<readonly NewJob[]>) =>
      batches.map((jobs): InsertOutcome => {
        try {
          return { stored: insert(jobs) };
        } catch (error) {
          // A lock not had, or a failure that ended the transaction (SQLite rolls back on some I/O errors): all fail.
          if (isBusy(error) || !db.inTransaction) throw error;
          return { error };
        }
      }),
    ).immediate,
    lease: leaseOperation(db, synchronous, workers),
    // Workers are named before the transaction (see worker-refs.ts).
    write: (writes) => write(writes, writes.map((w) => workers.refOf(w.worker))),
    extend: db.transaction((leases: readonly LeaseRef[], leaseMs: number) => {
      const deadline = Date.now() + leaseMs;
      return leases.map(({ id, token }) => {
        const rowid = rowidOf(id);
        return rowid !== null && extendOne.run(deadline, rowid, token).changes === 1;
      });
    }).immediate,
    get: db.prepare(SQL.get),
    history: db.prepare(SQL.history),
    expired: db.prepare(SQL.expired),
    list: db.prepare(SQL.list),
    purge: db.prepare(SQL.purge),
    counts: db.prepare(SQL.counts),
    duties: dutyClaims(db),
    restingIn: db.prepare(SQL.restingIn),
    queues: queueSettingsOperations(db),
    admin: prepareAdmin(db, workers),
    workers,
  };
  return { ...prepared, schedules: scheduleStatements(db, prepared.insert) };
}

/**
 * Runs `operation`, trying again while another process holds the lock, until
 * `timeoutMs` has passed. SQLite itself waits only IN_THREAD_BUSY_MS (that
 * wait blocks the thread); the rest is spent here in short jittered sleeps,
 * which leave the event loop free (heartbeats must go on) and try the lock far
 * more often than SQLite's own backoff, so no process starves. Retrying is
 * safe: a busy statement or transaction has changed nothing.
 */
async function whileBusy<T>(timeoutMs: number, operation: () => T): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return operation();
    } catch (error) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
    }
    await sleep(1 + Math.random() * 4);
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function reasonOf(error: unknown, busyTimeoutMs: number): string {
  if (isBusy(error)) return `another process held the database's write lock for more than busyTimeout (${busyTimeoutMs} ms)`;
  return error instanceof Error ? error.message : String(error);
}

/** Errors SQLite gives for a file it cannot use are configuration errors: they name the path. */
function openError(path: string, error: unknown, busyTimeoutMs: number): Error {
  if (error instanceof StoreError || error instanceof StoreConfigError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  // Extended codes such as SQLITE_CANTOPEN_ISDIR share the primary code's meaning.
  const primary = typeof code === 'string' ? code.split('_').slice(0, 2).join('_') : undefined;
  const reasons: Record<string, string> = {
    SQLITE_CANTOPEN: 'cannot be opened',
    SQLITE_NOTADB: 'is not a SQLite database',
    SQLITE_READONLY: 'is read-only',
    SQLITE_PERM: 'may not be written',
  };
  const reason = primary === undefined ? undefined : reasons[primary];
  if (reason) return Object.assign(new StoreConfigError('path', `${path} ${reason} (${reasonOf(error, busyTimeoutMs)})`), { cause: error });
  return new StoreError(`sqlite store: opening ${path} failed: ${reasonOf(error, busyTimeoutMs)}`, { cause: error });
}

/** The embedded durable store: jobs in one SQLite file that every process on this machine may share. */
export function sqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
