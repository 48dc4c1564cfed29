import pg from 'pg';
import { lockKey } from './advisory-lock.js';
import { epochMs, fromEpochMs, jobColumns } from './rows.js';

const LEASABLE = `state IN ('pending', 'retrying')`;
/** The one order, on the table and on any relation carrying its columns. */
const ORDER = 'priority DESC, run_at, id';

/** A lease token check in a write: none asked, none held, or this one held. */
export const LeaseCheck = { ignore: 0, none: 1, held: 2 } as const;

/**
 * Every statement the store runs, for one schema. Times that decide things
 * (is a job due, has a lease run out) are the database's `now()`, so workers
 * whose clocks differ still agree.
 */
export function statements(schema: string) {
  const jobs = `${pg.escapeIdentifier(schema)}.jobs`;
  return {
    /** $1 names, $2 queues, $3 inputs (JSON text), $4 priorities, $5 runAt ms, $6 maxRetries, $7 timeoutMs. */
    insert: `
      WITH inserted AS (
        INSERT INTO ${jobs} (name, queue, input, priority, run_at, max_retries, timeout_ms)
        SELECT n.name, n.queue, n.input::json, n.priority, ${fromEpochMs('n.run_at')}, n.max_retries, n.timeout_ms
        FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::float8[], $6::int[], $7::int[])
          WITH ORDINALITY AS n(name, queue, input, priority, run_at, max_retries, timeout_ms, ord)
        -- Identities are drawn in this order, so ids follow the caller's order.
        ORDER BY n.ord
        RETURNING *
      )
      SELECT ${jobColumns('j')} FROM inserted j ORDER BY j.id`,

    /**
     * $1 capped queues, $2 their room, $3 limit, $4 lease ms. One statement:
     * the best due rows of each capped queue (at most its room) and of all
     * other queues are locked with SKIP LOCKED while walking the index in the
     * one order, the best `limit` of those become `running`. Postgres refuses
     * FOR UPDATE next to a window function, so per-queue caps are a LIMIT in
     * a lateral subquery per capped queue instead of a row_number().
     */
    lease: `
      WITH room AS (
        SELECT * FROM unnest($1::text[], $2::int[]) AS r(queue, room)
      ),
      capped AS (
        SELECT c.* FROM room CROSS JOIN LATERAL (
          SELECT id, priority, run_at, state FROM ${jobs}
          WHERE ${LEASABLE} AND run_at <= now() AND queue = room.queue
          ORDER BY ${ORDER}
          LIMIT least(room.room, $3)
          FOR UPDATE SKIP LOCKED
        ) c
      ),
      uncapped AS (
        SELECT id, priority, run_at, state FROM ${jobs}
        WHERE ${LEASABLE} AND run_at <= now() AND queue <> ALL ($1::text[])
        ORDER BY ${ORDER}
        LIMIT $3
        FOR UPDATE SKIP LOCKED
      ),
      chosen AS (
        SELECT id, state FROM (SELECT * FROM capped UNION ALL SELECT * FROM uncapped) c
        ORDER BY ${ORDER}
        LIMIT $3
      ),
      leased AS (
        UPDATE ${jobs} j
        SET state = 'running', attempt = j.attempt + 1, lease_token = gen_random_uuid()::text,
            lease_expires_at = now() + $4::float8 * interval '1 millisecond', updated_at = now()
        FROM chosen c
        WHERE j.id = c.id
        RETURNING ${jobColumns('j')}, c.state AS leased_from, j.id AS seq
      ),
      next AS (
        SELECT CASE WHEN (SELECT count(*) FROM leased) < $3 THEN (
          SELECT ${epochMs('min(run_at)')} FROM ${jobs} WHERE ${LEASABLE} AND run_at > now()
        ) END AS next_run_at
      )
      -- One row even when nothing was leased, to carry next_run_at.
      SELECT l.*, n.next_run_at FROM next n LEFT JOIN leased l ON true
      ORDER BY l.priority DESC, l.run_at, l.seq`,

    /**
     * One compare-and-set per element: $1 ids, $2 from, $3 to, $4 lease check,
     * $5 tokens, $6 attempts (null: keep), $7 runAt ms (null: keep), $8 whether
     * to set last_error, $9 last errors (JSON text). Answers the ordinals applied.
     */
    write: `
      WITH w AS (
        SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::text[], $6::int[], $7::float8[], $8::bool[], $9::text[])
          WITH ORDINALITY AS w(id, from_state, to_state, lease_check, token, attempt, run_at, set_error, last_error, ord)
      )
      UPDATE ${jobs} j
      SET state = w.to_state,
          attempt = coalesce(w.attempt, j.attempt),
          run_at = coalesce(${fromEpochMs('w.run_at')}, j.run_at),
          last_error = CASE WHEN w.set_error THEN w.last_error::jsonb ELSE j.last_error END,
          -- Leaving running clears the lease.
          lease_token = CASE WHEN w.to_state = 'running' THEN j.lease_token END,
          lease_expires_at = CASE WHEN w.to_state = 'running' THEN j.lease_expires_at END,
          updated_at = now()
      FROM w
      WHERE j.id = w.id AND j.state = w.from_state
        AND CASE w.lease_check
              WHEN ${LeaseCheck.ignore} THEN true
              WHEN ${LeaseCheck.none} THEN j.lease_token IS NULL
              ELSE j.lease_token = w.token
            END
      RETURNING w.ord`,

    /** $1 ids, $2 tokens, $3 lease ms. Answers the ordinals still held. */
    extend: `
      UPDATE ${jobs} j
      SET lease_expires_at = now() + $3::float8 * interval '1 millisecond'
      FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS l(id, token, ord)
      WHERE j.id = l.id AND j.state = 'running' AND j.lease_token = l.token
      RETURNING l.ord`,

    get: `SELECT ${jobColumns('j')} FROM ${jobs} j WHERE j.id = $1`,

    expired: `
      SELECT ${jobColumns('j')} FROM ${jobs} j
      WHERE j.state = 'running' AND j.lease_expires_at < now()
      ORDER BY j.lease_expires_at, j.id
      LIMIT $1`,

    /** $1 state, $2 after this id, $3 page size plus one (to know whether another page follows). */
    list: `
      SELECT ${jobColumns('j')} FROM ${jobs} j
      WHERE j.state = $1 AND j.id > $2::bigint
      ORDER BY j.id
      LIMIT $3`,

    purge: `DELETE FROM ${jobs} WHERE state = $1 AND updated_at < ${fromEpochMs('$2::float8')}`,

    counts: `SELECT state, count(*)::int AS n FROM ${jobs} GROUP BY state`,

    tryLock: `SELECT pg_try_advisory_lock(${lockKey('$1')}) AS locked`,

    unlock: `SELECT pg_advisory_unlock(${lockKey('$1')})`,
  };
}

export type Statements = ReturnType<typeof statements>;
