// Over 400 lines on purpose: the contract's methods against one pool, each a few lines around a
// statement; the statements, rows, listener, migrations and advisory locks live beside it.
import pg from 'pg';
import type { JobState } from '../../../machines/job.machine.js';
import type {
  CountFilter,
  ExpireBatch,
  MigrationReport,
  ExpireResult,
  InsertOptions,
  LeasedJob,
  LeaseOffer,
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
import { type HistoryEntry, jobRules, readHistory, StoreConfigError, StoreError } from '../contract.js';
import { enqueuedRecord } from '../enqueued-record.js';
import { earliestStored, GroupCommit, type InsertOutcome } from '../group-commit.js';
import { LeaseOffers, type TakenOffer } from '../lease-offers.js';
import { lockName } from './advisory-lock.js';
import { keyConflict, keyedJobs, keyedParams, type KeyedRow } from './job-keys.js';
import { Listener } from './listener.js';
import { EnqueueAnnouncer, ENQUEUED_PAYLOAD } from './enqueue-announcer.js';
import { checkVersion, migrate } from './migrations.js';
import { parseOptions, type PostgresStoreOptions, type ResolvedPostgresOptions } from './options.js';
import { RestWaits } from './rest-waits.js';
import { PostgresSchedules } from './schedules.js';
import { boolArray, numberArray, textArray } from './array-literal.js';
import { insertColumns, isRowId, type JobRow, toLeasedJobs, toStoredJob, traceColumn } from './rows.js';
import { channelOf, LeaseCheck, type Named, named, schemaTag } from './statements.js';
import { QueueControl } from './queue-control.js';
import { namedQueueStatements, QUEUES_PAYLOAD } from './queue-statements.js';
import { LISTED_STATES, namedAdmin } from './job-admin.js';
import { warmConnections, warmUps } from './warm-connections.js';

/** Held by the store at once at most: the LISTEN connection, a duty's lock, and the work itself. */
const MIN_POOL_SIZE = 3;

/** Anything with `query` as `pg` has it: a Client, a PoolClient or a Pool. */
interface Queryable {
  query<R extends pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
}

/**
 * The store for many processes on many machines, on PostgreSQL. Workers lease
 * with `FOR UPDATE SKIP LOCKED` in one statement, so two never take one job;
 * every write is a compare-and-set on id, state and lease token; enqueues
 * wake idle workers everywhere through LISTEN/NOTIFY; advisory locks keep
 * migrations and the reaper to one process at a time.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly subscribeTellsOwnInserts = true;
  /** The fallback poll: a notification lost while the listener reconnects costs at most this. */
  readonly maxSleepMs: number;
  readonly schema: string;
  private readonly options: ResolvedPostgresOptions;
  private readonly sql: ReturnType<typeof named>;
  private readonly admin: ReturnType<typeof namedAdmin>;
  private readonly listener: Listener;
  private readonly subscribers = new Set<(runAt: number) => void>();
  private readonly announcer: EnqueueAnnouncer;
  /** Gathers the inserts on the pool that come while one is under way into one statement; made when first needed. */
  private inserts: GroupCommit | null = null;
  private readonly rest: RestWaits;
  private readonly schedules: PostgresSchedules;
  private readonly queues: QueueControl;
  /** Idle workers' room, for the next lone insert to lease its job into (see offer). */
  private readonly offers = new LeaseOffers();
  private pool: pg.Pool | null = null;
  private opening: Promise<void> | null = null;
  /** False at first: a worker's first lease often finds a backlog, and the question beside it would open a connection. */
  private lastLeaseShort = false;

  constructor(options: PostgresStoreOptions) {
    this.options = parseOptions(options);
    const max = (this.options.pool as { options?: pg.PoolConfig } | null)?.options?.max ?? this.options.poolConfig.max;
    if (max !== undefined && max < MIN_POOL_SIZE) {
      throw new StoreConfigError(
        this.options.pool ? 'pool' : 'poolConfig.max',
        `needs at least ${MIN_POOL_SIZE} connections (one listens, one holds the reaper's lock, one works), got ${max}`,
      );
    }
    this.schema = this.options.schema;
    this.maxSleepMs = this.options.pollIntervalMs;
    this.sql = named(this.schema);
    this.admin = namedAdmin(this.schema);
    this.announcer = new EnqueueAnnouncer(
      (payload) => this.query(this.db(), 'announcing enqueued jobs', this.sql.announce, [payload]),
      (error) => this.options.onError(error),
    );
    this.listener = new Listener({
      connect: () => this.db().connect(),
      channel: channelOf(this.schema),
      notified: (payload) => {
        if (this.rest.notified(payload)) return;
        if (payload?.startsWith(QUEUES_PAYLOAD)) {
          // Settings changed elsewhere (a resume, a new limit): re-read them and look at once.
          this.queues.changed();
          this.wake(Date.now());
          return;
        }
        if (payload?.startsWith(ENQUEUED_PAYLOAD)) {
          const runAt = this.announcer.heard(payload);
          if (runAt !== null) this.wake(runAt);
          return;
        }
        // Told by the insert trigger (an insert in the caller's transaction, a keyed insert) or a requeue.
        const runAt = Number(payload);
        this.wake(Number.isFinite(runAt) ? runAt : Date.now());
      },
      // Whatever was enqueued before LISTEN took effect (a worker starting, or a connection lost
      // and back) sent its notification to nobody: look once now rather than at the next poll.
      listening: (again) => {
        this.queues.changed();
        this.wake(Date.now());
        if (again) this.rest.relistened();
      },
      error: (error) => this.options.onError(error),
    });
    this.schedules = new PostgresSchedules({
      schema: pg.escapeIdentifier(this.schema),
      pool: () => this.db(),
      insert: (jobs, client) => this.insert(jobs, { client }),
      run: (what, fn) => this.run(what, fn),
    });
    this.queues = new QueueControl({
      pool: () => this.db(),
      sql: namedQueueStatements(this.schema, schemaTag(this.schema)),
      query: (via, what, statement, values) => this.query(via, what, statement, values),
      lease: async (client, request, queue, limit) => toLeasedJobs(await this.query(client, 'leasing jobs of a limited queue', this.sql.lease, [[], [], limit, request.leaseMs, request.names, [queue], [queue], request.worker === undefined ? null : JSON.stringify(request.worker)])),
      refreshMs: this.maxSleepMs,
    });
    this.rest = new RestWaits({
      add: (id, waiter) => this.query(this.db(), 'registering a wait', this.sql.addWaiter, [id, waiter]).then(() => undefined),
      remove: (id, waiter) => this.query(this.db(), 'ending a wait', this.sql.removeWaiter, [id, waiter]).then(() => undefined),
      listen: () => {
        this.db();
        this.listener.start();
        return this.listener.listening();
      },
      idle: () => this.listenOnlyIfNeeded(),
      error: (error) => this.options.onError(error),
    });
  }

  open(): Promise<void> {
    if (this.pool) return Promise.resolve();
    this.opening ??= this.connect().finally(() => (this.opening = null));
    return this.opening;
  }

  async close(): Promise<void> {
    await this.opening?.catch(() => undefined);
    // A wait that just ended deletes its row before the pool goes.
    await this.rest.drain();
    // Inserts already called are committed (and answered) before the pool goes; later ones are refused.
    await this.inserts?.close();
    this.inserts = null;
    // Told before the pool goes: the other processes' workers are waiting for these jobs.
    await this.announcer.drain();
    const pool = this.pool;
    this.pool = null;
    await this.listener.stop();
    if (pool && pool !== this.options.pool) await pool.end();
  }

  /**
   * Applies pending migrations under an advisory lock; safe to call from
   * many processes at once. `open()` calls it unless `migrate: false`.
   * Answers the versions before and after, and the steps applied.
   */
  async migrate(): Promise<MigrationReport> {
    // Before open(), a pool the store makes lives for this call only.
    const pool = this.pool ?? this.options.pool ?? this.createPool();
    try {
      return await this.withClient(pool, 'migrating the schema', (client) => migrate(client, this.schema));
    } finally {
      if (pool !== this.pool && pool !== this.options.pool) await pool.end();
    }
  }

  async insert(jobs: readonly NewJob[], options?: InsertOptions): Promise<StoredJob[]> {
    // Opened first even with the caller's client: only then is the schema known to exist.
    const db = this.db();
    const via = options?.client === undefined ? db : queryable(options.client);
    if (jobs.length === 0) return [];
    if (jobs.some((job) => job.unique !== undefined)) {
      const keyed = await this.insertKeyed(via, jobs);
      // Not told apart from its echo (the keyed statement may notify once per row): told here and again by it.
      if (via === db) this.wake(jobs.reduce((earliest, job) => Math.min(earliest, job.runAt), Infinity));
      return keyed;
    }
    // In the caller's transaction nothing is visible until the caller commits: the trigger's NOTIFY tells everyone then.
    if (via !== db) return this.insertRows(via, this.sql.insert, [], jobs);
    this.inserts ??= new GroupCommit((batches) => this.commitInserts(batches), () => this.notOpen(), 'idle');
    return this.inserts.add(jobs);
  }

  /**
   * The inserts the group commit gathered (those that came while another was
   * under way), in one statement: one round trip and one commit for them all,
   * each caller answered once it is done. A lone batch notifies in its
   * transaction, tagged with this store's origin; several are announced after
   * their commit (see enqueue-announcer.ts). A statement
   * the database refuses for one batch's row is tried again batch by batch,
   * so it fails only that caller; one that may have committed (the connection
   * lost) is not.
   */
  private async commitInserts(batches: ReadonlyArray<readonly NewJob[]>): Promise<InsertOutcome[]> {
    const db = this.db();
    let outcomes: InsertOutcome[];
    let quiet = false;
    let handed = false;
    const offer = batches.length === 1 && batches[0]!.length === 1 ? this.offers.take(batches[0]![0]!, Date.now()) : null;
    if (offer) {
      const stored = await this.insertHanded(db, batches[0]![0]!, offer);
      handed = stored.handed;
      outcomes = [{ stored: stored.jobs }];
    } else if (batches.length === 1) {
      outcomes = [{ stored: await this.insertRows(db, this.sql.insertTagged, [this.announcer.origin], batches[0]!) }];
    } else {
      try {
        const stored = await this.insertRows(db, this.sql.insertQuiet, [], batches.flat());
        let at = 0;
        outcomes = batches.map((batch) => ({ stored: stored.slice(at, (at += batch.length)) }));
        quiet = true;
      } catch (error) {
        if (!refused(error)) throw error;
        outcomes = [];
        for (const batch of batches) {
          try {
            outcomes.push({ stored: await this.insertRows(db, this.sql.insertTagged, [this.announcer.origin], batch) });
          } catch (failure) {
            outcomes.push({ error: failure });
          }
        }
      }
    }
    // This process's workers are told now, the others by the trigger's NOTIFY or the announcement.
    // A job handed over is running already: nobody need look for it.
    const earliest = handed ? Infinity : earliestStored(batches, outcomes);
    if (earliest < Infinity) {
      this.wake(earliest);
      if (quiet) this.announcer.committed(earliest);
    }
    return outcomes;
  }

  /**
   * Offers an idle worker's room to the next lone insert on the pool: one
   * statement then inserts the job and, where the lease would have taken it
   * first, leases it (statements.ts, insertHanded), saving the lease's round
   * trip on the way from an enqueue to its handler.
   */
  offer(request: LeaseRequest, handed: (jobs: LeasedJob[]) => void): LeaseOffer {
    return this.offers.post(request, handed);
  }

  /** A lone job inserted by the statement that may lease it for `offer`; the offer is settled whatever happens. */
  private async insertHanded(db: pg.Pool, job: NewJob, offer: TakenOffer): Promise<{ jobs: StoredJob[]; handed: boolean }> {
    const { request } = offer;
    try {
      const [row] = await this.query<JobRow>(db, 'inserting jobs', this.sql.insertHanded, [
        ...insertParams([job]), this.announcer.origin,
        request.names, request.queues ?? null, request.leaseMs, request.worker === undefined ? null : JSON.stringify(request.worker),
        textArray(Object.keys(request.queueRoom)),
      ]);
      const handed = row!.state === jobRules.leased;
      offer.settle(handed ? toLeasedJobs([{ ...row!, leased_from: jobRules.initial }]) : []);
      return { jobs: [enqueuedRecord(job, row!.id, job.input, row!.created_at)], handed };
    } catch (error) {
      offer.settle([]);
      throw error;
    }
  }

  /** One insert statement for `jobs`; `extra` are the statement's parameters past the columns. */
  private async insertRows(via: Queryable, statement: Named, extra: unknown[], jobs: readonly NewJob[]): Promise<StoredJob[]> {
    const rows = await this.query<{ id: string; created_at: number }>(via, 'inserting jobs', statement, [...insertParams(jobs), ...extra]);
    // Ids rise in the caller's order; RETURNING promises no order, so sort them to pair them up.
    rows.sort((a, b) => a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return jobs.map((job, i): StoredJob => {
      const row = rows[i]!;
      return enqueuedRecord(job, row.id, job.input, row.created_at);
    });
  }

  /** A batch with unique keys, decided by insert_keyed in one statement (see job-keys.ts). */
  private async insertKeyed(via: Queryable, jobs: readonly NewJob[]): Promise<StoredJob[]> {
    const [only] = jobs;
    if (jobs.length === 1 && only!.unique) {
      const { key, keepForMs } = only!.unique;
      const [row] = await this.query<{ id: string; created_at: number }>(via, 'inserting a job with a unique key', this.sql.insertKeyFree, [
        only!.name, only!.queue, only!.inputJson, only!.priority, only!.runAt, only!.maxRetries, only!.timeoutMs, only!.group ?? null, key, keepForMs, only!.traceContext ?? null,
      ]);
      if (row) return [enqueuedRecord(only!, row.id, only!.input, row.created_at)];
    }
    const params = keyedParams(jobs, channelOf(this.schema));
    try {
      return keyedJobs(await this.query<KeyedRow>(via, 'inserting jobs with unique keys', this.sql.insertKeyed, params));
    } catch (error) {
      throw keyConflict(error, jobs) ?? error;
    }
  }

  async lease(request: LeaseRequest): Promise<LeaseResult> {
    const db = this.db();
    if (request.limit <= 0 || request.names.length === 0) return { jobs: [], nextRunAt: null };
    const served = request.queues ?? null;
    const queues = Object.keys(request.queueRoom);
    const rooms = queues.map((q) => Math.max(0, Math.floor(request.queueRoom[q]!)));
    const limited = await this.queues.limitedFor(request);
    const leasing = this.query<JobRow & { leased_from: JobState }>(db, 'leasing jobs', rooms.some((room) => room > 0) ? this.sql.leaseCapped : this.sql.lease, [
      queues,
      rooms,
      request.limit,
      request.leaseMs,
      request.names,
      served,
      null,
      request.worker === undefined ? null : JSON.stringify(request.worker),
    ]);
    // After a short lease the next is likely short too (an idle worker): ask for the next due time
    // beside it rather than after, a round trip sooner. The lease takes only due rows, so it cannot
    // change the answer, which is about rows due later. Asked once the lease is on its way: the
    // pickup waits for the lease, so it goes out first.
    const early = this.lastLeaseShort ? this.nextRunAt(db, request.names, served) : null;
    early?.catch(() => undefined);
    const jobs = toLeasedJobs(await leasing);
    // Once jobs are leased, a failed question about later ones must not lose them to their lease's expiry.
    const unlessLeased = <T>(fallback: T) => (error: unknown): T => {
      if (jobs.length === 0) throw error;
      return fallback;
    };
    // Queues with limits were passed over above; each is leased under its own lock.
    let rateOpensAt = Infinity;
    for (const queue of limited) {
      if (jobs.length >= request.limit) break;
      const taken = await this.run('leasing jobs of a limited queue', () => this.queues.lease(request, queue, request.limit - jobs.length));
      for (const job of taken.jobs) jobs.push(job);
      if (taken.rateOpensAt !== null) rateOpensAt = Math.min(rateOpensAt, taken.rateOpensAt);
    }
    this.lastLeaseShort = jobs.length < request.limit;
    if (!this.lastLeaseShort) return { jobs, nextRunAt: null };
    const next = await (early ?? this.nextRunAt(db, request.names, served)).catch(unlessLeased(null));
    return { jobs, nextRunAt: rateOpensAt === Infinity ? next : Math.min(rateOpensAt, next ?? Infinity) };
  }

  configureQueue(name: string, change: QueueSettingsChange): Promise<StoredQueue> {
    this.db();
    return this.queues.configure(name, change).then((stored) => {
      // Workers here look at once; other processes hear the statement's notification.
      this.wake(Date.now());
      return stored;
    });
  }

  queueSettings(): Promise<StoredQueue[]> {
    this.db();
    return this.queues.list();
  }

  queueCounts(): Promise<QueueStateCounts> {
    this.db();
    return this.queues.counts();
  }

  private async nextRunAt(db: pg.Pool, names: readonly string[], queues: readonly string[] | null): Promise<number | null> {
    const [next] = await this.query<{ next_run_at: number | null }>(db, 'finding the next due job', this.sql.nextRunAt, [names, queues]);
    return next?.next_run_at ?? null;
  }

  async write(writes: readonly TransitionWrite[]): Promise<boolean[]> {
    const db = this.db();
    const applied = new Array<boolean>(writes.length).fill(false);
    // One round trip in the common case; a job written twice in one batch needs its writes in order, one round each.
    for (const round of rounds(writes.map((w) => w.id))) {
      const batch = round.filter((i) => isRowId(writes[i]!.id));
      if (batch.length === 0) continue;
      if (alike(writes, batch)) {
        for (const ord of await this.writeAlike(db, writes, batch)) applied[batch[ord - 1]!] = true;
        continue;
      }
      const ids: string[] = [];
      const from: string[] = [];
      const to: string[] = [];
      const checks: number[] = [];
      const tokens: Array<string | null> = [];
      const attempts: Array<number | null> = [];
      const runAts: Array<number | null> = [];
      const setsError: boolean[] = [];
      const errors: Array<string | null> = [];
      const results: Array<string | null> = [];
      const events: Array<string | null> = [];
      const workers: Array<string | null> = [];
      let anyResult = false;
      let anyEvent = false;
      for (const i of batch) {
        const w = writes[i]!;
        ids.push(w.id);
        from.push(w.from);
        to.push(w.to);
        checks.push(w.token === undefined ? LeaseCheck.ignore : w.token === null ? LeaseCheck.none : LeaseCheck.held);
        tokens.push(w.token ?? null);
        attempts.push(w.attempt ?? null);
        runAts.push(w.runAt ?? null);
        setsError.push(w.lastError !== undefined);
        errors.push(w.lastError === undefined || w.lastError === null ? null : JSON.stringify(w.lastError));
        results.push(w.resultJson ?? null);
        if (w.resultJson !== undefined) anyResult = true;
        // As JSON text: the statement puts them into the entry as they are (see history-sql.ts).
        events.push(w.event === undefined ? null : JSON.stringify(w.event));
        workers.push(w.event === undefined ? null : JSON.stringify(w.worker ?? null));
        if (w.event !== undefined) anyEvent = true;
      }
      // Most batches carry no result: one null instead of an array of them. So with events, when history is off.
      const rows = await this.query<{ ord: string }>(db, 'writing job states', this.sql.write, [
        textArray(ids),
        textArray(from),
        textArray(to),
        numberArray(checks),
        textArray(tokens),
        numberArray(attempts),
        numberArray(runAts),
        boolArray(setsError),
        textArray(errors),
        anyResult ? textArray(results) : null,
        anyEvent ? textArray(events) : null,
        anyEvent ? textArray(workers) : null,
      ]);
      for (const row of rows) applied[batch[Number(row.ord) - 1]!] = true;
    }
    this.rest.written(writes, applied);
    return applied;
  }

  /** A batch that `alike` passed, its shared values sent once; answers the ordinals applied. */
  private async writeAlike(db: pg.Pool, writes: readonly TransitionWrite[], batch: readonly number[]): Promise<number[]> {
    const first = writes[batch[0]!]!;
    const ids: string[] = [];
    const tokens: string[] = [];
    const results: Array<string | null> = [];
    const attempts: Array<number | null> = [];
    const errors: Array<string | null> = [];
    let anyResult = false;
    for (const i of batch) {
      const w = writes[i]!;
      ids.push(w.id);
      tokens.push(w.token!);
      results.push(w.resultJson ?? null);
      if (w.resultJson !== undefined) anyResult = true;
      attempts.push(w.attempt ?? null);
      errors.push(w.lastError === null ? null : JSON.stringify(w.lastError));
    }
    const rows = await this.query<{ ord: string }>(db, 'writing job states', this.sql.writeAlike, [
      textArray(ids),
      textArray(tokens),
      first.from,
      first.to,
      first.event === undefined ? null : JSON.stringify(first.event),
      first.event === undefined ? null : JSON.stringify(first.worker ?? null),
      anyResult ? textArray(results) : null,
      numberArray(attempts),
      textArray(errors),
    ]);
    return rows.map((row) => Number(row.ord));
  }

  async extend(leases: readonly LeaseRef[], leaseMs: number): Promise<boolean[]> {
    const db = this.db();
    // The same lease named twice is one row to update: send it once, answer both.
    const unique = new Map<string, number>();
    const slot = leases.map(({ id, token }) => {
      if (!isRowId(id) || typeof token !== 'string') return -1;
      const key = `${id}\0${token}`;
      if (!unique.has(key)) unique.set(key, unique.size);
      return unique.get(key)!;
    });
    if (unique.size === 0) return leases.map(() => false);
    const ids: string[] = [];
    const tokens: string[] = [];
    for (const key of unique.keys()) {
      const [id, token] = key.split('\0') as [string, string];
      ids.push(id);
      tokens.push(token);
    }
    const rows = await this.query<{ ord: string }>(db, 'extending leases', this.sql.extend, [ids, tokens, leaseMs]);
    const held = new Set(rows.map((r) => Number(r.ord) - 1));
    return slot.map((s) => s >= 0 && held.has(s));
  }

  async get(id: string): Promise<StoredJob | null> {
    const db = this.db();
    if (!isRowId(id)) return null;
    const [row] = await this.query<JobRow>(db, 'reading a job', this.sql.get, [id]);
    return row ? toStoredJob(row) : null;
  }

  async history(id: string): Promise<HistoryEntry[]> {
    const db = this.db();
    if (!isRowId(id)) return [];
    const [row] = await this.query<{ created_at: number; history: string | null }>(db, 'reading a job\'s history', this.sql.history, [id]);
    return row ? readHistory(id, row.created_at, row.history) : [];
  }

  async expired(limit: number): Promise<StoredJob[]> {
    const rows = await this.query<JobRow>(this.db(), 'finding expired leases', this.sql.expired, [limit]);
    return rows.map(toStoredJob);
  }

  async list(options: ListOptions): Promise<ListPage> {
    const db = this.db();
    const cursor = options.cursor ?? '0';
    if (cursor !== '0' && !isRowId(cursor)) throw new StoreConfigError('cursor', 'is not a cursor this store gave');
    const filtered = options.queue !== undefined || options.name !== undefined;
    const byQueue = options.queue !== undefined && LISTED_STATES.includes(options.state);
    const statement = forState(byQueue ? this.admin.listQueue : filtered ? this.admin.list : this.sql.list, options.state);
    if (!statement) return { jobs: [], nextCursor: null };
    const values: unknown[] = [cursor, options.limit + 1];
    if (filtered) values.push(options.queue ?? null, options.name ?? null);
    const rows = await this.query<JobRow>(db, 'listing jobs', statement, values);
    const jobs = rows.slice(0, options.limit).map(toStoredJob);
    return { jobs, nextCursor: rows.length > options.limit ? jobs[jobs.length - 1]!.id : null };
  }

  async purge(state: JobState, before: number): Promise<number> {
    const db = this.db();
    const statement = forState(this.sql.purge, state);
    if (!statement) return 0;
    const result: pg.QueryResult<{ deleted: number }> = await this.run('purging jobs', () => db.query({ ...statement, values: [before] }));
    return result.rows[0]?.deleted ?? 0;
  }

  async progress(writes: readonly ProgressWrite[]): Promise<boolean[]> {
    const db = this.db();
    const valid = writes.filter((w) => isRowId(w.id));
    if (valid.length === 0) return writes.map(() => false);
    const rows = await this.query<{ ord: string }>(db, 'writing progress', this.admin.progress, [
      valid.map((w) => w.id),
      valid.map((w) => w.token),
      valid.map((w) => w.progressJson),
    ]);
    const applied = new Set(rows.map((r) => valid[Number(r.ord) - 1]));
    return writes.map((w) => applied.has(w));
  }

  async reschedule(write: RescheduleWrite): Promise<boolean> {
    const db = this.db();
    if (!isRowId(write.id)) return false;
    const check = write.token === undefined ? LeaseCheck.ignore : write.token === null ? LeaseCheck.none : LeaseCheck.held;
    const rows = await this.query(db, 'rescheduling a job', this.admin.reschedule, [
      write.id, write.from, write.to, check, write.token ?? null, write.attempt ?? null, write.runAt, write.priority,
      write.event === undefined ? null : JSON.stringify(write.event), JSON.stringify(write.worker ?? null),
    ]);
    const applied = rows.length === 1;
    // This process's workers hear at once; others through the statement's NOTIFY.
    if (applied) this.wake(write.runAt);
    return applied;
  }

  async expire(batch: ExpireBatch): Promise<ExpireResult> {
    const db = this.db();
    const statement = forState(this.admin.expire, batch.state);
    if (!statement) return { deleted: 0, cursor: null };
    if (batch.cursor !== null && !isRowId(batch.cursor) && batch.cursor !== '0') throw new StoreConfigError('cursor', 'is not a cursor this store gave');
    const [row] = await this.query<{ deleted: number; cursor: string | null }>(db, 'deleting old jobs', statement, [
      batch.cursor, batch.limit, batch.before,
    ]);
    return { deleted: row?.deleted ?? 0, cursor: row?.cursor ?? null };
  }

  async counts(filter: CountFilter = {}): Promise<StateCounts> {
    const rows =
      filter.queue === undefined
        ? await this.query<{ state: JobState; n: number }>(this.db(), 'counting jobs', this.sql.counts, [])
        : await this.query<{ state: JobState; n: number }>(this.db(), 'counting jobs', this.admin.countsQueue, [filter.queue]);
    const counts: StateCounts = { pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, dlq: 0, cancelled: 0 };
    // A state outside the chart (a row edited behind the store's back) is no job: left out.
    for (const { state, n } of rows) if (state in counts) counts[state] = n;
    return counts;
  }

  subscribe(listener: (runAt: number) => void): () => void {
    this.subscribers.add(listener);
    // A turn later: a worker subscribes and then leases at once, and the lease should have the
    // pool's idle connection (its statements already planned there) rather than wait for a new
    // one. Nothing is missed meanwhile: the listener wakes its subscribers once LISTEN is in effect.
    if (this.pool) {
      setImmediate(() => {
        if (this.pool && this.subscribers.size > 0) this.listener.start();
      });
    }
    return () => {
      this.subscribers.delete(listener);
      this.listenOnlyIfNeeded();
    };
  }

  /**
   * Tells `listener` when job `id` comes to rest: at once for a write through
   * this store, and through a NOTIFY for any other process's, sent by the
   * write itself for jobs someone waits on (see rest-waits.ts).
   */
  watchRest(id: string, listener: () => void): Promise<() => void> {
    return this.rest.watch(id, listener);
  }

  private listenOnlyIfNeeded(): void {
    if (this.subscribers.size === 0 && this.rest.size === 0) void this.listener.stop();
  }

  /** Resolves once LISTEN is in effect for this store's subscribers (after a reconnect, once it is again). */
  listening(): Promise<void> {
    return this.listener.listening();
  }

  /**
   * Runs `run` while holding a session advisory lock named for the duty, on a
   * connection of its own; another process asking meanwhile is answered
   * false at once. If this process dies, its connection closes and the lock
   * goes with it.
   */
  async withDuty(name: string, run: () => Promise<void>): Promise<boolean> {
    const key = lockName(this.schema, `duty:${name}`);
    const client = await this.run('taking a connection', () => this.db().connect());
    let broken: Error | undefined;
    const onError = (error: Error) => (broken = error);
    client.on('error', onError);
    try {
      const [row] = await this.query<{ locked: boolean }>(client, `taking the ${name} duty`, this.sql.tryLock, [key]);
      if (!row?.locked) return false;
      try {
        await run();
      } finally {
        await client.query({ ...this.sql.unlock, values: [key] }).catch((error: Error) => (broken = error));
      }
      return true;
    } finally {
      client.off('error', onError);
      // A connection that failed is destroyed, which also drops any lock it held.
      client.release(broken);
    }
  }

  saveSchedule(schedule: NewSchedule): Promise<StoredSchedule> {
    return this.schedules.save(schedule);
  }

  listSchedules(): Promise<StoredSchedule[]> {
    return this.schedules.list();
  }

  removeSchedule(name: string): Promise<boolean> {
    return this.schedules.remove(name);
  }

  fireTick(tick: TickFire): Promise<TickResult> {
    return this.schedules.fire(tick);
  }

  pruneTicks(before: number, limit: number): Promise<number> {
    return this.schedules.prune(before, limit);
  }

  private db(): pg.Pool {
    if (!this.pool) throw this.notOpen();
    return this.pool;
  }

  private notOpen(): StoreError {
    return new StoreError(`the postgres store (schema "${this.schema}") is not open`);
  }

  private async connect(): Promise<void> {
    const pool = this.options.pool ?? this.createPool();
    try {
      await this.withClient<unknown>(pool, 'opening the store', (client) =>
        this.options.migrate ? migrate(client, this.schema) : checkVersion(client, this.schema),
      );
    } catch (error) {
      if (pool !== this.options.pool) await pool.end().catch(() => undefined);
      throw error;
    }
    await warmConnections(pool, warmUps(this.sql, this.announcer.origin), this.options.onError);
    this.pool = pool;
    if (this.subscribers.size > 0 || this.rest.size > 0) this.listener.start();
  }

  private createPool(): pg.Pool {
    const pool = new pg.Pool({
      application_name: 'dispatch',
      // A database that does not answer fails the call instead of hanging it.
      connectionTimeoutMillis: 10_000,
      // Finds a dead peer (the LISTEN connection idles for long).
      keepAlive: true,
      // Kept, not closed after 10 s idle (pg's default): a new connection costs its first jobs
      // tens of ms (connect, plan, load the tables' descriptions), which an app that enqueues
      // now and then would pay on most enqueues. The pool grows only to what is used at once.
      idleTimeoutMillis: 0,
      // The lease statements are cheap to run but estimated dear: JIT compiling took ~40 ms a call, and
      // planning them afresh each time (custom plans) ~1 ms; named statements with a generic plan skip both.
      options: '-c jit=off -c plan_cache_mode=force_generic_plan',
      ...this.options.poolConfig,
      connectionString: this.options.connectionString!,
    });
    // An idle connection that dies is dropped by the pool; without a handler it would crash the process.
    pool.on('error', (error) => this.options.onError(new StoreError('postgres: an idle connection failed', { cause: error })));
    // A connection that dies while checked out has no pool handler either (the pool takes its own off
    // at checkout), and one between two of its queries would crash the process, as a restart of the
    // server under load showed. Its queries fail on their own and it is destroyed when released.
    pool.on('connect', (client) => client.on('error', () => undefined));
    return pool;
  }

  private async withClient<R>(pool: pg.Pool, what: string, use: (client: pg.PoolClient) => Promise<R>): Promise<R> {
    const client = await this.run(what, () => pool.connect());
    let failed = false;
    try {
      return await this.run(what, () => use(client));
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // After a failure the connection may be broken or mid-transaction: destroy it rather than reuse it.
      client.release(failed);
    }
  }

  private async query<R extends pg.QueryResultRow>(via: Queryable, what: string, statement: Named, values: unknown[]): Promise<R[]> {
    const result = await this.run(what, () => via.query<R>({ name: statement.name, text: statement.text, values }));
    return result.rows;
  }

  /** Runs `fn`, turning what `pg` throws into a StoreError that keeps it as the cause. */
  private async run<R>(what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof StoreError || error instanceof StoreConfigError) throw error;
      const reason = error instanceof Error ? error.message || (error as { code?: string }).code || error.name : String(error);
      throw new StoreError(`postgres: ${what} failed: ${reason}`, { cause: error });
    }
  }

  private wake(runAt: number): void {
    for (const subscriber of this.subscribers) {
      try {
        subscriber(runAt);
      } catch (error) {
        this.options.onError(error);
      }
    }
  }
}

/**
 * SQLSTATE classes of a statement refused for what it carried (a data exception,
 * a constraint, a value too large): it changed nothing, so its rows can be tried
 * again apart. Others, such as a connection lost, may have come after the commit.
 */
const REFUSED_CLASSES = new Set(['22', '23', '54']);

function refused(error: unknown): boolean {
  const cause = error instanceof StoreError ? error.cause : error;
  return cause instanceof pg.DatabaseError && REFUSED_CLASSES.has(cause.code?.slice(0, 2) ?? '');
}

/** A state's own statement; none for a state outside the chart, which holds no job, as in the other stores. */
function forState(statements: Record<JobState, Named>, state: string): Named | undefined {
  return Object.hasOwn(statements, state) ? statements[state as JobState] : undefined;
}

function queryable(client: unknown): Queryable {
  if (typeof client === 'object' && client !== null && typeof (client as Queryable).query === 'function') return client as Queryable;
  throw new StoreConfigError('client', 'must be a pg Client or PoolClient: the connection your transaction runs on');
}

/**
 * Whether the writes at `batch` share what `writeAlike` sends once: one from,
 * one to (leaving the lease), one event and worker, each under its lease,
 * each setting its last error (as the engine's writes do) and no runAt. Most
 * batches of completions are.
 */
function alike(writes: readonly TransitionWrite[], batch: readonly number[]): boolean {
  const first = writes[batch[0]!]!;
  if (first.to === jobRules.leased) return false;
  const worker = first.worker ?? null;
  for (const i of batch) {
    const w = writes[i]!;
    if (typeof w.token !== 'string' || w.runAt !== undefined || w.lastError === undefined) return false;
    if (w.from !== first.from || w.to !== first.to || w.event !== first.event || (w.worker ?? null) !== worker) return false;
  }
  return true;
}

/**
 * Splits positions into rounds in which every id appears once, keeping each
 * id's writes in their order: round k holds each id's k-th write.
 */
function rounds(ids: readonly string[]): number[][] {
  const seen = new Map<string, number>();
  const out: number[][] = [];
  ids.forEach((id, i) => {
    const k = seen.get(id) ?? 0;
    seen.set(id, k + 1);
    (out[k] ??= []).push(i);
  });
  return out;
}

/** A store on PostgreSQL: `postgresStore({ connectionString })` or `postgresStore({ pool })`. */
export function postgresStore(options: PostgresStoreOptions): PostgresStore {
  return new PostgresStore(options);
}

/** The insert statements' first nine parameters: one array literal per column. */
function insertParams(jobs: readonly NewJob[]): unknown[] {
  // Most jobs have no group: then one null instead of an array of them.
  const groups = jobs.some((job) => job.group != null) ? jobs.map((job) => job.group ?? null) : null;
  const [names, queues, inputs, priorities, runAts, maxRetries, timeouts] = insertColumns(jobs) as [string[], string[], string[], number[], number[], number[], number[]];
  const traces = traceColumn(jobs);
  return [
    textArray(names), textArray(queues), textArray(inputs), numberArray(priorities), numberArray(runAts), numberArray(maxRetries), numberArray(timeouts),
    groups && textArray(groups), traces && textArray(traces),
  ];
}
