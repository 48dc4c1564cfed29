import { describe, expect, it } from 'vitest';
import type { LeasedJob, Store } from '../store/contract.js';
import { newJob, room } from './store-jobs.js';

const HOUR = 3_600_000;

const inputs = (jobs: readonly LeasedJob[]) => jobs.map((j) => j.input as string).sort();

/** Completes a leased job, as a worker's outcome write does. */
const complete = (store: Store, job: LeasedJob) => store.write([{ id: job.id, from: 'running', to: 'completed', token: job.leaseToken }]);

/**
 * The part of the store contract that keeps queue settings: a pause and
 * every limit hold in the lease itself, for every worker sharing the store.
 * Run by storeSuite against every store.
 */
export function describeQueueSettings(current: () => Store): void {
  describe('queue settings', () => {
    it('keeps settings, changing only the fields given, null clearing a limit', async () => {
      const store = current();
      expect(await store.queueSettings()).toEqual([]);
      const first = await store.configureQueue('mail', { concurrency: 3, rateLimit: { max: 10, perMs: 1000 } });
      expect(first).toMatchObject({ name: 'mail', paused: false, concurrency: 3, rateLimit: { max: 10, perMs: 1000 }, groupConcurrency: null });
      expect(typeof first.updatedAt).toBe('number');
      await store.configureQueue('mail', { paused: true, groupConcurrency: 2 });
      await store.configureQueue('mail', { concurrency: null });
      await store.configureQueue('sms', { paused: true });
      const listed = await store.queueSettings();
      expect(listed.map(({ updatedAt: _, ...q }) => q)).toEqual([
        { name: 'mail', paused: true, concurrency: null, rateLimit: { max: 10, perMs: 1000 }, groupConcurrency: 2 },
        { name: 'sms', paused: true, concurrency: null, rateLimit: null, groupConcurrency: null },
      ]);
      // Back to defaults: still listed, with nothing set.
      await store.configureQueue('sms', { paused: false });
      expect((await store.queueSettings())[1]).toMatchObject({ name: 'sms', paused: false, concurrency: null, rateLimit: null });
    });

    it('leases nothing of a paused queue, other queues as before, and its jobs once resumed', async () => {
      const store = current();
      await store.insert([newJob({ queue: 'q', input: 'q-0' }), newJob({ queue: 'other', input: 'other-1' }), newJob({ queue: 'q', input: 'q-2' })]);
      const [running] = (await store.lease(room(1, {}, { queues: ['q'] }))).jobs;
      await store.configureQueue('q', { paused: true });
      expect(inputs((await store.lease(room(10))).jobs)).toEqual(['other-1']);
      // Pausing does not touch a job already running: its outcome is written as ever.
      expect(await complete(store, running!)).toEqual([true]);
      expect((await store.get((await store.insert([newJob({ queue: 'q', input: 'q-3' })]))[0]!.id))!.state).toBe('pending');
      expect((await store.lease(room(10))).jobs).toEqual([]);
      await store.configureQueue('q', { paused: false });
      expect(inputs((await store.lease(room(10))).jobs)).toEqual(['q-2', 'q-3']);
    });

    it('caps the jobs of a queue running at once, counting those running before the cap was set', async () => {
      const store = current();
      await store.insert(Array.from({ length: 6 }, (_, i) => newJob({ queue: 'q', input: `q-${i}` })));
      await store.insert([newJob({ queue: 'other', input: 'other' })]);
      const [before] = (await store.lease(room(1, {}, { queues: ['q'] }))).jobs;
      await store.configureQueue('q', { concurrency: 3 });
      const first = await store.lease(room(10));
      expect(inputs(first.jobs)).toEqual(['other', 'q-1', 'q-2']);
      expect((await store.lease(room(10))).jobs).toEqual([]);
      // A job leaving running makes room for one more; a lease of the queue's room only.
      await complete(store, before!);
      await store.write([{ id: first.jobs.find((j) => j.queue === 'q')!.id, from: 'running', to: 'retrying', token: first.jobs.find((j) => j.queue === 'q')!.leaseToken, runAt: Date.now() + HOUR }]);
      expect(inputs((await store.lease(room(10))).jobs)).toEqual(['q-3', 'q-4']);
      expect((await store.lease(room(10))).jobs).toEqual([]);
      // Cleared: the rest go at once.
      await store.configureQueue('q', { concurrency: null });
      expect(inputs((await store.lease(room(10))).jobs)).toEqual(['q-5']);
    });

    it('keeps a worker’s own per-queue room inside the cluster cap', async () => {
      const store = current();
      await store.insert(Array.from({ length: 5 }, (_, i) => newJob({ queue: 'q', input: `q-${i}` })));
      await store.configureQueue('q', { concurrency: 3, rateLimit: { max: 100, perMs: HOUR } });
      expect(inputs((await store.lease(room(10, { q: 1 }))).jobs)).toEqual(['q-0']);
      expect(inputs((await store.lease(room(10, { q: 5 }))).jobs)).toEqual(['q-1', 'q-2']);
      expect((await store.lease(room(10, { q: 5 }))).jobs).toEqual([]);
    });

    it('starts at most max jobs in any window of per, and says when the window next has room', async () => {
      const store = current();
      const perMs = 400;
      await store.insert(Array.from({ length: 5 }, (_, i) => newJob({ queue: 'q', input: `q-${i}` })));
      await store.configureQueue('q', { rateLimit: { max: 2, perMs } });
      const startedAt = Date.now();
      const first = await store.lease(room(10));
      expect(inputs(first.jobs)).toEqual(['q-0', 'q-1']);
      // Finishing does not give a start back: the window counts starts, not running jobs.
      for (const job of first.jobs) await complete(store, job);
      const held = await store.lease(room(10));
      expect(held.jobs).toEqual([]);
      expect(held.nextRunAt).not.toBeNull();
      expect(held.nextRunAt!).toBeGreaterThanOrEqual(startedAt + perMs - 50);
      expect(held.nextRunAt!).toBeLessThanOrEqual(Date.now() + perMs + 50);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, held.nextRunAt! - Date.now()) + 30));
      expect(inputs((await store.lease(room(10))).jobs)).toEqual(['q-2', 'q-3']);
    });

    it('caps each group’s running jobs, and takes groups in turns so a busy group starves none', async () => {
      const store = current();
      // Group a enqueued its backlog first; b and c came later, and one job has no group.
      await store.insert(Array.from({ length: 4 }, (_, i) => newJob({ queue: 'q', group: 'a', input: `a-${i}` })));
      await store.insert([
        newJob({ queue: 'q', group: 'b', input: 'b-0' }),
        newJob({ queue: 'q', group: 'b', input: 'b-1' }),
        newJob({ queue: 'q', group: 'c', input: 'c-0' }),
        newJob({ queue: 'q', input: 'none-0' }),
      ]);
      await store.configureQueue('q', { groupConcurrency: 2 });
      const first = await store.lease(room(4));
      expect(inputs(first.jobs)).toEqual(['a-0', 'b-0', 'c-0', 'none-0']);
      expect(first.jobs.find((j) => j.input === 'a-0')!.group).toBe('a');
      expect(inputs((await store.lease(room(10))).jobs)).toEqual(['a-1', 'b-1']);
      // Group a has two running: nothing more of it until one ends.
      expect((await store.lease(room(10))).jobs).toEqual([]);
      await complete(store, first.jobs.find((j) => j.input === 'a-0')!);
      expect(inputs((await store.lease(room(10))).jobs)).toEqual(['a-2']);
    });

    it('keeps the names and queues a lease asks for on a limited queue', async () => {
      const store = current();
      await store.insert([newJob({ queue: 'q', name: 'other', input: 'other' }), newJob({ queue: 'q', input: 'mine' })]);
      await store.configureQueue('q', { concurrency: 5, groupConcurrency: 1 });
      expect((await store.lease(room(10, {}, { queues: ['elsewhere'] }))).jobs).toEqual([]);
      expect(inputs((await store.lease(room(10))).jobs)).toEqual(['mine']);
    });

    it('counts jobs by queue and state', async () => {
      const store = current();
      await store.insert([newJob({ queue: 'a' }), newJob({ queue: 'a' }), newJob({ queue: 'b' })]);
      await store.lease(room(1, {}, { queues: ['a'] }));
      const counts = await store.queueCounts();
      expect(Object.keys(counts).sort()).toEqual(['a', 'b']);
      expect(counts.a).toMatchObject({ pending: 1, running: 1, completed: 0 });
      expect(counts.b).toMatchObject({ pending: 1, running: 0 });
    });
  });
}
