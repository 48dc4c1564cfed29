import pg from 'pg';
import { jobRules, sqlList } from '../contract.js';
import { epochMs, fromEpochMs, jobColumns } from './rows.js';
import { countsTable } from './completed-counts.js';
import { LISTED_STATES } from './listed-states.js';

const LEASED = `'${jobRules.leased}'`;
const leasable = (t: string) => `${t}.state IN (${sqlList(jobRules.leaseFrom)})`;

/** A notification on the jobs channel saying queue settings changed: workers wake and re-read them. */
export const QUEUES_PAYLOAD = 'queues:';

const queueColumns = `name, paused, concurrency, rate_max, rate_per_ms::float8 AS rate_per_ms, group_concurrency, ${epochMs('updated_at')} AS updated_at`;

/** The statements of queue settings, for one schema. */
export function queueStatements(schema: string) {
  const s = pg.escapeIdentifier(schema);
  const jobs = `${s}.jobs`;
  const queues = `${s}.queues`;
  const starts = `${s}.queue_starts`;
  const channel = pg.escapeLiteral(`${schema}.jobs`);

  return {
    /**
     * $1 name; then for each setting whether it changes and its value: $2/$3 paused,
     * $4/$5 concurrency, $6/$7/$8 rate max and per ms, $9/$10 group concurrency. One
     * statement, so two changes at once each keep the other's fields. Notifies every
     * process: a resume or a looser limit may let waiting jobs go.
     */
    configure: `
      WITH saved AS (
        INSERT INTO ${queues} AS q (name, paused, concurrency, rate_max, rate_per_ms, group_concurrency)
        VALUES ($1, coalesce(CASE WHEN $2 THEN $3::boolean END, false), CASE WHEN $4 THEN $5::int END,
                CASE WHEN $6 THEN $7::int END, CASE WHEN $6 THEN $8::bigint END, CASE WHEN $9 THEN $10::int END)
        ON CONFLICT (name) DO UPDATE SET
          paused = CASE WHEN $2 THEN $3::boolean ELSE q.paused END,
          concurrency = CASE WHEN $4 THEN $5::int ELSE q.concurrency END,
          rate_max = CASE WHEN $6 THEN $7::int ELSE q.rate_max END,
          rate_per_ms = CASE WHEN $6 THEN $8::bigint ELSE q.rate_per_ms END,
          group_concurrency = CASE WHEN $9 THEN $10::int ELSE q.group_concurrency END,
          updated_at = now()
        RETURNING ${queueColumns}
      ),
      -- A queue that no longer has a rate limit keeps no log.
      forgotten AS (DELETE FROM ${starts} WHERE queue = $1 AND $6 AND $7::int IS NULL)
      SELECT saved.*, pg_notify(${channel}, '${QUEUES_PAYLOAD}' || $1) AS notified FROM saved`,

    all: `SELECT ${queueColumns} FROM ${queues} ORDER BY name`,

    /** The names of limited queues: the ones whose leases go through queue-control's locked path. */
    limited: `SELECT name FROM ${queues} WHERE limited`,

    /** As the store's counts: listed states through jobs_listed_queue, running through its index, completed from its counters. */
    countsByQueue: `
      SELECT queue, state, count(*)::int AS n FROM ${jobs} WHERE state IN (${sqlList(LISTED_STATES)}) GROUP BY queue, state
      UNION ALL
      SELECT queue, state, count(*)::int FROM ${jobs} WHERE state = ${LEASED} GROUP BY queue, state
      UNION ALL
      SELECT queue, state, sum(n)::int FROM ${countsTable(schema)} GROUP BY queue, state`,

    /** $1 name. Taken first in a limited lease: leases of one limited queue run one at a time. */
    lock: `SELECT ${queueColumns} FROM ${queues} WHERE name = $1 FOR UPDATE`,

    /**
     * $1 queue, $2 rate window ms (null: no rate limit). Read after the lock, in a snapshot
     * of its own, so every lease of the queue that committed before is counted. Running jobs
     * are found through jobs_lease_deadline, which holds running rows only.
     */
    state: `
      WITH t AS (SELECT clock_timestamp() AS now),
      pruned AS (
        DELETE FROM ${starts} x USING t
        WHERE x.queue = $1 AND $2::float8 IS NOT NULL AND x.started_at <= t.now - $2::float8 * interval '1 millisecond'
      ),
      window_ AS (
        SELECT coalesce(sum(x.n), 0)::int AS n, ${epochMs('min(x.started_at)')} AS oldest FROM ${starts} x, t
        WHERE x.queue = $1 AND $2::float8 IS NOT NULL AND x.started_at > t.now - $2::float8 * interval '1 millisecond'
      )
      SELECT (SELECT count(*)::int FROM ${jobs} j WHERE j.state = ${LEASED} AND j.queue = $1) AS running,
             w.n AS starts, w.oldest, ${epochMs('t.now')} AS now
      FROM t, window_ w`,

    /** $1 queue, $2 count, $3 at (ms): starts for the rate window. */
    recordStarts: `INSERT INTO ${starts} (queue, started_at, n) SELECT $1, ${fromEpochMs('$3::float8')}, $2::int WHERE $2::int > 0`,

    /**
     * $1 queue, $2 names, $3 how many, $4 group concurrency, $5 lease ms. Leases a queue with a
     * group concurrency, under its lock: the groups take turns (every group's first job in the
     * one order, then every group's second...), each within its room; jobs without a group
     * take turns as one more group. Groups are found by skipping through jobs_groups, and a
     * group's backlog is read no further than its room.
     */
    leaseGrouped: `
      WITH RECURSIVE groups AS (
        (SELECT j."group" FROM ${jobs} j WHERE ${leasable('j')} AND j."group" IS NOT NULL AND j.queue = $1 ORDER BY j."group" LIMIT 1)
        UNION ALL
        SELECT (
          SELECT j."group" FROM ${jobs} j
          WHERE ${leasable('j')} AND j."group" IS NOT NULL AND j.queue = $1 AND j."group" > g."group" ORDER BY j."group" LIMIT 1
        )
        FROM groups g WHERE g."group" IS NOT NULL
      ),
      busy AS (
        SELECT j."group", count(*)::int AS n FROM ${jobs} j
        WHERE j.state = ${LEASED} AND j.queue = $1 AND j."group" IS NOT NULL GROUP BY j."group"
      ),
      picked AS (
        SELECT d.* FROM groups g CROSS JOIN LATERAL (
          SELECT x.*, row_number() OVER (ORDER BY x.priority DESC, x.run_at, x.id) AS turn FROM (
            SELECT j.id, j.priority, j.run_at, j.state FROM ${jobs} j
            WHERE ${leasable('j')} AND j."group" IS NOT NULL AND j.queue = $1 AND j."group" = g."group"
              AND j.run_at <= now() AND j.name = ANY ($2::text[])
            ORDER BY j.priority DESC, j.run_at, j.id
            LIMIT greatest(0, least($3::int, $4::int - coalesce((SELECT b.n FROM busy b WHERE b."group" = g."group"), 0)))
          ) x
        ) d
        WHERE g."group" IS NOT NULL
        UNION ALL
        SELECT x.*, row_number() OVER (ORDER BY x.priority DESC, x.run_at, x.id) AS turn FROM (
          SELECT j.id, j.priority, j.run_at, j.state FROM ${jobs} j
          WHERE ${leasable('j')} AND j.queue = $1 AND j."group" IS NULL AND j.run_at <= now() AND j.name = ANY ($2::text[])
          ORDER BY j.priority DESC, j.run_at, j.id
          LIMIT $3::int
        ) x
      ),
      chosen AS (SELECT id, state FROM picked ORDER BY turn, priority DESC, run_at, id LIMIT $3::int),
      leased AS (
        UPDATE ${jobs} j
        SET state = ${LEASED}, attempt = j.attempt + ${jobRules.attemptsPerLease}, lease_token = (SELECT gen_random_uuid()::text),
            lease_expires_at = now() + $5::float8 * interval '1 millisecond', updated_at = now()
        -- Still waiting: a cancel may have come between the pick and here.
        WHERE j.id = ANY (ARRAY(SELECT id FROM chosen)) AND ${leasable('j')}
        RETURNING ${jobColumns('j')}, j.id AS seq
      )
      SELECT l.*, c.state AS leased_from FROM leased l JOIN chosen c ON c.id = l.seq
      ORDER BY l.priority DESC, l.run_at, l.seq`,
  };
}

export type QueueStatements = ReturnType<typeof queueStatements>;

/** The queue statements named after their schema, as `named` does for the others. */
export function namedQueueStatements(schema: string, tag: string): { [K in keyof QueueStatements]: { name: string; text: string } } {
  return Object.fromEntries(Object.entries(queueStatements(schema)).map(([key, text]) => [key, { name: `dispatch_${tag}_queues_${key}`, text }])) as {
    [K in keyof QueueStatements]: { name: string; text: string };
  };
}
