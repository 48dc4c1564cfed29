import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteStore, type Store } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { newJob } from '../../src/testing/store-jobs.js';
import { databaseUrl, dropSchema, freshSchema, sql } from './postgres/database.js';
import { tempDatabase } from './sqlite/temp-file.js';
import { until } from '../support/until.js';

/** Far longer than any test here waits: a watcher told in time was told by the signal, not a poll. */
const POLL_MS = 60_000;

interface Pair {
  /** The store that waits. */
  waiter: Store;
  /** Another connection to the same jobs, as another process would have. */
  other: Store;
  cleanup: () => Promise<void>;
}

const pairs: Record<string, () => Promise<Pair>> = {
  sqlite: async () => {
    const temp = tempDatabase('dispatch-rest-');
    const waiter = sqliteStore({ path: temp.path, pollInterval: POLL_MS });
    const other = sqliteStore({ path: temp.path, pollInterval: POLL_MS });
    await waiter.open();
    await other.open();
    return { waiter, other, cleanup: async () => temp.remove() };
  },
  postgres: async () => {
    const schema = freshSchema();
    const open = async () => {
      const store = postgresStore({ connectionString: databaseUrl(), schema, pollInterval: POLL_MS, onError: () => undefined });
      await store.open();
      return store;
    };
    const waiter = await open();
    return { waiter, other: await open(), cleanup: () => dropSchema(schema).then(() => undefined) };
  },
};

/** Resolves with how long after `since` the listener was first told, or rejects after `ms`. */
function toldWithin(ms: number) {
  let told: (at: number) => void;
  const promise = new Promise<number>((resolve, reject) => {
    told = resolve;
    setTimeout(() => reject(new Error(`not told within ${ms} ms`)), ms).unref();
  });
  return { listener: () => told(Date.now()), promise };
}

describe.each(Object.keys(pairs))('rest signal across connections: %s', (kind) => {
  let pair: Pair;
  afterEach(async () => {
    await pair.waiter.close();
    await pair.other.close();
    await pair.cleanup();
  });

  it('tells a watcher when another connection brings the job to rest, soon after', async () => {
    pair = await pairs[kind]!();
    const { waiter, other } = pair;
    const [job] = await other.insert([newJob()]);
    const told = toldWithin(5000);
    const stop = await waiter.watchRest!(job!.id, told.listener);
    const [leased] = (await other.lease({ limit: 1, queueRoom: {}, leaseMs: 30_000, names: ['job'] })).jobs;
    const completed = Date.now();
    expect(await other.write([{ id: job!.id, from: 'running', to: 'completed', token: leased!.leaseToken, resultJson: '7' }])).toEqual([true]);
    const at = await told.promise;
    expect(at - completed).toBeLessThan(2000);
    expect((await waiter.get(job!.id))!.result).toBe(7);
    stop();
  });

  it('keeps quiet about jobs that only moved, and about jobs nobody here waits on', async () => {
    pair = await pairs[kind]!();
    const { waiter, other } = pair;
    const [watched, unwatched] = await other.insert([newJob(), newJob()]);
    let told = 0;
    const stop = await waiter.watchRest!(watched!.id, () => told++);
    const leased = (await other.lease({ limit: 2, queueRoom: {}, leaseMs: 30_000, names: ['job'] })).jobs;
    const tokenOf = (id: string) => leased.find((j) => j.id === id)!.leaseToken;
    await other.write([
      { id: watched!.id, from: 'running', to: 'retrying', token: tokenOf(watched!.id), runAt: Date.now() + 60_000 },
      { id: unwatched!.id, from: 'running', to: 'completed', token: tokenOf(unwatched!.id) },
    ]);
    // Time for a signal to arrive, had one been sent: the SQLite watch settles within 200 ms.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(told).toBe(0);
    await other.write([{ id: watched!.id, from: 'retrying', to: 'cancelled' }]);
    await until(() => told > 0, 'the cancel to be told', 5000, 10);
    stop();
  });
});

describe('postgres: rest waiter rows', () => {
  const schemas: string[] = [];
  const stores: Store[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(schemas.splice(0).map(dropSchema));
  });

  const open = async (schema: string) => {
    const store = postgresStore({ connectionString: databaseUrl(), schema, onError: () => undefined });
    stores.push(store);
    await store.open();
    return store;
  };
  const waiterRows = (schema: string) =>
    sql<{ job_id: string }>(`SELECT job_id::text FROM ${pg.escapeIdentifier(schema)}.rest_waiters ORDER BY job_id, waiter`).then((rows) =>
      rows.map((r) => r.job_id),
    );

  it('keeps one row per waiting store, gone when the wait ends or the job comes to rest', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const [a, b] = [await open(schema), await open(schema)];
    const [first, second] = await a.insert([newJob(), newJob()]);
    const stopA1 = await a.watchRest!(first!.id, () => undefined);
    const stopA2 = await a.watchRest!(first!.id, () => undefined);
    await b.watchRest!(first!.id, () => undefined);
    const stopSecond = await a.watchRest!(second!.id, () => undefined);
    expect(await waiterRows(schema)).toEqual([first!.id, first!.id, second!.id]);

    // One of two listeners of store a going keeps its row; the last takes it.
    stopA1();
    stopSecond();
    await until(async () => (await waiterRows(schema)).length === 2, 'the ended waits to lose their rows', 5000, 10);
    expect(await waiterRows(schema)).toEqual([first!.id, first!.id]);
    stopA2();
    await until(async () => (await waiterRows(schema)).length === 1, 'the last wait of store a to lose its row', 5000, 10);

    // The write that brings the job to rest takes the rows left with it.
    const [leased] = (await a.lease({ limit: 1, queueRoom: {}, leaseMs: 30_000, names: ['job'] })).jobs;
    expect(leased!.id).toBe(first!.id);
    await a.write([{ id: first!.id, from: 'running', to: 'dlq', token: leased!.leaseToken }]);
    expect(await waiterRows(schema)).toEqual([]);
  });

  it('deletes the row of a wait that ends as the store closes, before its pool goes', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const store = await open(schema);
    const [job] = await store.insert([newJob()]);
    const stop = await store.watchRest!(job!.id, () => undefined);
    expect(await waiterRows(schema)).toEqual([job!.id]);
    stop();
    await store.close();
    expect(await waiterRows(schema)).toEqual([]);
  });
});
