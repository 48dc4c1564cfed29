import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../store/contract.js';
import { describeStoreKeeping } from './store-suite-keeping.js';
import { describeLeaseRouting } from './store-suite-routing.js';
import { describeSchedules } from './store-suite-schedules.js';
import { describeUniqueKeys } from './store-suite-unique.js';
import { describeQueueSettings } from './store-suite-queues.js';
import { describeJobAdmin } from './store-suite-jobs.js';
import { describeTraceContext } from './store-suite-trace.js';
import { describeHistory } from './store-suite-history.js';
import { NAMES, newJob, room } from './store-jobs.js';

export interface StoreUnderTest {
  store: Store;
  /** Drops whatever the store made (files, schemas). */
  cleanup?: () => Promise<void>;
}

export interface StoreSuiteOptions {
  /** Shown in the suite's name: `store conformance: <name>`. */
  name?: string;
}

const HOUR = 3_600_000;

/**
 * The store contract, as every backend must keep it, as a vitest suite: call
 * it at the top of a test file. `make` gives a fresh, empty, opened store for
 * each test, with what removes it afterwards when there is something to
 * remove (a file, a schema). The engine's own stores are held to it.
 */
export function storeSuite(make: () => Promise<StoreUnderTest>, options: StoreSuiteOptions = {}): void {
  describe(`store conformance: ${options.name ?? 'store'}`, () => {
    let sut: StoreUnderTest;
    let store: Store;

    beforeEach(async () => {
      sut = await make();
      store = sut.store;
    });

    afterEach(async () => {
      await store.close();
      await sut.cleanup?.();
    });

    it('inserts jobs as pending with no attempts, keeping every field and the input as JSON', async () => {
      const input = { to: 'a@b.c', nested: { list: [1, 'two', null, true] } };
      const [job] = await store.insert([newJob({ name: 'mail', queue: 'q', input, priority: 7, maxRetries: 2, timeoutMs: 1234 })]);
      expect(job).toMatchObject({
        name: 'mail',
        queue: 'q',
        state: 'pending',
        input,
        priority: 7,
        attempt: 0,
        maxRetries: 2,
        timeoutMs: 1234,
        lastError: null,
        leaseToken: null,
        leaseExpiresAt: null,
      });
      expect(typeof job!.id).toBe('string');
      expect(await store.get(job!.id)).toEqual(job);
      expect(await store.get('999999999')).toBeNull();
    });

    it('keeps its own copy of the input', async () => {
      const input = { list: [1, 2] };
      const [job] = await store.insert([newJob({ input })]);
      input.list.push(3);
      expect((await store.get(job!.id))!.input).toEqual({ list: [1, 2] });
    });

    it('inserts in bulk, in order, with distinct ids', async () => {
      const jobs = await store.insert(Array.from({ length: 1000 }, (_, i) => newJob({ input: { i } })));
      expect(jobs.map((j) => j.input)).toEqual(Array.from({ length: 1000 }, (_, i) => ({ i })));
      expect(new Set(jobs.map((j) => j.id)).size).toBe(1000);
      expect((await store.counts()).pending).toBe(1000);
    });

    it('leases in the one order: priority desc, runAt asc, enqueue order asc', async () => {
      const t = Date.now() - 10_000;
      const specs = [
        { tag: 'low-old', priority: 0, runAt: t },
        { tag: 'high-late', priority: 5, runAt: t + 200 },
        { tag: 'low-first-a', priority: 0, runAt: t - 100 },
        { tag: 'high-early', priority: 5, runAt: t + 100 },
        { tag: 'low-first-b', priority: 0, runAt: t - 100 },
        { tag: 'mid', priority: 2, runAt: t + 500 },
      ];
      for (const s of specs) await store.insert([newJob({ input: s.tag, priority: s.priority, runAt: s.runAt })]);
      const { jobs } = await store.lease(room(10));
      expect(jobs.map((j) => j.input)).toEqual(['high-early', 'high-late', 'mid', 'low-first-a', 'low-first-b', 'low-old']);
    });

    it('marks leased jobs running under a lease, counting the attempt', async () => {
      await store.insert([newJob(), newJob(), newJob()]);
      const before = Date.now();
      const { jobs } = await store.lease({ limit: 2, queueRoom: {}, leaseMs: 30_000, names: NAMES });
      expect(jobs).toHaveLength(2);
      for (const job of jobs) {
        expect(job).toMatchObject({ state: 'running', attempt: 1, leasedFrom: 'pending' });
        expect(job.leaseToken).toBeTruthy();
        expect(job.leaseExpiresAt!).toBeGreaterThanOrEqual(before + 30_000 - 1000);
        expect(await store.get(job.id)).toMatchObject({ state: 'running', attempt: 1, leaseToken: job.leaseToken });
      }
      const second = await store.lease(room(10));
      expect(second.jobs).toHaveLength(1);
      expect((await store.lease(room(10))).jobs).toHaveLength(0);
    });

    it('leaves future jobs alone and reports when the earliest is due', async () => {
      const soon = Date.now() + HOUR;
      await store.insert([newJob({ runAt: soon + 5000 }), newJob({ runAt: soon }), newJob()]);
      const first = await store.lease(room(10));
      expect(first.jobs).toHaveLength(1);
      expect(first.nextRunAt).toBe(soon);
      const empty = await store.lease(room(10));
      expect(empty.jobs).toHaveLength(0);
      expect(empty.nextRunAt).toBe(soon);
    });

    it('reports when the earliest is due on a short lease that follows a full one', async () => {
      const soon = Date.now() + HOUR;
      await store.insert([newJob(), newJob(), newJob({ runAt: soon })]);
      expect(await store.lease(room(2))).toMatchObject({ jobs: [{}, {}], nextRunAt: null });
      expect(await store.lease(room(10))).toEqual({ jobs: [], nextRunAt: soon });
      expect(await store.lease(room(10))).toEqual({ jobs: [], nextRunAt: soon });
    });

    it('reports no next runAt when nothing waits', async () => {
      expect(await store.lease(room(5))).toEqual({ jobs: [], nextRunAt: null });
    });

    it('honours the room of each capped queue and leaves other queues bounded by the limit', async () => {
      await store.insert([
        ...Array.from({ length: 5 }, () => newJob({ queue: 'mail', priority: 9 })),
        ...Array.from({ length: 5 }, () => newJob({ queue: 'sms', priority: 5 })),
        ...Array.from({ length: 5 }, () => newJob({ queue: 'default' })),
      ]);
      const { jobs } = await store.lease(room(8, { mail: 2, sms: 0 }));
      const byQueue = (q: string) => jobs.filter((j) => j.queue === q).length;
      expect(byQueue('mail')).toBe(2);
      expect(byQueue('sms')).toBe(0);
      expect(byQueue('default')).toBe(5);
      expect(jobs).toHaveLength(7);
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
      const first = await store.lease(room(10, { mail: 4 }));
      expect(first.jobs.map((j) => j.input)).toEqual(['mail-9-0', 'mail-9-1', 'mail-9-2', 'mail-1-0', 'default-0', 'default-1', 'default-2']);
      expect((await store.lease(room(10, { mail: 0 }))).jobs).toEqual([]);
    });

    it('is not held up by jobs scheduled later at a higher priority, and reports the earliest of any queue', async () => {
      const later = Date.now() + HOUR;
      await store.insert([
        newJob({ priority: 9, runAt: later + 1000, queue: 'x', input: 'later-9' }),
        newJob({ priority: 5, runAt: later, queue: 'y', input: 'later-5' }),
        newJob({ priority: 0, input: 'due-0' }),
      ]);
      const { jobs, nextRunAt } = await store.lease(room(10));
      expect(jobs.map((j) => j.input)).toEqual(['due-0']);
      expect(nextRunAt).toBe(later);
    });

    describeLeaseRouting(() => store);
    describeQueueSettings(() => store);

    it('never leases one job twice to concurrent callers', async () => {
      await store.insert(Array.from({ length: 40 }, () => newJob()));
      const results = await Promise.all(Array.from({ length: 6 }, () => store.lease(room(10))));
      const ids = results.flatMap((r) => r.jobs.map((j) => j.id));
      expect(ids).toHaveLength(40);
      expect(new Set(ids).size).toBe(40);
    });

    it('applies a write only while the job is in the expected state under the expected lease', async () => {
      await store.insert([newJob()]);
      const [job] = (await store.lease(room(1))).jobs;
      const error = { name: 'Error', message: 'boom' };
      expect(await store.write([{ id: job!.id, from: 'pending', to: 'completed' }])).toEqual([false]);
      expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: 'not-the-lease' }])).toEqual([false]);
      expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: null }])).toEqual([false]);
      expect(await store.write([{ id: '424242', from: 'running', to: 'completed' }])).toEqual([false]);
      const runAt = Date.now() + HOUR;
      expect(
        await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: job!.leaseToken, runAt, lastError: error, attempt: 1 }]),
      ).toEqual([true]);
      const stored = await store.get(job!.id);
      expect(stored).toMatchObject({ state: 'retrying', runAt, lastError: error, attempt: 1, leaseToken: null, leaseExpiresAt: null });
      // The old lease is gone: a stale writer loses.
      expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: job!.leaseToken }])).toEqual([false]);
    });

    it('answers a batch of writes one by one, in order', async () => {
      await store.insert([newJob(), newJob(), newJob()]);
      const { jobs } = await store.lease(room(3));
      const answers = await store.write([
        { id: jobs[0]!.id, from: 'running', to: 'completed', token: jobs[0]!.leaseToken },
        { id: jobs[1]!.id, from: 'running', to: 'completed', token: 'stale' },
        { id: jobs[2]!.id, from: 'running', to: 'dlq', token: jobs[2]!.leaseToken, lastError: { name: 'E', message: 'x' } },
      ]);
      expect(answers).toEqual([true, false, true]);
      expect((await store.counts())).toMatchObject({ completed: 1, running: 1, dlq: 1 });
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

    it('keeps the result a completion write carries, and leaves it alone on every other write', async () => {
      const [job, other] = await store.insert([newJob(), newJob()]);
      expect(job!.result).toBeNull();
      const leased = (await store.lease(room(2))).jobs;
      const tokenOf = (id: string) => leased.find((j) => j.id === id)!.leaseToken;
      // A failed attempt first: the retry's writes carry no result and leave none.
      expect(await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: tokenOf(job!.id), runAt: Date.now() - 1 }])).toEqual([true]);
      expect((await store.get(job!.id))!.result).toBeNull();
      const [again] = (await store.lease(room(1))).jobs;
      const result = { total: 12, currency: 'EUR', lines: [{ sku: 'a', n: 2 }], note: null };
      const answers = await store.write([
        { id: job!.id, from: 'running', to: 'completed', token: again!.leaseToken, resultJson: JSON.stringify(result) },
        { id: other!.id, from: 'running', to: 'completed', token: tokenOf(other!.id) },
      ]);
      expect(answers).toEqual([true, true]);
      const stored = await store.get(job!.id);
      expect(stored).toMatchObject({ state: 'completed', result });
      expect(stored!.defect).toBeUndefined();
      expect((await store.get(other!.id))!.result).toBeNull();
      // A later write with no result (none the chart makes, but the contract allows it) keeps it.
      expect(await store.write([{ id: job!.id, from: 'completed', to: 'completed' }])).toEqual([true]);
      expect((await store.get(job!.id))!.result).toEqual(result);
      // A stale completion loses its compare-and-set and its result with it.
      expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: again!.leaseToken, resultJson: '"stale"' }])).toEqual([false]);
      expect((await store.get(job!.id))!.result).toEqual(result);
    });

    it('keeps results of any JSON kind, listed and leased rows included', async () => {
      const values = ['text', 42, [1, 'two'], true, { deep: { er: [null] } }];
      const jobs = await store.insert(values.map(() => newJob()));
      const leased = (await store.lease(room(values.length))).jobs;
      const applied = await store.write(
        leased.map((j) => ({ id: j.id, from: 'running' as const, to: 'dlq' as const, token: j.leaseToken, resultJson: JSON.stringify(values[jobs.findIndex((x) => x.id === j.id)]) })),
      );
      expect(applied.every(Boolean)).toBe(true);
      const listed = (await store.list({ state: 'dlq', limit: 10 })).jobs;
      expect(listed.map((j) => j.result)).toEqual(values);
    });

    it('tells a rest watcher when a write through it brings the job to rest, and not before', async () => {
      if (!store.watchRest) return;
      const [job] = await store.insert([newJob()]);
      let told = 0;
      const stop = await store.watchRest(job!.id, () => told++);
      const [leased] = (await store.lease(room(1))).jobs;
      expect(await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: leased!.leaseToken, runAt: Date.now() - 1 }])).toEqual([true]);
      expect(told).toBe(0);
      const [again] = (await store.lease(room(1))).jobs;
      expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: again!.leaseToken }])).toEqual([true]);
      // At least once: a hint may come twice for one write (on Postgres, from the write itself and,
      // a moment later, from its NOTIFY); waitFor confirms each with a read.
      expect(told).toBeGreaterThanOrEqual(1);
      stop();
      stop();
      const before = told;
      expect(await store.write([{ id: job!.id, from: 'completed', to: 'cancelled' }])).toEqual([true]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(told).toBe(before);
    });

    it('applies a write with no token whatever lease the job holds', async () => {
      await store.insert([newJob()]);
      const [job] = (await store.lease(room(1))).jobs;
      expect(await store.write([{ id: job!.id, from: 'running', to: 'cancelled' }])).toEqual([true]);
      expect(await store.get(job!.id)).toMatchObject({ state: 'cancelled', leaseToken: null });
    });

    describeStoreKeeping(() => store);
    describeSchedules(() => store);
    describeUniqueKeys(() => store);
    describeJobAdmin(() => store);
    describeTraceContext(() => store);
    describeHistory(() => store);
  });
}
