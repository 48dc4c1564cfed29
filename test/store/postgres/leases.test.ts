import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PostgresStore, postgresStore } from '../../../src/postgres.js';
import { deferred } from '../../support/harness.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { holdDuty } from '../../../src/testing/store-jobs.js';
import { databaseUrl, openStore, sql } from './database.js';
import { until } from '../../support/until.js';

const room = (limit: number, leaseMs = 30_000) => ({ limit, queueRoom: {}, leaseMs, names: ['job'] });

describe('postgres store: leases, reaping and duties across processes', () => {
  let store: PostgresStore;
  let other: PostgresStore;
  let cleanup: () => Promise<void>;
  let schema: string;

  beforeEach(async () => {
    ({ store, schema, cleanup } = await openStore({ onError: () => undefined }));
    other = postgresStore({ connectionString: databaseUrl(), schema, onError: () => undefined });
    await other.open();
  });

  afterEach(async () => {
    await other.close();
    await cleanup();
  });

  it('lets a stale worker lose every write once the reaper has returned its job', async () => {
    const [job] = await store.insert([newJob()]);
    const [held] = (await store.lease(room(1, 50))).jobs;
    // Another process's reaper finds the lease run out by the database's clock and returns the job.
    await until(async () => (await other.expired(10)).some((j) => j.id === job!.id), 'the lease to expire');
    expect(await other.write([{ id: job!.id, from: 'running', to: 'pending', token: held!.leaseToken, attempt: 1 }])).toEqual([true]);
    // The slow worker comes back: its heartbeat and its completion both lose.
    expect(await store.extend([{ id: job!.id, token: held!.leaseToken! }], 30_000)).toEqual([false]);
    expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: held!.leaseToken }])).toEqual([false]);
    const [again] = (await other.lease(room(1))).jobs;
    expect(again).toMatchObject({ id: job!.id, attempt: 2, leasedFrom: 'pending' });
    expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: held!.leaseToken }])).toEqual([false]);
    expect(await other.write([{ id: job!.id, from: 'running', to: 'completed', token: again!.leaseToken }])).toEqual([true]);
  });

  it('extends around a row another transaction is writing: it does not wait (a deadlock waits there), it counts it held', async () => {
    await store.insert([newJob(), newJob()]);
    const [a, b] = (await store.lease(room(2, 5_000))).jobs;
    const writer = new pg.Client({ connectionString: databaseUrl() });
    await writer.connect();
    try {
      // Another transaction holds b's row, as a worker's outcome write does while it travels.
      await writer.query('BEGIN');
      await writer.query(`SELECT id FROM ${pg.escapeIdentifier(schema)}.jobs WHERE id = $1 FOR UPDATE`, [b!.id]);
      const before = Date.now();
      const kept = await store.extend(
        [
          { id: a!.id, token: a!.leaseToken! },
          { id: b!.id, token: b!.leaseToken! },
          { id: b!.id, token: 'stale' },
        ],
        60_000,
      );
      expect(kept).toEqual([true, true, false]);
      expect((await store.get(a!.id))!.leaseExpiresAt!).toBeGreaterThanOrEqual(before + 60_000 - 1000);
      expect((await store.get(b!.id))!.leaseExpiresAt!).toBeLessThan(before + 10_000);
      await writer.query('ROLLBACK');
      expect(await store.extend([{ id: b!.id, token: b!.leaseToken! }], 60_000)).toEqual([true]);
      expect((await store.get(b!.id))!.leaseExpiresAt!).toBeGreaterThanOrEqual(before + 60_000 - 1000);
    } finally {
      await writer.end();
    }
  });

  it('runs a duty in one process at a time', async () => {
    const { release, held: holding } = await holdDuty(store, 'reaper');
    let ranElsewhere = false;
    expect(await other.withDuty('reaper', async () => void (ranElsewhere = true))).toBe(false);
    // Another connection of the same process is turned away too.
    expect(await store.withDuty('reaper', async () => void (ranElsewhere = true))).toBe(false);
    // A different duty is not held up.
    expect(await other.withDuty('purger', async () => undefined)).toBe(true);
    expect(ranElsewhere).toBe(false);
    release();
    expect(await holding).toBe(true);
    expect(await other.withDuty('reaper', async () => void (ranElsewhere = true))).toBe(true);
    expect(ranElsewhere).toBe(true);
  });

  it('gives a duty up when its run throws', async () => {
    const failure = new Error('reaper broke');
    await expect(store.withDuty('reaper', async () => Promise.reject(failure))).rejects.toBe(failure);
    expect(await other.withDuty('reaper', async () => undefined)).toBe(true);
  });

  it('gives a duty up when the connection holding it dies', async () => {
    const entered = deferred();
    const finish = deferred();
    const held = store.withDuty('reaper', async () => {
      entered.resolve();
      await finish.promise;
    });
    await entered.promise;
    expect(await other.withDuty('reaper', async () => undefined)).toBe(false);
    // As when its process is killed: the server ends the session, and the session's locks with it.
    const killed = await sql<{ killed: boolean }>(
      `SELECT pg_terminate_backend(pid) AS killed FROM pg_locks
       WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = ('x' || left(md5($1), 16))::bit(64)::bigint`,
      [`dispatch:${store.schema}:duty:reaper`],
    );
    expect(killed).toEqual([{ killed: true }]);
    await until(() => other.withDuty('reaper', async () => undefined), 'the duty to be free');
    finish.resolve();
    expect(await held).toBe(true);
    // The broken connection was dropped, not pooled: the store goes on working.
    expect(await store.withDuty('reaper', async () => undefined)).toBe(true);
  });
});
