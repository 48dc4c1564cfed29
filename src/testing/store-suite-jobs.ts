import { beforeEach, describe, expect, it } from 'vitest';
import type { JobState } from '../../machines/job.machine.js';
import type { Store, StoredJob } from '../store/contract.js';
import { newJob, room } from './store-jobs.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The part of the store contract about finding and changing jobs: progress,
 * reschedule, lists and counts filtered by queue and name, and retention's
 * bounded deletes. Run by storeSuite against every store.
 */
export function describeJobAdmin(current: () => Store): void {
  describe('finding and changing jobs', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    /** Moves a fresh job of `queue` and `name` into `state` through the store's writes. */
    const jobIn = async (state: JobState, overrides: { queue?: string; name?: string } = {}): Promise<StoredJob> => {
      const [job] = await store.insert([newJob({ ...overrides, runAt: Date.now() + 3_600_000 })]);
      if (state === 'pending') return job!;
      if (state === 'running' || state === 'completed') {
        await store.reschedule({ id: job!.id, from: 'pending', to: 'pending', runAt: Date.now() - 1000, priority: 1_000_000 });
        const [leased] = (await store.lease(room(1, {}, { names: [job!.name] }))).jobs;
        expect(leased!.id).toBe(job!.id);
        if (state === 'completed') await store.write([{ id: job!.id, from: 'running', to: 'completed', token: leased!.leaseToken }]);
      } else {
        expect(await store.write([{ id: job!.id, from: 'pending', to: state }])).toEqual([true]);
      }
      return (await store.get(job!.id))!;
    };

    it('stores progress only for the running job under the lease named, keeping it afterwards', async () => {
      const [job] = await store.insert([newJob()]);
      expect(await store.progress([{ id: job!.id, token: 'none', progressJson: '1' }])).toEqual([false]);
      const [leased] = (await store.lease(room(1))).jobs;
      expect(leased!.progress).toBeNull();
      const token = leased!.leaseToken!;
      expect(
        await store.progress([
          { id: job!.id, token, progressJson: JSON.stringify({ done: 3, of: 10 }) },
          { id: job!.id, token: 'stale', progressJson: '99' },
          { id: 'nope', token, progressJson: '1' },
        ]),
      ).toEqual([true, false, false]);
      expect((await store.get(job!.id))!.progress).toEqual({ done: 3, of: 10 });
      await store.write([{ id: job!.id, from: 'running', to: 'completed', token }]);
      expect(await store.progress([{ id: job!.id, token, progressJson: '7' }])).toEqual([false]);
      expect((await store.get(job!.id))!.progress).toEqual({ done: 3, of: 10 });
    });

    it('reschedules a waiting job by compare-and-set: a new runAt and priority that leasing follows', async () => {
      const [late, other] = await store.insert([newJob({ runAt: Date.now() + 3_600_000 }), newJob({ priority: 5 })]);
      const runAt = Date.now() - 500;
      expect(await store.reschedule({ id: late!.id, from: 'pending', to: 'pending', token: null, runAt, priority: 9 })).toBe(true);
      expect(await store.get(late!.id)).toMatchObject({ state: 'pending', runAt, priority: 9 });
      // A stale writer, who saw it in another state, loses.
      expect(await store.reschedule({ id: late!.id, from: 'retrying', to: 'pending', runAt, priority: 1 })).toBe(false);
      expect(await store.reschedule({ id: 'nope', from: 'pending', to: 'pending', runAt, priority: 1 })).toBe(false);
      const { jobs } = await store.lease(room(2));
      expect(jobs.map((j) => j.id)).toEqual([late!.id, other!.id]);
      // Running now: a reschedule that expects pending does nothing.
      expect(await store.reschedule({ id: late!.id, from: 'pending', to: 'pending', runAt, priority: 0 })).toBe(false);
      expect((await store.get(late!.id))!.state).toBe('running');
    });

    it('moves a retrying job to pending, due at the new runAt', async () => {
      await store.insert([newJob()]);
      const [job] = (await store.lease(room(1))).jobs;
      await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: job!.leaseToken, runAt: Date.now() + 3_600_000 }]);
      expect((await store.lease(room(1))).jobs).toHaveLength(0);
      expect(await store.reschedule({ id: job!.id, from: 'retrying', to: 'pending', token: null, runAt: Date.now() - 10, priority: 0 })).toBe(true);
      expect((await store.lease(room(1))).jobs.map((j) => j.id)).toEqual([job!.id]);
    });

    it('lists a state filtered by queue and by name, in enqueue order, a page at a time', async () => {
      const made: StoredJob[] = [];
      for (const state of ['pending', 'dlq', 'running', 'completed'] as const) {
        for (const queue of ['a', 'b']) for (const name of ['job', 'other']) made.push(await jobIn(state, { queue, name }), await jobIn(state, { queue, name }));
      }
      for (const state of ['pending', 'dlq', 'running', 'completed'] as const) {
        for (const filter of [{ queue: 'a' }, { name: 'other' }, { queue: 'b', name: 'job' }, {}]) {
          const want = made
            .filter((j) => j.state === state && Object.entries(filter).every(([k, v]) => j[k as 'queue' | 'name'] === v))
            .map((j) => j.id);
          const got: string[] = [];
          let cursor: string | null = null;
          do {
            const page = await store.list({ state, limit: 3, cursor, ...filter });
            expect(page.jobs.length).toBeLessThanOrEqual(3);
            for (const job of page.jobs) expect(job).toMatchObject({ state, ...filter });
            got.push(...page.jobs.map((j) => j.id));
            cursor = page.nextCursor;
          } while (cursor !== null);
          expect(got, `${state} ${JSON.stringify(filter)}`).toEqual(want);
        }
      }
    });

    it('counts the jobs of one queue by state', async () => {
      for (const state of ['pending', 'pending', 'dlq', 'running', 'completed', 'completed', 'cancelled'] as const) await jobIn(state, { queue: 'mine' });
      await jobIn('pending', { queue: 'theirs' });
      await jobIn('completed', { queue: 'theirs' });
      expect(await store.counts({ queue: 'mine' })).toEqual({ pending: 2, running: 1, retrying: 0, completed: 2, failed: 0, dlq: 1, cancelled: 1 });
      expect(await store.counts({ queue: 'none' })).toEqual({ pending: 0, running: 0, retrying: 0, completed: 0, failed: 0, dlq: 0, cancelled: 0 });
      expect((await store.counts()).completed).toBe(3);
    });

    for (const state of ['completed', 'dlq'] as const) {
      it(`deletes old ${state} jobs in bounded batches, stopping at jobs made after the cutoff`, async () => {
        const old: StoredJob[] = [];
        for (let i = 0; i < 7; i++) old.push(await jobIn(i % 3 === 0 ? 'pending' : state));
        await pause(30);
        const before = Date.now();
        await pause(30);
        const fresh: StoredJob[] = [];
        for (let i = 0; i < 6; i++) fresh.push(await jobIn(state));
        fresh.push(await jobIn('pending'));
        const batches: number[] = [];
        let cursor: string | null = null;
        do {
          const result = await store.expire({ state, before, limit: 2, cursor });
          batches.push(result.deleted);
          expect(result.deleted).toBeLessThanOrEqual(2);
          cursor = result.cursor;
          expect(batches.length).toBeLessThan(20);
        } while (cursor !== null);
        // The walk stopped at the first job made after the cutoff: the fresh ones after it cost no batches.
        expect(batches.length).toBeLessThanOrEqual(Math.ceil(old.length / 2) + 1);
        const expired = old.filter((j) => j.state === state);
        expect(batches.reduce((a, b) => a + b, 0)).toBe(expired.length);
        for (const job of expired) expect(await store.get(job.id)).toBeNull();
        for (const job of [...old.filter((j) => j.state !== state), ...fresh]) expect(await store.get(job.id)).not.toBeNull();
        // Nothing left to do: a new walk deletes nothing.
        expect((await store.expire({ state, before, limit: 100, cursor: null })).deleted).toBe(0);
      });
    }

    it('leaves a job replayed out of the state since, and jobs changed after the cutoff', async () => {
      const dead = await jobIn('dlq');
      await pause(30);
      const before = Date.now();
      await store.write([{ id: dead.id, from: 'dlq', to: 'pending' }]);
      await store.write([{ id: dead.id, from: 'pending', to: 'dlq' }]);
      expect((await store.expire({ state: 'dlq', before, limit: 10, cursor: null })).deleted).toBe(0);
      expect(await store.get(dead.id)).not.toBeNull();
    });
  });
}
