import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobKeyConflictError } from '../../../src/index.js';
import { type PostgresStore } from '../../../src/postgres.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { databaseUrl, openStore } from './database.js';

const keyed = (input: unknown, onConflict: 'ignore' | 'error' = 'ignore') =>
  newJob({ input, unique: { key: 'order-42', keepForMs: 0, onConflict, debounce: false } });

describe("postgres store: a unique key claimed inside the caller's transaction", () => {
  let store: PostgresStore;
  let cleanup: () => Promise<void>;
  let client: pg.Client;

  beforeEach(async () => {
    ({ store, cleanup } = await openStore({ onError: () => undefined }));
    client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
  });

  afterEach(async () => {
    await client.end();
    await cleanup();
  });

  /** Whether `promise` is still unsettled after a while. */
  const pending = (promise: Promise<unknown>) =>
    Promise.race([promise.then(() => false, () => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 300))]);

  it('makes another enqueue of the key wait for the commit, and then answers the committed job', async () => {
    await client.query('BEGIN');
    const [mine] = await store.insert([keyed({ n: 1 })], { client });
    const other = store.insert([keyed({ n: 2 })]);
    expect(await pending(other)).toBe(true);
    await client.query('COMMIT');
    expect(await other).toMatchObject([{ id: mine!.id, input: { n: 1 }, duplicate: 'kept' }]);
    expect((await store.counts()).pending).toBe(1);
  });

  it('hands the key to the waiting enqueue when the transaction rolls back', async () => {
    await client.query('BEGIN');
    const [mine] = await store.insert([keyed({ n: 1 })], { client });
    const other = store.insert([keyed({ n: 2 })]);
    expect(await pending(other)).toBe(true);
    await client.query('ROLLBACK');
    const [theirs] = await other;
    expect(theirs).toMatchObject({ input: { n: 2 } });
    expect(theirs!.duplicate).toBeUndefined();
    expect(theirs!.id).not.toBe(mine!.id);
    expect((await store.counts()).pending).toBe(1);
  });

  it("fails the caller's transaction on an 'error' conflict, as any failed statement does", async () => {
    const [held] = await store.insert([keyed({ n: 1 })]);
    await client.query('BEGIN');
    await store.insert([newJob({ input: 'before' })], { client });
    await expect(store.insert([keyed({ n: 2 }, 'error')], { client })).rejects.toMatchObject({ jobId: held!.id, constructor: JobKeyConflictError });
    await expect(client.query('SELECT 1')).rejects.toThrow(/aborted/);
    await client.query('ROLLBACK');
    expect((await store.counts()).pending).toBe(1);
  });
});
