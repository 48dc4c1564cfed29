import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import type {
  InsertOptions,
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
import { StoreConfigError, StoreError } from '../contract.js';
import { leaseOperation } from './lease.js';
import { migrate } from './migrations.js';
import { checkLocation, parseOptions, type ResolvedSqliteOptions, type SqliteStoreOptions } from './options.js';
import { type JobRow, rowidOf, toStoredJob } from './rows.js';

type JobState = StoredJob['state'];

/** Everything prepared once per open connection. */
interface Prepared {
  db: Db;
  insert: (jobs: readonly NewJob[], now: number) => StoredJob[];
  lease: (request: LeaseRequest, now: number) => LeaseResult;
  write: (writes: readonly TransitionWrite[], now: number) => boolean[];
  extend: (leases: readonly LeaseRef[], deadline: number) => boolean[];
  get: Statement<[number], JobRow>;
  expired: Statement<[number, number], JobRow>;
  list: Statement<[JobState, number, number], JobRow>;
  purge: Statement<[JobState, number]>;
  counts: Statement<[], { state: JobState; n: number }>;
}

/**
 * The embedded durable store: one SQLite file in WAL mode, shared safely by
 * every process on one machine. Each change is one write transaction
 * (BEGIN IMMEDIATE), so leases never overlap and every write is a
 * compare-and-set. Another process's enqueue is seen within `pollInterval`.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly maxSleepMs: number;
  readonly path: string;
  private readonly options: ResolvedSqliteOptions;
  private prepared: Prepared | null = null;

  constructor(options: SqliteStoreOptions) {
    this.options = parseOptions(options);
    checkLocation(this.options.path);
    this.path = this.options.path;
    this.maxSleepMs = this.options.pollIntervalMs;
  }

  async open(): Promise<void> {
    if (this.prepared) return;
    checkLocation(this.path);
    let db: Db | undefined;
    try {
      db = new Database(this.path, { timeout: this.options.busyTimeoutMs });
      // journal_mode first: it is the one pragma that needs the file to itself for a moment.
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new StoreError(`${this.path} cannot use WAL mode (it reports ${String(mode)}); put it on a local disk`);
      db.pragma(`synchronous = ${this.options.synchronous.toUpperCase()}`);
      // After a burst, give the WAL file back down to this size.
      db.pragma('journal_size_limit = 67108864');
      migrate(db);
      this.prepared = prepare(db);
    } catch (error) {
      db?.close();
      throw openError(this.path, error);
    }
  }

  async close(): Promise<void> {
    const prepared = this.prepared;
    this.prepared = null;
    prepared?.db.close();
  }

  async insert(jobs: readonly NewJob[], options?: InsertOptions): Promise<StoredJob[]> {
    if (options?.client !== undefined) {
      throw new StoreConfigError('client', 'the sqlite store has no outside transaction to join; leave it out');
    }
    const s = this.ready();
    if (jobs.length === 0) return [];
    return run('inserting jobs', () => s.insert(jobs, Date.now()));
  }

  async lease(request: LeaseRequest): Promise<LeaseResult> {
    const s = this.ready();
    return run('leasing jobs', () => s.lease(request, Date.now()));
  }

  async write(writes: readonly TransitionWrite[]): Promise<boolean[]> {
    const s = this.ready();
    if (writes.length === 0) return [];
    return run('writing transitions', () => s.write(writes, Date.now()));
  }

  async extend(leases: readonly LeaseRef[], leaseMs: number): Promise<boolean[]> {
    const s = this.ready();
    if (leases.length === 0) return [];
    return run('extending leases', () => s.extend(leases, Date.now() + leaseMs));
  }

  async get(id: string): Promise<StoredJob | null> {
    const s = this.ready();
    const rowid = rowidOf(id);
    if (rowid === null) return null;
    const row = run('reading a job', () => s.get.get(rowid));
    return row ? toStoredJob(row) : null;
  }

  async expired(limit: number): Promise<StoredJob[]> {
    const s = this.ready();
    return run('finding expired leases', () => s.expired.all(Date.now(), limit)).map(toStoredJob);
  }

  async list(options: ListOptions): Promise<ListPage> {
    const s = this.ready();
    let after = 0;
    if (options.cursor !== undefined && options.cursor !== null) {
      const rowid = rowidOf(options.cursor);
      if (rowid === null) throw new StoreConfigError('cursor', 'is not a cursor this store gave out');
      after = rowid;
    }
    // One row more than the page tells whether another page follows.
    const rows = run('listing jobs', () => s.list.all(options.state, after, options.limit + 1));
    const more = rows.length > options.limit;
    if (more) rows.length = options.limit;
    return { jobs: rows.map(toStoredJob), nextCursor: more ? String(rows[rows.length - 1]!.id) : null };
  }

  async purge(state: JobState, before: number): Promise<number> {
    const s = this.ready();
    return run('purging jobs', () => s.purge.run(state, before).changes);
  }

  async counts(): Promise<StateCounts> {
    const s = this.ready();
    const counts: StateCounts = { pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, dlq: 0, cancelled: 0 };
    for (const { state, n } of run('counting jobs', () => s.counts.all())) counts[state] = n;
    return counts;
  }

  private ready(): Prepared {
    if (!this.prepared) throw new StoreError(`the sqlite store at ${this.path} is not open; call open() first`);
    return this.prepared;
  }
}

function prepare(db: Db): Prepared {
  const insertOne = db.prepare<[string, string, string, number, number, number, number, number, number]>(
    `INSERT INTO dispatch_jobs (name, queue, state, input, priority, run_at, attempt, max_retries, timeout_ms, created_at, updated_at)
     VALUES (?, ?, 'pending', ?, ?, ?, 0, ?, ?, ?, ?)`,
  );
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
    now: number;
  }>(
    `UPDATE dispatch_jobs SET
       state = @to,
       updated_at = @now,
       attempt = coalesce(@attempt, attempt),
       run_at = coalesce(@runAt, run_at),
       last_error = CASE WHEN @setError THEN @lastError ELSE last_error END,
       -- Leaving running ends the lease.
       lease_token = CASE WHEN @to = 'running' THEN lease_token END,
       lease_expires_at = CASE WHEN @to = 'running' THEN lease_expires_at END
     WHERE id = @id AND state = @from AND (@anyToken OR lease_token IS @token)`,
  );
  const extendOne = db.prepare<[number, number, string]>(
    `UPDATE dispatch_jobs SET lease_expires_at = ? WHERE id = ? AND state = 'running' AND lease_token = ?`,
  );

  return {
    db,
    insert: db.transaction((jobs: readonly NewJob[], now: number) =>
      jobs.map((job): StoredJob => {
        // Stored as JSON and read back, so the caller gets what a later get() would give.
        const input = JSON.stringify(job.input) ?? 'null';
        const { lastInsertRowid } = insertOne.run(
          job.name, job.queue, input, job.priority, job.runAt, job.maxRetries, job.timeoutMs, now, now,
        );
        return {
          id: String(lastInsertRowid),
          name: job.name,
          queue: job.queue,
          state: 'pending',
          input: JSON.parse(input),
          priority: job.priority,
          runAt: job.runAt,
          attempt: 0,
          maxRetries: job.maxRetries,
          timeoutMs: job.timeoutMs,
          lastError: null,
          leaseToken: null,
          leaseExpiresAt: null,
          createdAt: now,
          updatedAt: now,
        };
      }),
    ).immediate,
    lease: leaseOperation(db),
    write: db.transaction((writes: readonly TransitionWrite[], now: number) =>
      writes.map((w) => {
        const id = rowidOf(w.id);
        if (id === null) return false;
        return (
          writeOne.run({
            id,
            from: w.from,
            to: w.to,
            anyToken: w.token === undefined ? 1 : 0,
            token: w.token ?? null,
            attempt: w.attempt ?? null,
            runAt: w.runAt ?? null,
            setError: w.lastError === undefined ? 0 : 1,
            lastError: w.lastError ? JSON.stringify(w.lastError) : null,
            now,
          }).changes === 1
        );
      }),
    ).immediate,
    extend: db.transaction((leases: readonly LeaseRef[], deadline: number) =>
      leases.map(({ id, token }) => {
        const rowid = rowidOf(id);
        return rowid !== null && extendOne.run(deadline, rowid, token).changes === 1;
      }),
    ).immediate,
    get: db.prepare('SELECT * FROM dispatch_jobs WHERE id = ?'),
    expired: db.prepare(
      `SELECT * FROM dispatch_jobs WHERE state = 'running' AND lease_expires_at < ? ORDER BY lease_expires_at, id LIMIT ?`,
    ),
    list: db.prepare('SELECT * FROM dispatch_jobs WHERE state = ? AND id > ? ORDER BY id LIMIT ?'),
    purge: db.prepare('DELETE FROM dispatch_jobs WHERE state = ? AND updated_at < ?'),
    counts: db.prepare('SELECT state, count(*) AS n FROM dispatch_jobs GROUP BY state'),
  };
}

/** Runs a statement, turning a failure underneath into a StoreError that keeps its cause. */
function run<T>(what: string, statement: () => T): T {
  try {
    return statement();
  } catch (error) {
    if (error instanceof StoreError || error instanceof StoreConfigError) throw error;
    throw new StoreError(`sqlite store: ${what} failed: ${messageOf(error)}`, { cause: error });
  }
}

/** Errors SQLite gives for a file it cannot use are configuration errors: they name the path. */
function openError(path: string, error: unknown): Error {
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
  if (reason) return Object.assign(new StoreConfigError('path', `${path} ${reason} (${messageOf(error)})`), { cause: error });
  return new StoreError(`sqlite store: opening ${path} failed: ${messageOf(error)}`, { cause: error });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The embedded durable store: jobs in one SQLite file that every process on this machine may share. */
export function sqliteStore(options: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(options);
}
