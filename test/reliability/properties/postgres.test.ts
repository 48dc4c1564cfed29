import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { PostgresStore } from '../../../src/postgres.js';
import { databaseUrl, openStore } from '../../store/postgres/database.js';
import { checkStoreAgainstChart } from './store-properties.js';

describe('postgres store: random operations against the job chart', () => {
  let store: PostgresStore;
  let cleanup: () => Promise<void>;
  // A connection of the test's own, to empty the table between runs and move its times.
  let raw: pg.Client;

  beforeAll(async () => {
    ({ store, cleanup } = await openStore());
    raw = new pg.Client({ connectionString: databaseUrl() });
    await raw.connect();
  });

  afterAll(async () => {
    await raw.end();
    await cleanup();
  });

  it('keeps every job where the chart puts it, through enqueue, lease, writes, reaps, stale writers and clock jumps', async () => {
    const jobs = `${pg.escapeIdentifier(store.schema)}.jobs`;
    // The counters of completed jobs go with the rows they count.
    const counters = `${pg.escapeIdentifier(store.schema)}.state_counts`;
    await checkStoreAgainstChart(
      {
        // Postgres reads its own now(): a jump moves every stored time back instead.
        shiftsStoredTimes: true,
        fresh: async () => {
          await raw.query(`TRUNCATE ${jobs}, ${counters}`);
          return {
            store,
            now: Date.now,
            jump: async (ms) => {
              await raw.query(
                `UPDATE ${jobs} SET run_at = run_at - $1 * interval '1 millisecond', lease_expires_at = lease_expires_at - $1 * interval '1 millisecond'`,
                [ms],
              );
            },
          };
        },
      },
      { numRuns: 60, maxOps: 40 },
    );
  }, 90_000);
});
