import { beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../store/contract.js';
import { holdDuty, NAMES, newJob, room } from './store-jobs.js';

const HOUR = 3_600_000;

/**
 * The part of the store contract about keeping jobs: unknown ids, cancels,
 * returns to the queue, leases that run out, listing, purging, counting,
 * duties, and closing. Run by storeSuite against every store.
 */
export function describeStoreKeeping(current: () => Store): void {
  describe('keeping jobs', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    it('answers ids that name no job as not found, never as an error', async () => {
      await store.insert([newJob()]);
      const [job] = (await store.lease(room(1))).jobs;
      const ref = { id: job!.id, token: job!.leaseToken! };
      expect(await store.extend([ref, ref, { id: 'nope', token: ref.token }], 60_000)).toEqual([true, true, false]);
      expect(await store.write([{ id: 'nope', from: 'running', to: 'completed' }])).toEqual([false]);
      expect(await store.get('nope')).toBeNull();
      expect(await store.get('99999999999999999999')).toBeNull();
    });

    it('cancels a pending job by compare-and-set with no lease', async () => {
      const [job] = await store.insert([newJob()]);
      expect(await store.write([{ id: job!.id, from: 'pending', to: 'cancelled', token: null }])).toEqual([true]);
      expect((await store.lease(room(5))).jobs).toHaveLength(0);
      expect((await store.get(job!.id))!.state).toBe('cancelled');
    });

    it('leases a retrying job once its backoff is over, saying it came from retrying', async () => {
      await store.insert([newJob()]);
      const [job] = (await store.lease(room(1))).jobs;
      await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: job!.leaseToken, runAt: Date.now() + 150 }]);
      expect((await store.lease(room(1))).jobs).toHaveLength(0);
      await new Promise((r) => setTimeout(r, 200));
      const [again] = (await store.lease(room(1))).jobs;
      expect(again).toMatchObject({ id: job!.id, state: 'running', attempt: 2, leasedFrom: 'retrying' });
      expect(again!.leaseToken).not.toBe(job!.leaseToken);
    });

    it('returns a job to the queue when written back to pending', async () => {
      await store.insert([newJob()]);
      const [job] = (await store.lease(room(1))).jobs;
      expect(await store.write([{ id: job!.id, from: 'running', to: 'pending', token: job!.leaseToken, attempt: 0 }])).toEqual([true]);
      const [again] = (await store.lease(room(1))).jobs;
      expect(again).toMatchObject({ id: job!.id, attempt: 1, leasedFrom: 'pending' });
    });

    it('extends held leases only', async () => {
      await store.insert([newJob(), newJob()]);
      const { jobs } = await store.lease({ limit: 2, queueRoom: {}, leaseMs: 1000, names: NAMES });
      await store.write([{ id: jobs[1]!.id, from: 'running', to: 'completed', token: jobs[1]!.leaseToken }]);
      const before = Date.now();
      const kept = await store.extend(
        [
          { id: jobs[0]!.id, token: jobs[0]!.leaseToken! },
          { id: jobs[1]!.id, token: jobs[1]!.leaseToken! },
          { id: jobs[0]!.id, token: 'stale' },
        ],
        60_000,
      );
      expect(kept).toEqual([true, false, false]);
      expect((await store.get(jobs[0]!.id))!.leaseExpiresAt!).toBeGreaterThanOrEqual(before + 60_000 - 1000);
    });

    it('finds running jobs whose lease ran out, oldest first', async () => {
      await store.insert([newJob(), newJob(), newJob()]);
      const short = await store.lease({ limit: 2, queueRoom: {}, leaseMs: 1, names: NAMES });
      await store.lease({ limit: 1, queueRoom: {}, leaseMs: 60_000, names: NAMES });
      await new Promise((r) => setTimeout(r, 20));
      const expired = await store.expired(10);
      expect(expired.map((j) => j.id).sort()).toEqual(short.jobs.map((j) => j.id).sort());
      expect(expired.every((j) => j.state === 'running')).toBe(true);
      expect(await store.expired(1)).toHaveLength(1);
    });

    it('lists one state in enqueue order, a page at a time', async () => {
      const inserted = await store.insert(Array.from({ length: 5 }, (_, i) => newJob({ input: i })));
      const { jobs } = await store.lease(room(5));
      for (const job of jobs) {
        await store.write([{ id: job.id, from: 'running', to: 'dlq', token: job.leaseToken, lastError: { name: 'E', message: String(job.input) } }]);
      }
      await store.insert([newJob()]);
      const first = await store.list({ state: 'dlq', limit: 2 });
      expect(first.jobs.map((j) => j.id)).toEqual(inserted.slice(0, 2).map((j) => j.id));
      expect(first.nextCursor).not.toBeNull();
      const second = await store.list({ state: 'dlq', limit: 2, cursor: first.nextCursor });
      expect(second.jobs.map((j) => j.id)).toEqual(inserted.slice(2, 4).map((j) => j.id));
      const third = await store.list({ state: 'dlq', limit: 2, cursor: second.nextCursor });
      expect(third.jobs.map((j) => j.id)).toEqual([inserted[4]!.id]);
      expect(third.nextCursor).toBeNull();
      expect(third.jobs[0]!.lastError).toEqual({ name: 'E', message: '4' });
    });

    it('purges a state up to a date and keeps the rest', async () => {
      await store.insert([newJob(), newJob(), newJob()]);
      const { jobs } = await store.lease(room(3));
      await store.write(jobs.slice(0, 2).map((j) => ({ id: j.id, from: 'running' as const, to: 'dlq' as const, token: j.leaseToken })));
      await new Promise((r) => setTimeout(r, 20));
      const cut = Date.now();
      await new Promise((r) => setTimeout(r, 20));
      await store.write([{ id: jobs[2]!.id, from: 'running', to: 'dlq', token: jobs[2]!.leaseToken }]);
      expect(await store.purge('dlq', cut)).toBe(2);
      expect((await store.list({ state: 'dlq', limit: 10 })).jobs.map((j) => j.id)).toEqual([jobs[2]!.id]);
      expect(await store.get(jobs[0]!.id)).toBeNull();
    });

    it("never gives a purged job's id to a new one", async () => {
      const [old] = await store.insert([newJob()]);
      const [leased] = (await store.lease(room(1))).jobs;
      await store.write([{ id: leased!.id, from: 'running', to: 'dlq', token: leased!.leaseToken }]);
      expect(await store.purge('dlq', Date.now() + 1000)).toBe(1);
      const [fresh] = await store.insert([newJob()]);
      expect(fresh!.id).not.toBe(old!.id);
    });

    it('counts jobs by state', async () => {
      await store.insert([newJob(), newJob(), newJob({ runAt: Date.now() + HOUR })]);
      await store.lease(room(1));
      expect(await store.counts()).toEqual({
        pending: 2,
        running: 1,
        retrying: 0,
        completed: 0,
        failed: 0,
        dlq: 0,
        cancelled: 0,
      });
    });

    it('runs a duty for one caller at a time, and answers the other at once that it did not run', async () => {
      const { release, held } = await holdDuty(store, 'reaper');
      let ranTwice = false;
      expect(await store.withDuty('reaper', async () => void (ranTwice = true))).toBe(false);
      expect(ranTwice).toBe(false);
      release();
      expect(await held).toBe(true);
    });

    it('lets exactly one of two callers asking at the same moment run a duty', async () => {
      let runs = 0;
      let refused!: () => void;
      const oneRefused = new Promise<void>((resolve) => (refused = resolve));
      // The holder keeps the duty until the other caller has its answer (or 2 s, should both run), however slow the machine.
      const run = async () => {
        runs++;
        await Promise.race([oneRefused, new Promise((resolve) => setTimeout(resolve, 2000))]);
      };
      const ask = () => store.withDuty('reaper', run).then((ran) => (ran ? ran : (refused(), ran)));
      const answers = await Promise.all([ask(), ask()]);
      expect(answers.sort()).toEqual([false, true]);
      expect(runs).toBe(1);
    });

    it('runs different duties side by side', async () => {
      const { release, held } = await holdDuty(store, 'reaper');
      let ran = false;
      expect(await store.withDuty('retention', async () => void (ran = true))).toBe(true);
      expect(ran).toBe(true);
      release();
      expect(await held).toBe(true);
    });

    it('gives a duty up once its run ends, whether it returned or threw', async () => {
      expect(await store.withDuty('reaper', async () => undefined)).toBe(true);
      let runs = 0;
      expect(await store.withDuty('reaper', async () => void runs++)).toBe(true);
      const failure = new Error('the duty broke');
      await expect(store.withDuty('reaper', async () => Promise.reject(failure))).rejects.toBe(failure);
      expect(await store.withDuty('reaper', async () => void runs++)).toBe(true);
      expect(runs).toBe(2);
    });

    it('keeps its jobs across close and open', async () => {
      const [job] = await store.insert([newJob({ input: { keep: true } })]);
      await store.close();
      await store.open();
      expect(await store.get(job!.id)).toMatchObject({ state: 'pending', input: { keep: true } });
    });
  });
}
