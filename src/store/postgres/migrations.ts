import pg from 'pg';
import { type MigrationReport, StoreError } from '../contract.js';
import { lockKey, lockName } from './advisory-lock.js';
import { keyedInsertFunction, keysTable } from './job-keys.js';
import { countsSchema } from './completed-counts.js';
import { replaceTrigger } from './history-sql.js';
import { InsertSetting } from './statements.js';
import { ENQUEUED_PAYLOAD } from './enqueue-announcer.js';

interface Migration {
  version: number;
  name: string;
  /** The step's SQL for one schema, given quoted. */
  sql: (schema: string) => string;
}

const LEASABLE = `state IN ('pending', 'retrying')`;
/** The states jobs_listed holds: all but the two every job passes through. */
const LISTED = `state IN ('pending', 'retrying', 'failed', 'dlq', 'cancelled')`;

/**
 * The schema, one step at a time. A released step never changes: a new
 * column or index is a new step with the next version.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs',
    sql: (s) => `
      CREATE TABLE ${s}.jobs (
        -- Identity order is enqueue order: the tiebreak of the one order, and the list cursor.
        id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name             text        NOT NULL,
        queue            text        NOT NULL,
        state            text        NOT NULL DEFAULT 'pending'
                         CHECK (state IN ('pending', 'running', 'retrying', 'completed', 'failed', 'dlq', 'cancelled')),
        -- json, not jsonb: kept as the enqueuer wrote it (key order too), and cheaper to write; never queried inside.
        input            json        NOT NULL,
        priority         integer     NOT NULL DEFAULT 0,
        run_at           timestamptz NOT NULL DEFAULT now(),
        attempt          integer     NOT NULL DEFAULT 0,
        max_retries      integer     NOT NULL,
        timeout_ms       integer     NOT NULL,
        last_error       jsonb,
        lease_token      text,
        lease_expires_at timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      );

      -- Leasing walks this one lane (priority, queue) at a time, and within a
      -- lane the due rows come first; only waiting rows are in it, so finished
      -- jobs cost it nothing.
      CREATE INDEX jobs_lanes ON ${s}.jobs (priority DESC, queue, run_at, id) WHERE ${LEASABLE};
      -- The reaper's search for expired leases touches running jobs only.
      CREATE INDEX jobs_lease_deadline ON ${s}.jobs (lease_expires_at, id) WHERE state = 'running';
      -- Listing a state in enqueue order (the DLQ), counts and purges.
      CREATE INDEX jobs_state ON ${s}.jobs (state, id);

      -- Wake idle workers in every process. NOTIFY is sent at commit, so a job
      -- enqueued inside the caller's transaction wakes nobody until it exists.
      CREATE FUNCTION ${s}.notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        due timestamptz;
      BEGIN
        SELECT min(run_at) INTO due FROM inserted;
        IF due IS NOT NULL THEN
          PERFORM pg_notify(TG_TABLE_SCHEMA || '.jobs', round(extract(epoch FROM due) * 1000)::bigint::text);
        END IF;
        RETURN NULL;
      END
      $$;
      CREATE TRIGGER jobs_notify_inserted AFTER INSERT ON ${s}.jobs
        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ${s}.notify_inserted();

      -- A job back in the queue (retry, reaped lease, replay, release at shutdown) wakes them too.
      -- Row-level with WHEN: leases and completions do not even call the function.
      CREATE FUNCTION ${s}.notify_requeued() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify(TG_TABLE_SCHEMA || '.jobs', round(extract(epoch FROM NEW.run_at) * 1000)::bigint::text);
        RETURN NULL;
      END
      $$;
      CREATE TRIGGER jobs_notify_requeued AFTER UPDATE OF state ON ${s}.jobs FOR EACH ROW
        WHEN (NEW.state IN ('pending', 'retrying') AND OLD.state NOT IN ('pending', 'retrying'))
        EXECUTE FUNCTION ${s}.notify_requeued();
    `,
  },
  {
    version: 2,
    name: 'listing index without running and completed rows',
    sql: (s) => `
      -- Every job passes through running and completed, so an entry for each cost every lease and
      -- every completion one more index write (a quarter of a lease's time). Running rows are
      -- listed through jobs_lease_deadline, completed ones by walking the primary key.
      DROP INDEX ${s}.jobs_state;
      CREATE INDEX jobs_listed ON ${s}.jobs (state, id) WHERE ${LISTED};
    `,
  },
  {
    version: 3,
    name: 'lanes by name',
    sql: (s) => `
      -- A worker leases only the names it knows: a lane is now (priority, queue, name), so a
      -- backlog of a name it does not know is one lane to step over, not rows to read.
      DROP INDEX ${s}.jobs_lanes;
      CREATE INDEX jobs_lanes ON ${s}.jobs (priority DESC, queue, name, run_at, id) WHERE ${LEASABLE};
    `,
  },
  {
    version: 4,
    name: 'job results',
    sql: (s) => `
      -- The handler's result, set by the write that completes the job. json like input: kept as written, never queried inside.
      ALTER TABLE ${s}.jobs ADD COLUMN result json;
    `,
  },
  {
    version: 5,
    name: 'waiters for jobs to come to rest',
    sql: (s) => `
      -- A row while some process waits for a job to come to rest (waitFor). The write that brings
      -- the job to rest deletes its rows and sends a NOTIFY naming it, so only waited jobs cost a
      -- notification, not every completion (as a row trigger would). Empty while nobody waits,
      -- which the write checks once per statement before it looks for any job's rows.
      CREATE TABLE ${s}.rest_waiters (
        job_id bigint      NOT NULL,
        -- The store instance waiting, so one process ending its wait leaves another's in place.
        waiter text        NOT NULL,
        since  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (job_id, waiter)
      );
    `,
  },
  { version: 6, name: 'unique job keys', sql: keysTable },
  {
    version: 7,
    name: 'progress and listing by queue',
    sql: (s) => `
      -- The handler's latest progress report, written while the job runs. json like input.
      ALTER TABLE ${s}.jobs ADD COLUMN progress json;
      -- Listing and counting one queue's jobs of a listed state (an index-only count). Like
      -- jobs_listed it leaves out running and completed rows, so leases and completions write
      -- no entry; an enqueue writes one more.
      CREATE INDEX jobs_listed_queue ON ${s}.jobs (state, queue, id) WHERE ${LISTED};
    `,
  },
  {
    version: 8,
    name: 'cron schedules',
    sql: (s) => `
      -- A schedule by name; the job's fields are resolved when it is saved, so any process can fire it.
      -- Times are the engine's clock in epoch ms (bigint): updated_at is the schedule's version, compared
      -- for equality, and changes only when the definition does.
      CREATE TABLE ${s}.schedules (
        name         text    PRIMARY KEY,
        cron         text    NOT NULL,
        tz           text    NOT NULL,
        job_name     text    NOT NULL,
        input        json    NOT NULL,
        queue        text    NOT NULL,
        priority     integer NOT NULL,
        max_retries  integer NOT NULL,
        timeout_ms   integer NOT NULL,
        overlap      text    NOT NULL CHECK (overlap IN ('skip', 'allow')),
        catch_up     text    NOT NULL CHECK (catch_up IN ('none', 'latest', 'all')),
        last_tick_at bigint,
        last_job_id  bigint,
        created_at   bigint  NOT NULL,
        updated_at   bigint  NOT NULL
      );

      -- One row per tick, inserted in the transaction that inserts the tick's job: the key makes a
      -- tick fire once, whoever fires it. job_id is null for a tick skipped (overlap).
      CREATE TABLE ${s}.schedule_ticks (
        schedule text   NOT NULL,
        tick_at  bigint NOT NULL,
        job_id   bigint,
        PRIMARY KEY (schedule, tick_at)
      );

      -- Pruning takes the oldest ticks first.
      CREATE INDEX schedule_ticks_age ON ${s}.schedule_ticks (tick_at);
    `,
  },
  {
    version: 9,
    name: 'queue settings and job groups',
    sql: (s) => `
      -- A job's group within its queue, for the queue's group concurrency; null for most jobs.
      -- Nullable without a default: adding it rewrites no row.
      ALTER TABLE ${s}.jobs ADD COLUMN "group" text;

      -- Cluster-wide settings of a queue. The lease reads this table in its own statement, so a
      -- pause holds for every lease that starts after it commits; a queue without a row has none.
      CREATE TABLE ${s}.queues (
        name              text        PRIMARY KEY,
        paused            boolean     NOT NULL DEFAULT false,
        concurrency       integer,
        rate_max          integer,
        rate_per_ms       bigint,
        group_concurrency integer,
        -- Leases of such a queue count what runs and starts, under a lock on this row.
        limited           boolean     GENERATED ALWAYS AS (
                            concurrency IS NOT NULL OR rate_max IS NOT NULL OR group_concurrency IS NOT NULL) STORED,
        updated_at        timestamptz NOT NULL DEFAULT now()
      );

      -- The start times of rate-limited queues' jobs inside their window, pruned as leases go.
      CREATE TABLE ${s}.queue_starts (
        queue      text        NOT NULL,
        started_at timestamptz NOT NULL,
        -- A lease's starts as one row: a log entry per lease, not per job.
        n          integer     NOT NULL
      );
      CREATE INDEX queue_starts_window ON ${s}.queue_starts (queue, started_at);

      -- The groups of a queue with waiting grouped jobs, each group's in the one order: only
      -- grouped jobs have an entry, so jobs without a group cost it nothing.
      CREATE INDEX jobs_groups ON ${s}.jobs (queue, "group", priority DESC, run_at, id)
        WHERE ${LEASABLE} AND "group" IS NOT NULL;
    `,
  },
  // After the group and progress columns (versions 7 and 9), which it writes and answers.
  { version: 10, name: 'keyed inserts', sql: keyedInsertFunction },
  { version: 11, name: 'counts of completed jobs', sql: countsSchema },
  {
    version: 12,
    name: 'job history',
    sql: (s) => `
      -- Each job's steps through the chart since its enqueue, kept on its row (see history-sql.ts):
      -- appended by the statement that makes the step, deleted with the row. Nullable without a
      -- default: adding it rewrites no row, and a job that has not moved costs nothing.
      ALTER TABLE ${s}.jobs ADD COLUMN history text;
      ${replaceTrigger(s)}
    `,
  },
  {
    version: 13,
    name: 'trace context of the enqueuer',
    // insert_keyed takes one more array, so the old one is dropped: a second signature would linger beside it.
    sql: (s) => `
      -- The enqueuing span's context (the propagator's carrier, e.g. traceparent, as JSON), for each attempt's span to link to.
      ALTER TABLE ${s}.jobs ADD COLUMN trace_context text;
      DROP FUNCTION ${s}.insert_keyed(text[], text[], text[], int[], float8[], int[], int[], text[], text[], float8[], text[], bool[], text[], text[], text[], text[], text);
      ${keyedInsertFunction(s, true)}
    `,
  },
  {
    version: 14,
    name: 'enqueues on the pool tagged, or announced after their commit',
    sql: (s) => `
      -- A NOTIFY inside a transaction holds a database-wide lock from before its commit until the commit
      -- is durable, so notifying inserts took their WAL flushes one at a time. An insert the store makes
      -- while another of its own is under way sets ${InsertSetting.quiet}, and the store announces it
      -- after the commit; one made alone sets ${InsertSetting.origin}, so its notification names the
      -- store that made it. An insert in the caller's transaction is told at its commit, as before.
      CREATE OR REPLACE FUNCTION ${s}.notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        due timestamptz;
        ms text;
        origin text := current_setting('${InsertSetting.origin}', true);
      BEGIN
        IF current_setting('${InsertSetting.quiet}', true) = 'on' THEN
          RETURN NULL;
        END IF;
        SELECT min(run_at) INTO due FROM inserted;
        IF due IS NOT NULL THEN
          ms := round(extract(epoch FROM due) * 1000)::bigint::text;
          PERFORM pg_notify(TG_TABLE_SCHEMA || '.jobs', CASE WHEN coalesce(origin, '') = '' THEN ms ELSE '${ENQUEUED_PAYLOAD}' || origin || ':' || ms END);
        END IF;
        RETURN NULL;
      END
      $$;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the schema up to `SCHEMA_VERSION` in one transaction under an
 * advisory lock, so processes starting together apply each step exactly
 * once: the others wait for the lock, then find nothing to do.
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<MigrationReport> {
  const s = pg.escapeIdentifier(schema);
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${lockKey('$1')})`, [lockName(schema, 'migrate')]);
    // Checked first, so a role that may use but not create the schema can still start.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const current = await versionIn(client, s);
    if (current > SCHEMA_VERSION) throw tooNew(schema, current);
    const applied: MigrationReport['applied'] = [];
    for (const step of MIGRATIONS) {
      if (step.version <= current) continue;
      await client.query(step.sql(s));
      await client.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [step.version, step.name]);
      applied.push({ version: step.version, name: step.name });
    }
    await client.query('COMMIT');
    return { from: current, to: SCHEMA_VERSION, applied };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Refuses a schema this code cannot use: not migrated yet (with `migrate: false`), or newer than it knows. */
export async function checkVersion(client: pg.ClientBase, schema: string): Promise<void> {
  let current: number;
  try {
    current = await versionIn(client, pg.escapeIdentifier(schema));
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') current = 0; // undefined_table: never migrated
    else throw error;
  }
  if (current > SCHEMA_VERSION) throw tooNew(schema, current);
  if (current < SCHEMA_VERSION) {
    throw new StoreError(
      `schema "${schema}" is at version ${current}, this version of dispatch needs ${SCHEMA_VERSION}; ` +
        'run store.migrate() (or open with migrate: true)',
    );
  }
}

async function versionIn(client: pg.ClientBase, s: string): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${s}.migrations`);
  return rows[0]?.version ?? 0;
}

function tooNew(schema: string, current: number): StoreError {
  return new StoreError(
    `schema "${schema}" is at version ${current}, newer than the ${SCHEMA_VERSION} this version of dispatch knows; upgrade the package`,
  );
}
