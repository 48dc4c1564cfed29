import { describe, expect, it } from 'vitest';
import type { Store } from '../store/contract.js';
import { newJob, room } from './store-jobs.js';

const HOUR = 3_600_000;

/**
 * The part of the store contract that routes jobs: a lease takes only the
 * names (and queues) asked for, keeps the one order among them, answers a
 * next runAt of those only, and is not held up by the rest. Run by
 * storeSuite against every store.
 */
export function describeLeaseRouting(current: () => Store): void {
  describe('lease routing', () => {
    it('leases only jobs of the names asked for, leaving the others pending and untouched', async () => {
      const store = current();
      const names = ['a', 'b', 'c', 'a', 'b', 'c'];
      const inserted = await store.insert(names.map((name, i) => newJob({ name, input: `${name}-${i}` })));
      const { jobs } = await store.lease(room(10, {}, { names: ['a', 'c'] }));
      expect(jobs.map((j) => j.input)).toEqual(['a-0', 'c-2', 'a-3', 'c-5']);
      for (const job of inserted.filter((j) => j.name === 'b')) {
        expect(await store.get(job.id)).toMatchObject({ state: 'pending', attempt: 0, leaseToken: null });
      }
      // Knowing no name, a worker takes nothing and waits for nothing.
      expect(await store.lease(room(10, {}, { names: [] }))).toEqual({ jobs: [], nextRunAt: null });
      expect((await store.lease(room(10, {}, { names: ['b'] }))).jobs.map((j) => j.input)).toEqual(['b-1', 'b-4']);
    });

    it('leases only from the queues asked for, when it names them', async () => {
      const store = current();
      await store.insert([
        newJob({ queue: 'mail', input: 'mail-0' }),
        newJob({ queue: 'other', input: 'other-1', priority: 5 }),
        newJob({ queue: 'sms', input: 'sms-2' }),
        newJob({ queue: 'mail', input: 'mail-3' }),
        newJob({ queue: 'mail', name: 'unknown', input: 'mail-unknown-4' }),
      ]);
      // Room for a queue it does not serve lets nothing through; jobs of other names do not use up a queue's room.
      const { jobs } = await store.lease(room(10, { other: 5, mail: 1 }, { queues: ['mail', 'sms'] }));
      expect(jobs.map((j) => j.input)).toEqual(['mail-0', 'sms-2']);
      expect((await store.lease(room(10, {}, { queues: ['mail'] }))).jobs.map((j) => j.input)).toEqual(['mail-3']);
      expect((await store.lease(room(10, {}, { queues: ['nowhere'] }))).jobs).toEqual([]);
      expect((await store.lease(room(10))).jobs.map((j) => j.input)).toEqual(['other-1']);
    });

    it('keeps the one order among the jobs it may take, whatever lies between them', async () => {
      const store = current();
      const t = Date.now() - 10_000;
      const specs = [
        { tag: 'a-low-old', name: 'a', priority: 0, runAt: t },
        { tag: 'x-high', name: 'x', priority: 9, runAt: t - 500 },
        { tag: 'b-high-late', name: 'b', priority: 5, runAt: t + 200, queue: 'q2' },
        { tag: 'a-low-first', name: 'a', priority: 0, runAt: t - 100, queue: 'q2' },
        { tag: 'x-high-2', name: 'x', priority: 5, runAt: t + 150 },
        { tag: 'b-high-early', name: 'b', priority: 5, runAt: t + 100 },
        { tag: 'b-low-first', name: 'b', priority: 0, runAt: t - 100 },
        { tag: 'a-mid', name: 'a', priority: 2, runAt: t + 500 },
      ];
      for (const s of specs) await store.insert([newJob({ name: s.name, input: s.tag, priority: s.priority, runAt: s.runAt, queue: s.queue ?? 'default' })]);
      const { jobs } = await store.lease(room(10, {}, { names: ['a', 'b'] }));
      expect(jobs.map((j) => j.input)).toEqual(['b-high-early', 'b-high-late', 'a-mid', 'a-low-first', 'b-low-first', 'a-low-old']);
    });

    it('reports as next runAt only a job it could take', async () => {
      const store = current();
      const soon = Date.now() + HOUR;
      await store.insert([
        newJob({ name: 'other', runAt: soon - 5000 }),
        newJob({ queue: 'elsewhere', runAt: soon - 4000 }),
        newJob({ runAt: soon }),
        newJob({ name: 'other', queue: 'elsewhere', runAt: soon - 6000 }),
      ]);
      expect(await store.lease(room(10, {}, { queues: ['default'] }))).toEqual({ jobs: [], nextRunAt: soon });
      expect(await store.lease(room(10, {}, { names: ['job'] }))).toEqual({ jobs: [], nextRunAt: soon - 4000 });
      expect(await store.lease(room(10, {}, { names: ['other'], queues: ['default'] }))).toEqual({ jobs: [], nextRunAt: soon - 5000 });
      expect(await store.lease(room(10, {}, { names: ['nobody'] }))).toEqual({ jobs: [], nextRunAt: null });
      expect(await store.lease(room(10, {}, { queues: ['nowhere'] }))).toEqual({ jobs: [], nextRunAt: null });
    });

    it('is not held up by a backlog of jobs of other names ahead of its own in the order', async () => {
      const store = current();
      const t = Date.now() - 60_000;
      // Ahead in every way: higher priority, earlier, enqueued first; some on the same queue, some scheduled.
      await store.insert(Array.from({ length: 3000 }, (_, i) => newJob({ name: 'unknown', priority: 9, runAt: t + (i % 3 === 0 ? 2 * HOUR : 0) })));
      await store.insert(Array.from({ length: 1000 }, () => newJob({ name: 'unknown', runAt: t - 1000 })));
      await store.insert(Array.from({ length: 3 }, (_, i) => newJob({ input: `mine-${i}`, runAt: t })));
      const first = await store.lease(room(2));
      expect(first.jobs.map((j) => j.input)).toEqual(['mine-0', 'mine-1']);
      expect(first.nextRunAt).toBeNull();
      const rest = await store.lease(room(10));
      expect(rest).toEqual({ jobs: [expect.objectContaining({ input: 'mine-2' })], nextRunAt: null });
      expect(await store.counts()).toMatchObject({ pending: 4000, running: 3 });
      // The backlog is still whole for a worker that knows it.
      expect((await store.lease(room(5000, {}, { names: ['unknown'] }))).jobs).toHaveLength(3000);
    });

  });
}
