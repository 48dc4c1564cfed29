import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { type SqliteStore, sqliteStore } from '../../../src/index.js';
import { tempDatabase } from '../../store/sqlite/temp-file.js';
import { checkStoreAgainstChart } from './store-properties.js';

describe('sqlite store: random operations against the job chart', () => {
  const temp = tempDatabase();
  let store: SqliteStore;
  // A plain connection of the test's own, to empty the file between runs and move its times.
  let raw: Database.Database;

  beforeAll(async () => {
    store = sqliteStore({ path: temp.path });
    await store.open();
    raw = new Database(temp.path);
  });

  afterAll(async () => {
    raw.close();
    await store.close();
    temp.remove();
  });

  it('keeps every job where the chart puts it, through enqueue, lease, writes, reaps, stale writers and clock jumps', async () => {
    const empty = raw.prepare('DELETE FROM dispatch_jobs');
    const shift = raw.prepare('UPDATE dispatch_jobs SET run_at = run_at - @ms, lease_expires_at = lease_expires_at - @ms');
    await checkStoreAgainstChart(
      {
        // SQLite reads Date.now(): a jump moves every stored time back instead.
        shiftsStoredTimes: true,
        fresh: async () => {
          empty.run();
          return { store, now: Date.now, jump: async (ms) => void shift.run({ ms }) };
        },
      },
      { numRuns: 100, maxOps: 40 },
    );
  }, 60_000);
});
