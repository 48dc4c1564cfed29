import type pg from 'pg';
import { StoreError } from '../contract.js';
import type { Named, named } from './statements.js';

/**
 * Connections warmed when the store opens: as many as a worker uses at once
 * (an insert, a lease with its next-due question, an outcome write), so its
 * first jobs find them ready. The pool may grow past them under load.
 */
export const WARM_CONNECTIONS = 4;

/** Held outside the work: the LISTEN connection and a duty's lock. */
const HELD = 2;

const NONE = '{}';

/** The longest a warm-up statement waits for a table lock before the warm-up gives up. */
const LOCK_TIMEOUT_MS = 100;

/**
 * The statements on the path of every job, each with values that match no
 * row: the server loads the tables' and indexes' descriptions and compiles
 * the insert trigger (none of which it shares between connections). A new
 * connection otherwise pays this on the first jobs it carries: a first lease
 * took 14 to 18 ms here, 3 to 4 ms after these.
 */
export function warmUps(sql: ReturnType<typeof named>, origin: string): Array<{ statement: Named; values: unknown[] }> {
  const lease = [[], [], 1, 1, [], null, null, null];
  const columns = [NONE, NONE, NONE, NONE, NONE, NONE, NONE, null, null];
  return [
    { statement: sql.lease, values: lease },
    { statement: sql.leaseCapped, values: lease },
    { statement: sql.nextRunAt, values: [[], null] },
    { statement: sql.insertTagged, values: [...columns, origin] },
    { statement: sql.insertQuiet, values: columns },
    { statement: sql.write, values: [NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, NONE, null, null, null] },
    { statement: sql.writeAlike, values: [NONE, NONE, 'running', 'completed', null, null, null, NONE, NONE] },
    { statement: sql.extend, values: [NONE, NONE, 1] },
  ];
}

/**
 * Opens up to WARM_CONNECTIONS of the pool's connections at once (fewer when
 * its max leaves less beside the held ones) and runs the warm-ups on each. A
 * failure is told to `onError` and does not fail the open: the store works
 * without it, its first jobs only slower.
 */
export async function warmConnections(
  pool: pg.Pool,
  warm: ReadonlyArray<{ statement: Named; values: unknown[] }>,
  onError: (error: unknown) => void,
): Promise<void> {
  const max = (pool as { options?: pg.PoolConfig }).options?.max ?? 10;
  const count = Math.max(1, Math.min(WARM_CONNECTIONS, max - HELD));
  // All checked out together, so they are distinct connections.
  const clients = await Promise.allSettled(Array.from({ length: count }, () => pool.connect()));
  await Promise.all(
    clients.map(async (taken) => {
      if (taken.status === 'rejected') return onError(new StoreError('postgres: warming a connection failed', { cause: taken.reason }));
      const client = taken.value;
      let failed: unknown = null;
      try {
        // In a transaction rolled back, and never waiting long for a lock: a table another transaction
        // holds (a maintenance lock, a long migration) fails the warm-up instead of holding up open().
        await client.query(`BEGIN; SET LOCAL lock_timeout = '${LOCK_TIMEOUT_MS}ms'`);
        // Unnamed, so no plan is kept: one made now, on a table that may be empty, would stay with the
        // connection until the table is next analyzed (a lease planned so scanned the whole table for
        // its update: 7,300 jobs/s against 24,000 at concurrency 50).
        for (const { statement, values } of warm) await client.query(statement.text, values);
        await client.query('ROLLBACK');
      } catch (error) {
        failed = error;
        onError(new StoreError('postgres: warming a connection failed', { cause: error }));
      } finally {
        // A connection left in an unknown state is closed, not returned.
        client.release(failed instanceof Error ? failed : undefined);
      }
    }),
  );
}
