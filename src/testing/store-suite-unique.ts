import { beforeEach, describe, expect, it } from 'vitest';
import { JobKeyConflictError, type JobKey, type NewJob, type Store, StoreError } from '../store/contract.js';
import { newJob, room } from './store-jobs.js';

const HOUR = 3_600_000;

/** A job with unique key `key` (ignore on conflict, no keepFor) unless `unique` says otherwise. */
function keyed(key: string, unique: Partial<JobKey> = {}, overrides: Partial<NewJob> = {}): NewJob {
  return newJob({ ...overrides, unique: { key, keepForMs: 0, onConflict: 'ignore', debounce: false, ...unique } });
}

/**
 * The part of the store contract about unique keys: one job per (name, key)
 * while it is not at rest (or within keepFor), the holder answered, replaced
 * where the chart accepts REPLACE, or refused; decided atomically, even by
 * concurrent callers. Run by storeSuite against every store.
 */
export function describeUniqueKeys(current: () => Store): void {
  describe('unique keys', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    const lease = async () => (await store.lease(room(10))).jobs;

    it('answers the holder of a key, marked kept, and inserts nothing; other keys and names are other jobs', async () => {
      const [first] = await store.insert([keyed('a', {}, { input: { n: 1 } })]);
      expect(first!.duplicate).toBeUndefined();
      const [again] = await store.insert([keyed('a', {}, { input: { n: 2 } })]);
      expect(again).toMatchObject({ id: first!.id, input: { n: 1 }, state: 'pending', duplicate: 'kept' });
      const others = await store.insert([keyed('b'), keyed('a', {}, { name: 'other' }), newJob()]);
      expect(others.map((j) => j.duplicate)).toEqual([undefined, undefined, undefined]);
      expect((await store.counts()).pending).toBe(4);
      expect((await store.get(first!.id))!.duplicate).toBeUndefined();
    });

    it('keeps every field of a keyed job, its group too, as a plain insert does', async () => {
      const [job] = await store.insert([keyed('a', {}, { queue: 'q', group: 'tenant-1', priority: 3 })]);
      const stored = await store.get(job!.id);
      expect(stored).toMatchObject({ queue: 'q', group: 'tenant-1', priority: 3, progress: null });
      expect(job).toEqual(stored);
    });

    it("replaces a pending holder's input, runAt and priority, and leases it by the new ones", async () => {
      const later = Date.now() + HOUR;
      const [first] = await store.insert([keyed('a', {}, { input: { n: 1 }, runAt: later, priority: 0 })]);
      const [low] = await store.insert([newJob({ input: 'low', priority: 1 })]);
      const [replaced] = await store.insert([keyed('a', { onConflict: 'replace' }, { input: { n: 2 }, runAt: Date.now() - 10, priority: 5 })]);
      expect(replaced).toMatchObject({ id: first!.id, state: 'pending', input: { n: 2 }, priority: 5, duplicate: 'replaced' });
      expect(await store.get(first!.id)).toMatchObject({ input: { n: 2 }, priority: 5, runAt: replaced!.runAt });
      expect((await lease()).map((j) => j.id)).toEqual([first!.id, low!.id]);
    });

    it('keeps a holder that has started, but debounce inserts a new job that takes the key', async () => {
      await store.insert([keyed('a')]);
      const [running] = await lease();
      const [kept] = await store.insert([keyed('a', { onConflict: 'replace' }, { input: { n: 2 } })]);
      expect(kept).toMatchObject({ id: running!.id, state: 'running', duplicate: 'kept' });
      const [fresh] = await store.insert([keyed('a', { onConflict: 'replace', debounce: true }, { input: { n: 3 } })]);
      expect(fresh!.id).not.toBe(running!.id);
      expect(fresh!.duplicate).toBeUndefined();
      const [next] = await store.insert([keyed('a', { onConflict: 'replace', debounce: true }, { input: { n: 4 } })]);
      expect(next).toMatchObject({ id: fresh!.id, input: { n: 4 }, duplicate: 'replaced' });
    });

    it('keeps a retrying holder unless debounce', async () => {
      await store.insert([keyed('a')]);
      const [job] = await lease();
      expect(await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: job!.leaseToken, runAt: Date.now() + HOUR }])).toEqual([true]);
      expect(await store.insert([keyed('a', { onConflict: 'replace' })])).toMatchObject([{ id: job!.id, state: 'retrying', duplicate: 'kept' }]);
      const [fresh] = await store.insert([keyed('a', { onConflict: 'replace', debounce: true })]);
      expect(fresh!.id).not.toBe(job!.id);
    });

    it('replaces a retrying holder once its backoff is over: for the chart it is pending again', async () => {
      await store.insert([keyed('a')]);
      const [job] = await lease();
      await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: job!.leaseToken, runAt: Date.now() - 1000 }]);
      const [replaced] = await store.insert([keyed('a', { onConflict: 'replace' }, { input: { n: 9 }, priority: 3 })]);
      expect(replaced).toMatchObject({ id: job!.id, state: 'pending', input: { n: 9 }, priority: 3, attempt: 1, duplicate: 'replaced', replacedFrom: 'retrying' });
      expect(await store.get(job!.id)).toMatchObject({ state: 'pending', input: { n: 9 } });
    });

    it('frees a key once its holder is at rest, unless keepFor has not passed since', async () => {
      const [short, long] = await store.insert([keyed('a'), keyed('b', { keepForMs: HOUR })]);
      const leased = await lease();
      const answers = await store.write(leased.map((j) => ({ id: j.id, from: 'running' as const, to: 'completed' as const, token: j.leaseToken })));
      expect(answers).toEqual([true, true]);
      const [a, b] = await store.insert([keyed('a'), keyed('b')]);
      expect(a!.id).not.toBe(short!.id);
      expect(a!.duplicate).toBeUndefined();
      expect(b).toMatchObject({ id: long!.id, state: 'completed', duplicate: 'kept' });
      // The new holder's own keepFor counts from now on: none.
      expect((await store.insert([keyed('a', { keepForMs: HOUR })]))[0]).toMatchObject({ id: a!.id, duplicate: 'kept' });
    });

    it('frees a key once keepFor has passed since its holder came to rest', async () => {
      const [job] = await store.insert([keyed('a', { keepForMs: 100 })]);
      await store.write([{ id: job!.id, from: 'pending', to: 'cancelled', token: null }]);
      expect((await store.insert([keyed('a')]))[0]).toMatchObject({ id: job!.id, duplicate: 'kept' });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect((await store.insert([keyed('a')]))[0]!.id).not.toBe(job!.id);
    });

    it('frees the key of a purged holder', async () => {
      const [job] = await store.insert([keyed('a', { keepForMs: HOUR })]);
      await store.write([{ id: job!.id, from: 'pending', to: 'cancelled', token: null }]);
      expect(await store.purge('cancelled', Date.now() + 1000)).toBe(1);
      const [fresh] = await store.insert([keyed('a')]);
      expect(fresh!.duplicate).toBeUndefined();
      expect(fresh!.id).not.toBe(job!.id);
    });

    it("throws a JobKeyConflictError for onConflict 'error', and stores nothing of the batch", async () => {
      const [holder] = await store.insert([keyed('a')]);
      const error = await store.insert([newJob(), keyed('c'), keyed('a', { onConflict: 'error' })]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JobKeyConflictError);
      expect(error).toMatchObject({ jobName: 'job', key: 'a', jobId: holder!.id, state: 'pending' });
      expect((await store.counts()).pending).toBe(1);
      // Nothing claimed 'c' either.
      expect((await store.insert([keyed('c')]))[0]!.duplicate).toBeUndefined();
    });

    it('refuses a batch that names one key twice, storing nothing', async () => {
      await expect(store.insert([newJob(), keyed('a'), keyed('a')])).rejects.toBeInstanceOf(StoreError);
      expect((await store.counts()).pending).toBe(0);
    });

    it('makes one job of twenty concurrent inserts with one key', async () => {
      const answers = (await Promise.all(Array.from({ length: 20 }, (_, i) => store.insert([keyed('race', {}, { input: { i } })])))).flat();
      expect(new Set(answers.map((j) => j.id)).size).toBe(1);
      expect(answers.filter((j) => !j.duplicate)).toHaveLength(1);
      expect((await store.counts()).pending).toBe(1);
    });
  });
}
