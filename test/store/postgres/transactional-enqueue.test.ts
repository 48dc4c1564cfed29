import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, StoreConfigError, StoreError } from '../../../src/index.js';
import { type PostgresStore } from '../../../src/postgres.js';
import { deferred } from '../../support/harness.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { databaseUrl, openStore } from './database.js';

describe("postgres store: enqueue inside the caller's transaction", () => {
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

  it('makes the job visible to others only once the transaction commits', async () => {
    await client.query('BEGIN');
    const [job] = await store.insert([newJob({ input: { order: 42 } })], { client });
    // The caller's own connection sees it; the store's connections do not, and cannot lease it.
    const own = await client.query('SELECT count(*)::int AS n FROM ' + pg.escapeIdentifier(store.schema) + '.jobs WHERE id = $1', [job!.id]);
    expect(own.rows[0].n).toBe(1);
    expect(await store.get(job!.id)).toBeNull();
    expect((await store.lease({ limit: 10, queueRoom: {}, leaseMs: 30_000, names: ['job'] })).jobs).toEqual([]);
    await client.query('COMMIT');
    expect(await store.get(job!.id)).toMatchObject({ state: 'pending', input: { order: 42 } });
  });

  it('leaves no job behind when the transaction rolls back', async () => {
    await client.query('BEGIN');
    const jobs = await store.insert([newJob(), newJob()], { client });
    await client.query('ROLLBACK');
    for (const job of jobs) expect(await store.get(job.id)).toBeNull();
    expect((await store.counts()).pending).toBe(0);
  });

  it('runs a job enqueued through the dispatcher only after the commit', async () => {
    const ran = deferred<string>();
    const job = defineJob({ name: 'after-commit', input: z.object({ order: z.number() }), handler: (_i, ctx) => ran.resolve(ctx.job.id) });
    const dispatcher = createDispatcher({ store }).register(job);
    await dispatcher.start();
    await store.listening();
    await client.query('BEGIN');
    const record = await dispatcher.enqueue(job, { order: 7 }, { client });
    // The dispatcher woke at once and looked: the job was not there to take.
    expect(await store.get(record.id)).toBeNull();
    await client.query('COMMIT');
    // The commit's notification wakes the worker.
    expect(await ran.promise).toBe(record.id);
    await dispatcher.stop();
  });

  it("fails the caller's transaction, not the store, when the insert fails there", async () => {
    await client.query('BEGIN');
    await expect(client.query('SELECT 1/0')).rejects.toThrow();
    const failure = await store.insert([newJob()], { client }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StoreError);
    expect((failure as StoreError).cause).toMatchObject({ code: '25P02' }); // in_failed_sql_transaction
    await client.query('ROLLBACK');
    expect((await store.insert([newJob()]))).toHaveLength(1);
  });

  it('refuses a client that cannot run queries', async () => {
    const refusal = await store.insert([newJob()], { client: { notAClient: true } }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(StoreConfigError);
    expect(refusal).toMatchObject({ field: 'client' });
  });
});
