import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/contract.js';
import { sqliteStore } from '../../src/index.js';
import { newJob, room } from '../../src/testing/store-jobs.js';
import { openStore, sql } from './postgres/database.js';
import { tempDatabase } from './sqlite/temp-file.js';

/** A keyed job run to completion, its key held past it for an hour. */
async function completedKeyed(store: Store, key: string): Promise<string> {
  await store.insert([newJob({ unique: { key, keepForMs: 3_600_000, onConflict: 'ignore', debounce: false } })]);
  const [job] = (await store.lease(room(1))).jobs;
  await store.write([{ id: job!.id, from: 'running', to: 'completed', token: job!.leaseToken }]);
  return job!.id;
}

// The key table is each durable store's own, so these read it directly: a deleted job's key row
// must go with it, by purge and by retention alike, or keys pile up forever.
describe('a deleted job takes its key row with it', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('on SQLite', async () => {
    const file = tempDatabase();
    const store = sqliteStore({ path: file.path });
    await store.open();
    cleanups.push(async () => {
      await store.close();
      file.remove();
    });
    const keys = () => {
      const db = new Database(file.path, { readonly: true });
      try {
        return (db.prepare('SELECT count(*) AS n FROM dispatch_job_keys').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    await completedKeyed(store, 'a');
    await completedKeyed(store, 'b');
    expect(keys()).toBe(2);
    expect(await store.purge('completed', Date.now() + 1)).toBe(2);
    expect(keys()).toBe(0);
    await completedKeyed(store, 'c');
    expect((await store.expire({ state: 'completed', before: Date.now() + 1, limit: 100, cursor: null })).deleted).toBe(1);
    expect(keys()).toBe(0);
  });

  it('on Postgres', async () => {
    const { store, schema, cleanup } = await openStore();
    cleanups.push(cleanup);
    const keys = async () => (await sql<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".job_keys`))[0]!.n;
    await completedKeyed(store, 'a');
    await completedKeyed(store, 'b');
    expect(await keys()).toBe(2);
    expect(await store.purge('completed', Date.now() + 1)).toBe(2);
    expect(await keys()).toBe(0);
    await completedKeyed(store, 'c');
    expect((await store.expire({ state: 'completed', before: Date.now() + 1, limit: 100, cursor: null })).deleted).toBe(1);
    expect(await keys()).toBe(0);
  });
});
