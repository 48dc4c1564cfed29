import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../../src/postgres.js';
import { newJob, room } from '../../../src/testing/store-jobs.js';
import { openStore } from './database.js';

// Completed rows have no index, so their counts come from counters the write and the deletes keep.
describe('postgres store: completed jobs are counted by counters, exactly', () => {
  let store: PostgresStore;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await openStore());
  });

  afterEach(async () => {
    await cleanup();
  });

  async function complete(queue: string, n: number): Promise<void> {
    await store.insert(Array.from({ length: n }, () => newJob({ queue })));
    const { jobs } = await store.lease({ ...room(n), queues: [queue] });
    const answers = await store.write(jobs.map((job) => ({ id: job.id, from: 'running' as const, to: 'completed' as const, token: job.leaseToken })));
    expect(answers.every(Boolean)).toBe(true);
    // A stale second write of the same outcome changes no count.
    expect(await store.write([{ id: jobs[0]!.id, from: 'running', to: 'completed', token: jobs[0]!.leaseToken }])).toEqual([false]);
  }

  it('adds what a write completes, per queue, and takes away what purge and retention delete', async () => {
    await complete('a', 5);
    await complete('b', 3);
    await store.insert([newJob({ queue: 'a' })]);
    expect(await store.counts({ queue: 'a' })).toMatchObject({ completed: 5, pending: 1 });
    expect(await store.counts()).toMatchObject({ completed: 8, pending: 1 });
    expect((await store.queueCounts()).b).toMatchObject({ completed: 3 });

    const expired = await store.expire({ state: 'completed', before: Date.now() + 1_000, limit: 4, cursor: null });
    expect(expired.deleted).toBe(4);
    const left = await store.counts();
    expect(left.completed).toBe(4);
    expect((await store.counts({ queue: 'a' })).completed + (await store.counts({ queue: 'b' })).completed).toBe(4);

    expect(await store.purge('completed', Date.now() + 1_000)).toBe(4);
    expect(await store.counts()).toMatchObject({ completed: 0, pending: 1 });
    expect(await store.counts({ queue: 'b' })).toMatchObject({ completed: 0 });
  });
});
