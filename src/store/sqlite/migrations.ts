import { replaceTrigger } from './history-sql.js';
import type { Database } from 'better-sqlite3';
import { type MigrationReport, StoreError } from '../contract.js';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The schema, one step at a time. A released step never changes: a new
 * column or index is a new step with the next version.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs',
    sql: `
      CREATE TABLE dispatch_jobs (
        -- AUTOINCREMENT: ids are never reused after a purge, and their order is enqueue order.
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        name             TEXT    NOT NULL,
        queue            TEXT    NOT NULL,
        state            TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'retrying', 'completed', 'failed', 'dlq', 'cancelled')),
        input            TEXT    NOT NULL,
        priority         INTEGER NOT NULL,
        run_at           INTEGER NOT NULL,
        attempt          INTEGER NOT NULL,
        max_retries      INTEGER NOT NULL,
        timeout_ms       INTEGER NOT NULL,
        last_error       TEXT,
        lease_token      TEXT,
        lease_expires_at INTEGER,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
      ) STRICT;

      -- Leasing walks this one lane (priority, queue) at a time; the rowid at
      -- the end of every index is the enqueue order.
      CREATE INDEX dispatch_jobs_leasable ON dispatch_jobs (priority DESC, queue, run_at)
        WHERE state IN ('pending', 'retrying');

      -- The reaper's search for expired leases touches running jobs only.
      CREATE INDEX dispatch_jobs_lease_deadline ON dispatch_jobs (lease_expires_at)
        WHERE state = 'running';

      -- Listing a state in enqueue order (the DLQ), counts and purges.
      CREATE INDEX dispatch_jobs_state ON dispatch_jobs (state);
    `,
  },
  {
    version: 2,
    name: 'leasable index by name',
    sql: `
      -- A worker leases only the names it knows: a lane is now (priority, queue, name), so a
      -- backlog of a name it does not know is one lane to step over, not rows to read. Same name,
      -- so statements prepared by an older version on an open connection still find it.
      DROP INDEX dispatch_jobs_leasable;
      CREATE INDEX dispatch_jobs_leasable ON dispatch_jobs (priority DESC, queue, name, run_at)
        WHERE state IN ('pending', 'retrying');
    `,
  },
  {
    version: 3,
    name: 'duties',
    sql: `
      -- Who runs each leader duty (the reaper...), until when: a holder renews
      -- its claim while it runs, and a claim past its expiry may be taken.
      CREATE TABLE dispatch_duties (
        name       TEXT    PRIMARY KEY,
        holder     TEXT    NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'job results',
    sql: `
      -- The handler's result as JSON text, set by the write that completes the job.
      ALTER TABLE dispatch_jobs ADD COLUMN result TEXT;
    `,
  },
  {
    version: 5,
    name: 'unique job keys',
    sql: `
      -- The job holding each unique key of a job name, and how long past rest it keeps it. A table of
      -- its own: jobs without a key write nothing here, and a holder at rest past keep_for_ms, or
      -- purged, is taken over in place (no time in an index). Decided inside the insert's transaction.
      CREATE TABLE dispatch_job_keys (
        name        TEXT    NOT NULL,
        key         TEXT    NOT NULL,
        job_id      INTEGER NOT NULL,
        keep_for_ms INTEGER NOT NULL,
        PRIMARY KEY (name, key)
      ) STRICT, WITHOUT ROWID;

      -- A key whose holder is deleted (retention, purge) is free anyway; its row goes with the job,
      -- so keys do not pile up. Only deletes fire it, one index probe per deleted job.
      CREATE INDEX dispatch_job_keys_job ON dispatch_job_keys (job_id);
      CREATE TRIGGER dispatch_job_keys_gone AFTER DELETE ON dispatch_jobs
      BEGIN
        DELETE FROM dispatch_job_keys WHERE job_id = OLD.id;
      END;
    `,
  },
  {
    version: 6,
    name: 'progress',
    sql: `
      -- The handler's latest progress report as JSON text, written while the job runs. No index
      -- by queue: one on the waiting states cost a bulk enqueue a quarter of its rate.
      ALTER TABLE dispatch_jobs ADD COLUMN progress TEXT;
    `,
  },
  {
    version: 7,
    name: 'cron schedules',
    sql: `
      -- A schedule by name; the job's fields are resolved when it is saved, so any process can fire it.
      -- Times are the engine's clock in epoch ms; updated_at changes only when the definition does.
      CREATE TABLE dispatch_schedules (
        name         TEXT    PRIMARY KEY,
        cron         TEXT    NOT NULL,
        tz           TEXT    NOT NULL,
        job_name     TEXT    NOT NULL,
        input        TEXT    NOT NULL,
        queue        TEXT    NOT NULL,
        priority     INTEGER NOT NULL,
        max_retries  INTEGER NOT NULL,
        timeout_ms   INTEGER NOT NULL,
        overlap      TEXT    NOT NULL CHECK (overlap IN ('skip', 'allow')),
        catch_up     TEXT    NOT NULL CHECK (catch_up IN ('none', 'latest', 'all')),
        last_tick_at INTEGER,
        last_job_id  INTEGER,
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
      ) STRICT;

      -- One row per tick, written in the transaction that inserts the tick's job: the key makes a
      -- tick fire once, whoever fires it. job_id is null for a tick skipped (overlap).
      CREATE TABLE dispatch_schedule_ticks (
        schedule TEXT    NOT NULL,
        tick_at  INTEGER NOT NULL,
        job_id   INTEGER,
        PRIMARY KEY (schedule, tick_at)
      ) STRICT, WITHOUT ROWID;

      -- Pruning takes the oldest ticks first.
      CREATE INDEX dispatch_schedule_ticks_age ON dispatch_schedule_ticks (tick_at);
    `,
  },
  {
    version: 8,
    name: 'queue settings and job groups',
    sql: `
      -- A job's group within its queue, for the queue's group concurrency; null for most jobs.
      ALTER TABLE dispatch_jobs ADD COLUMN "group" TEXT;

      -- Cluster-wide settings of a queue, read by every lease: a queue without a row has none.
      CREATE TABLE dispatch_queues (
        name              TEXT    PRIMARY KEY,
        paused            INTEGER NOT NULL DEFAULT 0,
        concurrency       INTEGER,
        rate_max          INTEGER,
        rate_per_ms       INTEGER,
        group_concurrency INTEGER,
        updated_at        INTEGER NOT NULL
      ) STRICT;

      -- The start times of rate-limited queues' jobs inside their window, pruned as leases go.
      CREATE TABLE dispatch_queue_starts (
        queue      TEXT    NOT NULL,
        started_at INTEGER NOT NULL,
        -- A lease's starts as one row: a log entry per lease, not per job.
        n          INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX dispatch_queue_starts_window ON dispatch_queue_starts (queue, started_at);

      -- The groups of a queue with waiting grouped jobs, each group's in the one order: only
      -- grouped jobs have an entry, so jobs without a group cost it nothing.
      CREATE INDEX dispatch_jobs_groups ON dispatch_jobs (queue, "group", priority DESC, run_at)
        WHERE state IN ('pending', 'retrying') AND "group" IS NOT NULL;
    `,
  },
  {
    version: 9,
    name: 'job history',
    sql: `
      -- Each job's steps through the chart since its enqueue, kept on its row (see history-sql.ts):
      -- appended by the statement that makes the step, deleted with the row. Null: none yet.
      ALTER TABLE dispatch_jobs ADD COLUMN history TEXT;
      ${replaceTrigger}
    `,
  },
  {
    version: 10,
    name: 'trace context of the enqueuer',
    sql: `
      -- The enqueuing span's context (the propagator's carrier, e.g. traceparent, as JSON), for each attempt's span to link to.
      ALTER TABLE dispatch_jobs ADD COLUMN trace_context TEXT;
    `,
  },
  {
    version: 11,
    name: 'compact job history',
    sql: `
      -- The workers named in history entries, each once: an entry holds the number (see history-sql.ts).
      -- Rows are never removed: one per worker process that kept history, and entries of purged jobs
      -- may have named it.
      CREATE TABLE dispatch_workers (
        id   INTEGER PRIMARY KEY,
        name TEXT    NOT NULL UNIQUE
      ) STRICT;
      -- Entries appended from now on take the compact shape; those already kept read as they are.
      DROP TRIGGER dispatch_jobs_replaced;
      ${replaceTrigger}
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the file up to `SCHEMA_VERSION` in one write transaction, so two
 * processes opening a new file at once apply each step exactly once: the
 * second waits for the first and then finds nothing to do.
 */
export function migrate(db: Database): MigrationReport {
  return db.transaction((): MigrationReport => {
    db.exec(`CREATE TABLE IF NOT EXISTS dispatch_migrations (
      version    INTEGER PRIMARY KEY,
      name       TEXT    NOT NULL,
      applied_at INTEGER NOT NULL
    ) STRICT`);
    const row = db.prepare('SELECT max(version) AS version FROM dispatch_migrations').get() as { version: number | null };
    const current = row.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        `the database is at schema version ${current}, newer than the ${SCHEMA_VERSION} this version of dispatch knows; upgrade the package`,
      );
    }
    const record = db.prepare('INSERT INTO dispatch_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const applied: MigrationReport['applied'] = [];
    for (const step of MIGRATIONS) {
      if (step.version <= current) continue;
      db.exec(step.sql);
      record.run(step.version, step.name, Date.now());
      applied.push({ version: step.version, name: step.name });
    }
    return { from: current, to: SCHEMA_VERSION, applied };
  }).immediate();
}
