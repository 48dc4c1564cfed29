import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PostgresStore, postgresStore } from '../../../src/index.js';
import { deferred } from '../../support/harness.js';
import { newJob } from '../conformance.js';
import { databaseUrl, openStore, sql } from './database.js';
import { until } from './workers.js';

const room = (limit: number, leaseMs = 30_000) => ({ limit, queueRoom: {}, leaseMs });

describe('postgres store: leases, reaping and duties across processes', () => {
  let store: PostgresStore;
  let other: PostgresStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    let schema: string;
    ({ store, schema, cleanup } = await openStore({ onError: () => undefined }));
    other = postgresStore({ connectionString: databaseUrl(), schema, onError: () => undefined });
    await other.open();
  });

  afterEach(async () => {
    await other.close();
    await cleanup();
  });

  it('merges the queues of one priority by runAt, then enqueue order', async () => {
    const t = Date.now() - 60_000;
    const specs = [
      { tag: 'b-2', queue: 'b', runAt: t + 2 },
      { tag: 'a-3', queue: 'a', runAt: t + 3 },
      { tag: 'c-1', queue: 'c', runAt: t + 1 },
      { tag: 'a-1', queue: 'a', runAt: t + 1 },
      { tag: 'top', queue: 'z', runAt: t + 9, priority: 1 },
    ];
    await store.insert(specs.map((s) => newJob({ input: s.tag, queue: s.queue, runAt: s.runAt, priority: s.priority ?? 0 })));
    const { jobs } = await store.lease(room(10));
    expect(jobs.map((j) => j.input)).toEqual(['top', 'c-1', 'a-1', 'b-2', 'a-3']);
  });

  it("caps a queue across all its priorities, and takes other queues' jobs past its backlog", async () => {
    await store.insert([
      ...Array.from({ length: 3 }, (_, i) => newJob({ queue: 'mail', priority: 9, input: `mail-9-${i}` })),
      ...Array.from({ length: 3 }, (_, i) => newJob({ queue: 'mail', priority: 1, input: `mail-1-${i}` })),
      ...Array.from({ length: 3 }, (_, i) => newJob({ queue: 'default', priority: 0, input: `default-${i}` })),
    ]);
    const first = await store.lease({ limit: 10, queueRoom: { mail: 4 }, leaseMs: 30_000 });
    expect(first.jobs.map((j) => j.input)).toEqual(['mail-9-0', 'mail-9-1', 'mail-9-2', 'mail-1-0', 'default-0', 'default-1', 'default-2']);
    const second = await store.lease({ limit: 10, queueRoom: { mail: 0 }, leaseMs: 30_000 });
    expect(second.jobs).toEqual([]);
  });

  it('is not held up by jobs scheduled later at a higher priority, and reports the earliest of any lane', async () => {
    const later = Date.now() + 3_600_000;
    await store.insert([
      newJob({ priority: 9, runAt: later + 1000, queue: 'x', input: 'later-9' }),
      newJob({ priority: 5, runAt: later, queue: 'y', input: 'later-5' }),
      newJob({ priority: 0, input: 'due-0' }),
    ]);
    const { jobs, nextRunAt } = await store.lease(room(10));
    expect(jobs.map((j) => j.input)).toEqual(['due-0']);
    expect(nextRunAt).toBe(later);
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

  it('applies two writes to one job in one batch in order, as if sent one by one', async () => {
    const [a, b] = await store.insert([newJob(), newJob()]);
    const leased = (await store.lease(room(2))).jobs;
    const tokenOf = (id: string) => leased.find((j) => j.id === id)!.leaseToken;
    const answers = await store.write([
      { id: a!.id, from: 'running', to: 'completed', token: tokenOf(a!.id) },
      { id: b!.id, from: 'running', to: 'dlq', token: tokenOf(b!.id), lastError: { name: 'E', message: 'x' } },
      { id: a!.id, from: 'running', to: 'dlq', token: tokenOf(a!.id) },
      { id: b!.id, from: 'dlq', to: 'pending', token: null, attempt: 0 },
    ]);
    expect(answers).toEqual([true, true, false, true]);
    expect(await store.get(a!.id)).toMatchObject({ state: 'completed' });
    expect(await store.get(b!.id)).toMatchObject({ state: 'pending', attempt: 0, lastError: { name: 'E', message: 'x' } });
  });

  it('answers a lease named twice in one heartbeat twice, and ids that are not ids as not held', async () => {
    await store.insert([newJob()]);
    const [job] = (await store.lease(room(1))).jobs;
    const ref = { id: job!.id, token: job!.leaseToken! };
    expect(await store.extend([ref, ref, { id: 'nope', token: ref.token }], 60_000)).toEqual([true, true, false]);
    expect(await store.write([{ id: 'nope', from: 'running', to: 'completed' }])).toEqual([false]);
    expect(await store.get('nope')).toBeNull();
    expect(await store.get('99999999999999999999')).toBeNull();
  });

  it('runs a duty in one process at a time', async () => {
    const release = deferred();
    const entered = deferred();
    const holding = store.withDuty('reaper', async () => {
      entered.resolve();
      await release.promise;
    });
    await entered.promise;
    let ranElsewhere = false;
    expect(await other.withDuty('reaper', async () => void (ranElsewhere = true))).toBe(false);
    // Another connection of the same process is turned away too.
    expect(await store.withDuty('reaper', async () => void (ranElsewhere = true))).toBe(false);
    // A different duty is not held up.
    expect(await other.withDuty('purger', async () => undefined)).toBe(true);
    expect(ranElsewhere).toBe(false);
    release.resolve();
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
