import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Dispatcher, StoreError } from '../../../src/index.js';
import { postgresStore, type PostgresStore } from '../../../src/postgres.js';
import { databaseUrl, openStore, sql } from '../../store/postgres/database.js';
import { deferred } from '../../support/harness.js';
import { until } from '../../support/until.js';

/**
 * A connection cut in the middle of a statement: another connection holds a
 * lock the statement needs, so it is surely on the server and waiting when
 * its backend is terminated.
 */
describe('postgres faults: a connection cut mid-statement', () => {
  let store: PostgresStore;
  let schema: string;
  let cleanup: () => Promise<void>;
  let locker: pg.Client;
  let worker: Dispatcher | null = null;
  const errors: Array<{ error: unknown; context: string }> = [];

  beforeEach(async () => {
    errors.length = 0;
    ({ store, schema, cleanup } = await openStore());
    locker = new pg.Client({ connectionString: databaseUrl() });
    await locker.connect();
  });

  afterEach(async () => {
    await locker.end();
    await worker?.stop({ grace: 0 });
    worker = null;
    await cleanup();
  });

  const table = () => `${pg.escapeIdentifier(schema)}.jobs`;

  /** A worker on a store of its own, as another process would have. */
  async function startWorker(job: ReturnType<typeof defineJob>, options: Parameters<typeof createDispatcher>[0] = {}): Promise<void> {
    worker = createDispatcher({
      store: postgresStore({ connectionString: databaseUrl(), schema, migrate: false, onError: () => undefined }),
      onError: (error, context) => errors.push({ error, context }),
      ...options,
    }).register(job);
    await worker.start();
  }

  /**
   * Waits for statements stuck behind the locker's locks and terminates their
   * connections. Watched from outside the locker's transaction, which would
   * see one snapshot of pg_stat_activity throughout.
   */
  async function cutWaiting(): Promise<number[]> {
    const [{ pid }] = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
    let waiting: Array<{ pid: number }> = [];
    await until(async () => {
      waiting = await sql('SELECT pid FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))', [pid]);
      return waiting.length > 0;
    }, 'a statement to wait for the lock');
    for (const { pid: victim } of waiting) await sql('SELECT pg_terminate_backend($1)', [victim]);
    return waiting.map((w) => w.pid);
  }

  it('during a lease: the lease rolls back, the worker leases again, and every job runs once', async () => {
    const runs = new Map<string, number>();
    const job = defineJob({ name: 'once', input: z.object({ n: z.number() }), handler: (_input, ctx) => void runs.set(ctx.job.id, (runs.get(ctx.job.id) ?? 0) + 1) });
    const ids = (await createDispatcher({ store }).register(job).enqueueMany(job, [0, 1, 2, 3, 4].map((n) => ({ n })))).map((j) => j.id);
    // Locking takes a row lock on every row it leases: a table lock in EXCLUSIVE mode stops it (plain reads go on).
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${table()} IN EXCLUSIVE MODE`);
    await startWorker(job);
    // The one statement that waits is the lease; the worker says so when it fails.
    expect(await cutWaiting()).toHaveLength(1);
    await locker.query('ROLLBACK');

    await until(async () => (await store.counts()).completed === ids.length, 'every job to complete');
    expect([...runs.values()]).toEqual(ids.map(() => 1));
    for (const id of ids) expect(await store.get(id)).toMatchObject({ state: 'completed', attempt: 1, lastError: null });
    expect(errors.map((e) => e.context)).toEqual(['leasing jobs']);
    expect(errors[0]!.error).toBeInstanceOf(StoreError);
  });

  it('during a completion write: the write is tried again on a fresh connection and the job completes, once', async () => {
    const release = deferred();
    const started = deferred();
    let runs = 0;
    const job = defineJob({
      name: 'held',
      input: z.object({}),
      handler: async () => {
        runs++;
        started.resolve();
        if (runs === 1) await release.promise;
      },
    });
    const { id } = await createDispatcher({ store }).register(job).enqueue(job, {});
    await startWorker(job, { lease: '1500ms', heartbeat: '500ms', reapInterval: '200ms' });
    await started.promise;
    // The row is locked: the completion write (and any heartbeat) queues behind the lock.
    await locker.query('BEGIN');
    await locker.query(`SELECT id FROM ${table()} WHERE id = $1 FOR UPDATE`, [id]);
    release.resolve();
    await cutWaiting();
    await locker.query('ROLLBACK');

    await until(async () => (await store.get(id))?.state === 'completed', 'the job to complete');
    // The cut write failed once; the write buffer's retry landed it under the same lease.
    expect(errors.map((e) => e.context)).not.toContain(`writing job ${id} running -> completed`);
    expect(runs).toBe(1);
    expect(await store.get(id)).toMatchObject({ state: 'completed', attempt: 1, lastError: null });
  });
});
