import { createHash } from 'node:crypto';
import pg from 'pg';
import type { JobState } from '../../../machines/job.machine.js';
import { jobRules, RESTING_STATES, sqlList } from '../contract.js';
import { lockKey } from './advisory-lock.js';
import { removedWithJobs } from './removed-with-jobs.js';
import { countedCte, countsTable } from './completed-counts.js';
import { LISTED_STATES } from './listed-states.js';
import { epochMs, fromEpochMs, jobColumns, ownColumns } from './rows.js';
import { appended, leaseEntries, withWrittenStep } from './history-sql.js';

/**
 * The chart's states a lease takes from, written as in the partial index, so
 * the planner sees that it applies (a test holds the schema to the chart).
 */
const leasable = (table?: string) => `${table ? `${table}.` : ''}state IN (${sqlList(jobRules.leaseFrom)})`;
/** The chart's one state that holds a lease. */
const LEASED = `'${jobRules.leased}'`;
const LEASABLE = leasable();
/** The one order, on the table and on any relation carrying its columns. */
const ORDER = 'priority DESC, run_at, id';

/**
 * A statement for each state, the state written in it: a plan made for a
 * parameter cannot use the partial index that holds only some states.
 */
function byState(text: (state: string) => string): Record<JobState, string> {
  return Object.fromEntries(jobRules.states.map((state) => [state, text(state)])) as Record<JobState, string>;
}

/** The resting states, as SQL: a write into one of them notifies the job's waiters. */
const RESTING = sqlList(RESTING_STATES);

/** How a notification on the jobs channel says jobs came to rest: this, then the job id. Others are enqueue wake-ups. */
export const REST_PAYLOAD = 'rest:';

/** The channel enqueues, requeues and rests are told on. */
export const channelOf = (schema: string) => `${schema}.jobs`;

/**
 * Set for the inserting transaction by the store's own inserts on its pool,
 * read by the insert trigger: with QUIET the trigger sends nothing (the store
 * announces the jobs after the commit); with ORIGIN it sends its notification
 * tagged with the store's origin, so the store knows its own echo.
 */
export const InsertSetting = { quiet: 'dispatch.notify_after_commit', origin: 'dispatch.insert_origin' } as const;

/** Whose insert this is: the caller's transaction (told by the trigger at its commit), the store's told at once, or the store's announced after. */
type InsertMode = 'caller' | 'tagged' | 'quiet';

function insertText(jobs: string, mode: InsertMode): string {
  const own = { caller: '', tagged: `set_config('${InsertSetting.origin}', $10, true)`, quiet: `set_config('${InsertSetting.quiet}', 'on', true)` }[mode];
  return `
      ${own && `WITH own AS (SELECT ${own})`}
      INSERT INTO ${jobs} (name, queue, input, priority, run_at, max_retries, timeout_ms, "group", trace_context)
      SELECT n.name, n.queue, n.input::json, n.priority, ${fromEpochMs('n.run_at')}, n.max_retries, n.timeout_ms, n.grp, n.trace
      FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::float8[], $6::int[], $7::int[], $8::text[], $9::text[])
        WITH ORDINALITY AS n(name, queue, input, priority, run_at, max_retries, timeout_ms, grp, trace, ord)${own && ', own'}
      -- Identities are drawn in this order, so ids follow the caller's order.
      ORDER BY n.ord
      RETURNING id::text AS id, ${epochMs('created_at')} AS created_at`;
}

/** A lease token check in a write: none asked, none held, or this one held. */
export const LeaseCheck = { ignore: 0, none: 1, held: 2 } as const;

/**
 * Every statement the store runs, for one schema. Times that decide things
 * (is a job due, has a lease run out) are the database's `now()`, so workers
 * whose clocks differ still agree.
 */
export function statements(schema: string) {
  const jobs = `${pg.escapeIdentifier(schema)}.jobs`;
  const waiters = `${pg.escapeIdentifier(schema)}.rest_waiters`;
  const queuesTable = `${pg.escapeIdentifier(schema)}.queues`;
  const channel = pg.escapeLiteral(channelOf(schema));

  /** The priorities that have waiting rows, highest first, each found by one index seek. */
  const levels = `levels AS (
        (SELECT priority FROM ${jobs} WHERE ${LEASABLE} ORDER BY priority DESC LIMIT 1)
        UNION ALL
        SELECT (
          SELECT j.priority FROM ${jobs} j WHERE ${leasable('j')} AND j.priority < lv.priority ORDER BY j.priority DESC LIMIT 1
        )
        FROM levels lv WHERE lv.priority IS NOT NULL
      )`;

  /**
   * The lanes (queue, name) that have waiting rows at one priority, each found
   * by one index seek (a row comparison on the index's columns).
   */
  const lanesAt = (priority: string) => `WITH RECURSIVE lanes AS (
            (SELECT queue, name FROM ${jobs} WHERE ${LEASABLE} AND priority = ${priority} ORDER BY queue, name LIMIT 1)
            UNION ALL
            SELECT nx.queue, nx.name FROM lanes l CROSS JOIN LATERAL (
              SELECT j.queue, j.name FROM ${jobs} j
              WHERE ${leasable('j')} AND j.priority = ${priority} AND (j.queue, j.name) > (l.queue, l.name)
              ORDER BY j.queue, j.name LIMIT 1
            ) nx
          )`;

  /** The names that have waiting rows in one queue at one priority, the same way (ends with a null row). */
  const namesAt = (priority: string, queue: string) => `WITH RECURSIVE names AS (
            (SELECT name FROM ${jobs} WHERE ${LEASABLE} AND priority = ${priority} AND queue = ${queue} ORDER BY name LIMIT 1)
            UNION ALL
            SELECT (
              SELECT j.name FROM ${jobs} j
              WHERE ${leasable('j')} AND j.priority = ${priority} AND j.queue = ${queue} AND j.name > n.name ORDER BY j.name LIMIT 1
            )
            FROM names n WHERE n.name IS NOT NULL
          )`;

  /** A lane the caller takes from: one of its names and, when it names queues ($queues not null), one of those. */
  const taken = (queue: string, name: string, names: string, queues: string) =>
    `${name} = ANY (${names}::text[]) AND (${queues}::text[] IS NULL OR ${queue} = ANY (${queues}::text[]))`;

  /**
   * A queue this statement may take from by its settings: not paused, and not limited unless
   * named in `held` (the queues whose lock a lease holds; null: none held). One primary key probe
   * of a table that is most often empty, read in the statement's own snapshot.
   */
  const open = (queue: string, held: string | null = '$7') =>
    `NOT EXISTS (SELECT FROM ${queuesTable} q WHERE q.name = ${queue} AND (q.paused OR ${held ? `(q.limited AND q.name <> ALL (coalesce(${held}::text[], '{}')))` : 'q.limited'}))`;

  /** The due rows of one lane in order, locked unless another caller holds them. */
  const dueIn = (priority: string, queue: string, name: string, limit: string) => `
            SELECT id, priority, run_at, state FROM ${jobs}
            WHERE ${LEASABLE} AND priority = ${priority} AND queue = ${queue} AND name = ${name} AND run_at <= now()
            ORDER BY run_at, id
            LIMIT ${limit}
            FOR UPDATE SKIP LOCKED`;

  /**
   * The tagged insert of one job that writes it already leased when the
   * offered lease would have taken it first (see Store.offer): due by the
   * database's clock, no group, in a lane the offer takes ($11 names, $12
   * queues or null, $15 capped queues left out), its queue neither paused nor
   * limited, and no due row of the offer's open lanes at its priority or
   * above (found as the lease finds rows, one index seek a lane; rows other
   * leases hold count too, so it defers to them). $13 lease ms, $14 the
   * worker as JSON text (null: no history). Answers the whole row, so a
   * leased one is handed over as a lease answers it.
   */
  const insertHanded = `
      WITH RECURSIVE
      own AS (SELECT set_config('${InsertSetting.origin}', $10, true)),
      n AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::float8[], $6::int[], $7::int[], $8::text[], $9::text[])
          AS n(name, queue, input, priority, run_at, max_retries, timeout_ms, grp, trace)
      ),
      ${levels},
      -- Materialized: inlined, its test would run once for each column that reads it.
      hand AS MATERIALIZED (
        SELECT n.*, (
          ${fromEpochMs('n.run_at')} <= now() AND n.grp IS NULL AND n.queue <> ALL ($15::text[])
          AND ${taken('n.queue', 'n.name', '$11', '$12')} AND ${open('n.queue', null)}
          AND NOT EXISTS (
            SELECT FROM levels lv CROSS JOIN LATERAL (
              ${lanesAt('lv.priority')}
              SELECT FROM lanes l
              WHERE ${taken('l.queue', 'l.name', '$11', '$12')} AND ${open('l.queue', null)}
                AND EXISTS (
                  SELECT FROM ${jobs} j
                  WHERE ${leasable('j')} AND j.priority = lv.priority AND j.queue = l.queue AND j.name = l.name AND j.run_at <= now()
                )
            ) due
            WHERE lv.priority >= n.priority
          )
        ) AS leased
        FROM n
      ),
      -- The row a job starts as, which the lease's entries read.
      start AS (SELECT '${jobRules.initial}'::text AS state, 0 AS attempt)
      INSERT INTO ${jobs} AS j (name, queue, input, priority, run_at, max_retries, timeout_ms, "group", trace_context, state, attempt, lease_token, lease_expires_at, history)
      SELECT h.name, h.queue, h.input::json, h.priority, ${fromEpochMs('h.run_at')}, h.max_retries, h.timeout_ms, h.grp, h.trace,
        CASE WHEN h.leased THEN ${LEASED} ELSE start.state END,
        CASE WHEN h.leased THEN start.attempt + ${jobRules.attemptsPerLease} ELSE start.attempt END,
        CASE WHEN h.leased THEN gen_random_uuid()::text END,
        CASE WHEN h.leased THEN now() + $13::float8 * interval '1 millisecond' END,
        CASE WHEN h.leased AND $14::text IS NOT NULL THEN ${appended('NULL', leaseEntries('start', '$14::text'))} END
      FROM hand h, start, own
      RETURNING ${jobColumns('j')}`;

  /** What follows an outcome write's `moved`: the counts, the waiters told, the ordinals applied. */
  const afterMoved = `-- Jobs moved into a state no index holds (completed) are counted here, not read when counted.
      ${countedCte(schema, 'counted', 'moved', 1)},
      -- Runs whether or not it is read; NOTIFY is sent at commit, once per job however many wait.
      -- The first test is checked once: while nobody waits anywhere, no row is probed.
      woken AS (
        DELETE FROM ${waiters} x USING moved m
        WHERE EXISTS (SELECT FROM ${waiters}) AND x.job_id = m.id AND m.state IN (${RESTING})
        RETURNING pg_notify(${channel}, '${REST_PAYLOAD}' || x.job_id)
      )
      SELECT ord FROM moved`;

  /**
   * The lease, with the walk of capped queues only where some queue is capped:
   * that part of the plan alone cost a lease of ten about a seventh of its
   * server time, even with no queue to walk. Both take the same parameters
   * (`room` stays, unread where there is no walk).
   */
  const leaseText = (capped: boolean) => `
      WITH RECURSIVE
      -- A lease lost in a database crash only puts the job back in the queue: no need to wait for the WAL flush.
      relaxed AS (SELECT set_config('synchronous_commit', 'off', true)),
      room AS (
        SELECT * FROM unnest($1::text[], $2::int[]) AS r(queue, room)
        WHERE r.room > 0 AND ($6::text[] IS NULL OR r.queue = ANY ($6::text[])) AND ${open('r.queue')}
      ),
      ${levels},
      uncapped AS (
        SELECT picked.* FROM levels lv CROSS JOIN LATERAL (
          ${lanesAt('lv.priority')}
          -- A priority's lanes merged by runAt, then enqueue order.
          SELECT due.* FROM lanes l CROSS JOIN LATERAL (${dueIn('lv.priority', 'l.queue', 'l.name', '$3')}) due
          WHERE l.queue <> ALL ($1::text[]) AND ${taken('l.queue', 'l.name', '$5', '$6')} AND ${open('l.queue')}
          ORDER BY due.run_at, due.id
          LIMIT $3
        ) picked
        WHERE lv.priority IS NOT NULL
        -- Priorities are visited from the highest; no lower one is read once enough are found.
        LIMIT $3
      ),
${capped ? `      capped AS (
        SELECT picked.* FROM room r CROSS JOIN LATERAL (
          SELECT due.* FROM levels lv CROSS JOIN LATERAL (
            ${namesAt('lv.priority', 'r.queue')}
            SELECT d.* FROM names n CROSS JOIN LATERAL (${dueIn('lv.priority', 'r.queue', 'n.name', 'least(r.room, $3)')}) d
            WHERE n.name = ANY ($5::text[])
            ORDER BY d.run_at, d.id
            LIMIT least(r.room, $3)
          ) due
          WHERE lv.priority IS NOT NULL
          LIMIT least(r.room, $3)
        ) picked
      ),
      ` : ''}      chosen AS (
        SELECT id, state FROM ${capped ? '(SELECT * FROM capped UNION ALL SELECT * FROM uncapped) c' : 'uncapped'}
        ORDER BY ${ORDER}
        LIMIT $3
      ),
      leased AS (
        UPDATE ${jobs} j
        -- One token for the whole lease, drawn once: a job's writes name its id and token together, so
        -- the token need only differ from this job's other leases (a uuid per row cost ~4 us each).
        SET state = ${LEASED}, attempt = j.attempt + ${jobRules.attemptsPerLease}, lease_token = (SELECT gen_random_uuid()::text),
            lease_expires_at = now() + $4::float8 * interval '1 millisecond', updated_at = now(),
            history = CASE WHEN $8::text IS NULL THEN j.history ELSE ${appended('j.history', leaseEntries('j', '$8::text'))} END
        -- By key, not joined: a generic plan cannot see $3 and, guessing many rows, joined by
        -- hashing the whole table (a scan of every row per lease).
        WHERE j.id = ANY (ARRAY(SELECT id FROM chosen))
        RETURNING ${ownColumns('j')}, j.id AS seq
      ),
      -- The times the update set on every row alike (now() is the transaction's), in ms once.
      stamped AS (SELECT ${epochMs(`now() + $4::float8 * interval '1 millisecond'`)} AS lease_expires_at, ${epochMs('now()')} AS updated_at)
      -- The rows are locked from the pick on, so the state read there is the one they left.
      SELECT l.*, s.lease_expires_at, s.updated_at, c.state AS leased_from FROM leased l JOIN chosen c ON c.id = l.seq, relaxed, stamped s
      ORDER BY l.priority DESC, l.run_at, l.seq`;

  return {
    /**
     * $1 names, $2 queues, $3 inputs (JSON text), $4 priorities, $5 runAt ms,
     * $6 maxRetries, $7 timeoutMs, $8 groups (null: none has one), $9 trace contexts (null: none has one). Answers only what the caller does not
     * know (ids and the insert time): reading back whole rows cost more than
     * writing them.
     */
    insert: insertText(jobs, 'caller'),
    /** The same on the store's pool, $10 its origin: the trigger's NOTIFY carries it (see enqueue-announcer.ts). */
    insertTagged: insertText(jobs, 'tagged'),
    /** The same with no NOTIFY in the transaction: the store announces the jobs once the commit is done. */
    insertQuiet: insertText(jobs, 'quiet'),
    /** The tagged insert of one job, leasing it for an offer when the lease would have taken it (see above). */
    insertHanded,
    /**
     * $1 the payload: one announcement of enqueues committed on the pool, in a transaction of its own.
     * A NOTIFY gives its transaction an id and so a commit record; lost in a crash, the announcement
     * only leaves the jobs to the poll, so its commit need not wait for the WAL flush.
     */
    announce: `SELECT set_config('synchronous_commit', 'off', true), pg_notify(${channel}, $1)`,

    /**
     * $1 capped queues, $2 their room, $3 limit, $4 lease ms, $5 the names
     * taken, $6 the queues taken (null: all), $7 limited queues this lease
     * holds the lock of (null: none); paused and other limited queues are
     * passed over (see queue-control.ts). One statement, walking the
     * partial index one lane (priority, queue, name) at a time: priorities
     * from the highest, found by skipping through the index (a loose index
     * scan), and in each the lanes that have waiting rows; a lane of a name
     * or queue not taken is stepped over, its rows never read. A lane's due
     * rows come first in it, so a lane costs an index seek plus the rows
     * taken: jobs scheduled for later and the backlog of a capped queue are
     * never read row by row. Rows are locked with SKIP LOCKED as they are
     * read, so concurrent callers take different jobs. Postgres refuses FOR
     * UPDATE beside a window function, so a queue's cap is the LIMIT of its
     * own walk rather than a row_number(). $8 the leasing worker (JSON text), whose steps
     * go into each job's history (null: none kept).
     */
    lease: leaseText(false),
    /** The lease when `$1` names capped queues. */
    leaseCapped: leaseText(true),

    /**
     * $1 the names taken, $2 the queues taken (null: all). The earliest runAt
     * still in the future among rows the caller could take, for a lease that
     * came back short: the first later row of some lane it takes from. A
     * statement of its own: in the lease its estimated cost pushed the
     * planner into JIT compiling every lease (~40 ms each).
     */
    nextRunAt: `
      WITH RECURSIVE ${levels}
      SELECT ${epochMs('min(later.run_at)')} AS next_run_at
      FROM levels lv
      CROSS JOIN LATERAL (${lanesAt('lv.priority')} SELECT queue, name FROM lanes) l
      CROSS JOIN LATERAL (
        SELECT run_at FROM ${jobs}
        WHERE ${LEASABLE} AND priority = lv.priority AND queue = l.queue AND name = l.name AND run_at > now()
        ORDER BY run_at
        LIMIT 1
      ) later
      WHERE lv.priority IS NOT NULL AND ${taken('l.queue', 'l.name', '$1', '$2')}`,

    /**
     * One compare-and-set per element: $1 ids, $2 from, $3 to, $4 lease check,
     * $5 tokens, $6 attempts (null: keep), $7 runAt ms (null: keep), $8 whether
     * to set last_error, $9 last errors (JSON text), $10 results (JSON text,
     * null: keep; the whole array null when no write has one), $11 the chart's
     * events and $12 the workers, as JSON text, for the job's history (null: no entry; both
     * arrays null when no write has one). Answers the
     * ordinals applied. A job that comes to rest takes its waiters' rows with
     * it and notifies them: one index probe per such job when nobody waits.
     */
    write: `
      WITH w AS (
        SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::int[], $7::float8[], $8::bool[], $9::text[], $10::text[], $11::text[], $12::text[])
          WITH ORDINALITY AS w(id, from_state, to_state, lease_check, token, attempt, run_at, set_error, last_error, result, event, worker, ord)
      ),
      moved AS (
        UPDATE ${jobs} j
        SET state = w.to_state,
            attempt = coalesce(w.attempt, j.attempt),
            run_at = coalesce(${fromEpochMs('w.run_at')}, j.run_at),
            last_error = CASE WHEN w.set_error THEN w.last_error::jsonb ELSE j.last_error END,
            result = coalesce(w.result::json, j.result),
            -- Leaving running clears the lease.
            lease_token = CASE WHEN w.to_state = ${LEASED} THEN j.lease_token END,
            lease_expires_at = CASE WHEN w.to_state = ${LEASED} THEN j.lease_expires_at END,
            updated_at = now(),
            history = ${withWrittenStep('j', {
              from: 'w.from_state', to: 'w.to_state', event: 'w.event', attempt: 'coalesce(w.attempt, j.attempt)', worker: 'w.worker',
              lastError: 'CASE WHEN w.set_error THEN w.last_error::jsonb ELSE j.last_error END',
            })}
        FROM w
        WHERE j.id = w.id AND j.state = w.from_state
          AND CASE w.lease_check
                WHEN ${LeaseCheck.ignore} THEN true
                WHEN ${LeaseCheck.none} THEN j.lease_token IS NULL
                ELSE j.lease_token = w.token
              END
        RETURNING w.ord, j.id, j.queue, j.state
      ),
      ${afterMoved}`,

    /**
     * The write of a batch whose steps are alike (one from, one to, each under
     * its lease, one event and worker, no new runAt; most often a batch of
     * completions), the shared values sent once: $1 ids, $2 tokens, $3 from,
     * $4 to (not the leased state), $5 event and $6 worker as JSON text (null:
     * no history entry), $7 results (JSON text; null: none has one), $8
     * attempts (null: keep), $9 last errors (JSON text, null for none). The
     * same effect as the write above, with fewer arrays to read and no
     * per-row CASE.
     */
    writeAlike: `
      WITH w AS (
        SELECT * FROM unnest($1::bigint[], $2::text[], $7::text[], $8::int[], $9::text[]) WITH ORDINALITY AS w(id, token, result, attempt, last_error, ord)
      ),
      moved AS (
        UPDATE ${jobs} j
        SET state = $4::text,
            attempt = coalesce(w.attempt, j.attempt),
            last_error = w.last_error::jsonb,
            result = coalesce(w.result::json, j.result),
            lease_token = NULL,
            lease_expires_at = NULL,
            updated_at = now(),
            history = ${withWrittenStep('j', { from: '$3::text', to: '$4::text', event: '$5::text', attempt: 'coalesce(w.attempt, j.attempt)', worker: '$6::text', lastError: 'w.last_error::jsonb' })}
        FROM w
        WHERE j.id = w.id AND j.state = $3::text AND j.lease_token = w.token
        RETURNING w.ord, j.id, j.queue, j.state
      ),
      ${afterMoved}`,

    /**
     * One keyed job whose key nobody holds, in one statement: the key row is
     * claimed first with the job's id to be, and the job is inserted only if
     * the claim took, so nothing is written when the key is held (or being
     * claimed). No row back: decide it with insert_keyed. $1 name, $2 queue,
     * $3 input, $4 priority, $5 runAt ms, $6 maxRetries, $7 timeoutMs, $8
     * group, $9 key, $10 keepFor ms, $11 trace context.
     */
    insertKeyFree: `
      WITH claim AS (
        INSERT INTO ${pg.escapeIdentifier(schema)}.job_keys (name, key, job_id, keep_for_ms)
        VALUES ($1, $9, nextval(pg_get_serial_sequence('${pg.escapeIdentifier(schema)}.jobs', 'id')), $10)
        ON CONFLICT (name, key) DO NOTHING
        RETURNING job_id)
      INSERT INTO ${jobs} (id, name, queue, input, priority, run_at, max_retries, timeout_ms, "group", trace_context)
      OVERRIDING SYSTEM VALUE
      SELECT claim.job_id, $1, $2, $3::json, $4, ${fromEpochMs('$5::float8')}, $6, $7, $8, $11 FROM claim
      RETURNING id::text AS id, ${epochMs('created_at')} AS created_at`,

    /** Jobs with unique keys: the insert statement's arrays, then keys, keepFor, onConflict, debounce, the chart's states, trace contexts (see job-keys.ts). */
    insertKeyed: `SELECT * FROM ${pg.escapeIdentifier(schema)}.insert_keyed($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,

    /** $1 job id, $2 waiter. Registers a wait, or keeps the one there. */
    addWaiter: `INSERT INTO ${waiters} (job_id, waiter) VALUES ($1, $2) ON CONFLICT DO NOTHING`,

    /** $1 job id, $2 waiter. */
    removeWaiter: `DELETE FROM ${waiters} WHERE job_id = $1 AND waiter = $2`,

    /**
     * $1 ids, $2 tokens, $3 lease ms. Answers the ordinals still held. A row
     * another transaction is writing (most often this worker's own outcome
     * write) is skipped, never waited for: two statements waiting on each
     * other's rows deadlock. It counts as held if the last committed version
     * says so; the next heartbeat extends it.
     */
    extend: `
      WITH l AS (SELECT * FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS l(id, token, ord)),
      free AS (
        SELECT j.id, l.ord FROM ${jobs} j JOIN l ON j.id = l.id
        WHERE j.state = ${LEASED} AND j.lease_token = l.token
        FOR UPDATE OF j SKIP LOCKED
      ),
      extended AS (
        UPDATE ${jobs} j
        SET lease_expires_at = now() + $3::float8 * interval '1 millisecond'
        FROM free WHERE j.id = free.id
        RETURNING j.id
      )
      SELECT f.ord FROM free f WHERE f.id IN (SELECT id FROM extended)
      UNION ALL
      SELECT l.ord FROM l
      WHERE l.id NOT IN (SELECT id FROM free)
        AND EXISTS (SELECT FROM ${jobs} j WHERE j.id = l.id AND j.state = ${LEASED} AND j.lease_token = l.token)`,

    get: `SELECT ${jobColumns('j')} FROM ${jobs} j WHERE j.id = $1`,

    history: `SELECT ${epochMs('created_at')} AS created_at, history FROM ${jobs} WHERE id = $1`,

    expired: `
      SELECT ${jobColumns('j')} FROM ${jobs} j
      WHERE j.state = ${LEASED} AND j.lease_expires_at < now()
      ORDER BY j.lease_expires_at, j.id
      LIMIT $1`,

    /** $1 after this id, $2 page size plus one (to know whether another page follows). */
    list: byState((state) =>
      state === jobRules.leased
        ? // The few running rows through jobs_lease_deadline, then sorted: walking the primary key in
          // order, as the planner would for the LIMIT, reads every other row on the way.
          `
      WITH running AS MATERIALIZED (
        SELECT ${jobColumns('j')}, j.id AS seq FROM ${jobs} j WHERE j.state = ${LEASED} AND j.id > $1::bigint
      )
      SELECT * FROM running ORDER BY seq LIMIT $2`
        : `
      SELECT ${jobColumns('j')} FROM ${jobs} j
      WHERE j.state = '${state}' AND j.id > $1::bigint
      ORDER BY j.id
      LIMIT $2`,
    ),

    /** $1 updated before this, in ms. */
    purge: byState(
      (state) => `
      WITH gone AS (DELETE FROM ${jobs} WHERE state = '${state}' AND updated_at < ${fromEpochMs('$1::float8')} RETURNING id, queue, state),
      ${removedWithJobs(schema, 'gone').join(',\n      ')}
      SELECT count(*)::int AS deleted FROM gone`,
    ),

    /** The listed states through jobs_listed, running through jobs_lease_deadline, completed from its counters: no completed row is read. */
    counts: `
      SELECT state, count(*)::int AS n FROM ${jobs} WHERE state IN (${sqlList(LISTED_STATES)}) GROUP BY state
      UNION ALL
      SELECT ${LEASED}, count(*)::int FROM ${jobs} WHERE state = ${LEASED}
      UNION ALL
      SELECT state, sum(n)::int FROM ${countsTable(schema)} GROUP BY state`,

    tryLock: `SELECT pg_try_advisory_lock(${lockKey('$1')}) AS locked`,

    unlock: `SELECT pg_advisory_unlock(${lockKey('$1')})`,
  };
}

export type Statements = ReturnType<typeof statements>;

/** A statement with a name, so each connection parses and plans it once. */
export interface Named {
  name: string;
  text: string;
}

type NamedStatements = { [K in keyof Statements]: Statements[K] extends string ? Named : Record<JobState, Named> };

/** A short tag of the schema for statement names. */
export const schemaTag = (schema: string) => createHash('sha1').update(schema).digest('hex').slice(0, 12);

/**
 * Names every statement after its schema, so stores on different schemas
 * sharing one pool never claim one name for two texts.
 */
export function named(schema: string): NamedStatements {
  const tag = schemaTag(schema);
  const name = (key: string, text: string): Named => ({ name: `dispatch_${tag}_${key}`, text });
  const out: Record<string, Named | Record<string, Named>> = {};
  for (const [key, text] of Object.entries(statements(schema))) {
    out[key] =
      typeof text === 'string'
        ? name(key, text)
        : Object.fromEntries(Object.entries(text).map(([state, t]) => [state, name(`${key}_${state}`, t)]));
  }
  return out as NamedStatements;
}
