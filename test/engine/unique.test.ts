import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, InvalidOptionError, JobKeyConflictError, type TransitionEvent } from '../../src/index.js';
import { createTestDispatcher, type TestDispatcher } from '../../src/testing.js';
import { deferred } from '../support/harness.js';
import { until } from '../support/until.js';

const START = new Date('2030-01-01T00:00:00Z');
const HOUR = 3_600_000;

describe('unique jobs: enqueue with a key', () => {
  let t: TestDispatcher | null = null;
  const ran: number[] = [];
  let gate: ReturnType<typeof deferred<void>> | null = null;
  const sync = defineJob({
    name: 'sync',
    input: z.object({ n: z.number() }),
    handler: async ({ n }) => {
      ran.push(n);
      await gate?.promise;
    },
  });
  const make = () => {
    ran.length = 0;
    gate = null;
    t = createTestDispatcher({ jobs: [sync], now: START });
    const steps: TransitionEvent[] = [];
    t.events$.subscribe((e) => steps.push(e));
    return { t, steps };
  };
  afterEach(async () => {
    gate?.resolve();
    await t?.stop({ grace: 0 });
    t = null;
  });

  it('answers the waiting job, marked duplicate, and makes no second job (ignore is the default)', async () => {
    const { t } = make();
    const first = await t.enqueue(sync, { n: 1 }, { key: 'user-7' });
    expect(first.duplicate).toBeUndefined();
    const second = await t.enqueue(sync, { n: 2 }, { key: 'user-7' });
    expect(second).toMatchObject({ id: first.id, input: { n: 1 }, duplicate: true, state: 'pending' });
    // Another key, no key, or another name's key is another job.
    const other = await t.enqueue(sync, { n: 3 }, { key: 'user-8' });
    const plain = await t.enqueue(sync, { n: 4 });
    expect(new Set([first.id, other.id, plain.id]).size).toBe(3);
    await t.runUntilIdle();
    expect(ran.sort()).toEqual([1, 3, 4]);
  });

  it('holds the key while the job runs, and frees it once the job is at rest', async () => {
    const { t } = make();
    gate = deferred();
    const first = await t.enqueue(sync, { n: 1 }, { key: 'k' });
    await t.start();
    await until(() => ran.length === 1, 'the first job to start', 5000, 5);
    expect(await t.enqueue(sync, { n: 2 }, { key: 'k' })).toMatchObject({ id: first.id, state: 'running', duplicate: true });
    gate.resolve();
    await t.runUntilIdle();
    const again = await t.enqueue(sync, { n: 3 }, { key: 'k' });
    expect(again.id).not.toBe(first.id);
    expect(again.duplicate).toBeUndefined();
    await t.runUntilIdle();
    expect(ran).toEqual([1, 3]);
  });

  it('keeps the key past rest for keepFor, measured from when the job came to rest', async () => {
    const { t } = make();
    const first = await t.enqueue(sync, { n: 1 }, { key: 'k', keepFor: '1h' });
    await t.runUntilIdle();
    await t.clock.advance(HOUR - 1);
    expect(await t.enqueue(sync, { n: 2 }, { key: 'k' })).toMatchObject({ id: first.id, state: 'completed', duplicate: true });
    await t.clock.advance(1);
    const next = await t.enqueue(sync, { n: 3 }, { key: 'k' });
    expect(next.id).not.toBe(first.id);
    expect(next.duplicate).toBeUndefined();
  });

  it("replaces a waiting job's input, runAt and priority with onConflict 'replace', and reports the REPLACE edge", async () => {
    const { t, steps } = make();
    const first = await t.enqueue(sync, { n: 1 }, { key: 'k', delay: '1h', priority: 1 });
    const replaced = await t.enqueue(sync, { n: 2 }, { key: 'k', onConflict: 'replace', priority: 5 });
    expect(replaced).toMatchObject({ id: first.id, input: { n: 2 }, priority: 5, duplicate: true, state: 'pending' });
    expect(replaced.runAt.getTime()).toBe(START.getTime());
    expect(await t.getJob(first.id)).toMatchObject({ input: { n: 2 }, priority: 5, runAt: START });
    expect(steps.map((s) => `${s.from} -${s.event}-> ${s.to}`)).toEqual(['pending -REPLACE-> pending']);
    await t.runUntilIdle();
    expect(ran).toEqual([2]);
    expect(t.clock.now()).toBe(START.getTime());
  });

  it('replaces a retrying job whose backoff is over, reporting the delayed edge and REPLACE', async () => {
    const { t, steps } = make();
    const first = await t.enqueue(sync, { n: 1 }, { key: 'k' });
    // A worker elsewhere ran it and it failed; its backoff has passed.
    const [leased] = (await t.store.lease({ limit: 1, queueRoom: {}, leaseMs: HOUR, names: ['sync'] })).jobs;
    await t.store.write([{ id: first.id, from: 'running', to: 'retrying', token: leased!.leaseToken, runAt: START.getTime() }]);
    const replaced = await t.enqueue(sync, { n: 2 }, { key: 'k', onConflict: 'replace' });
    expect(replaced).toMatchObject({ id: first.id, state: 'pending', input: { n: 2 }, attempt: 1, duplicate: true });
    expect(steps.map((s) => `${s.from} -${s.event}-> ${s.to}`)).toEqual([
      'retrying -xstate.after.backoff.job.retrying-> pending',
      'pending -REPLACE-> pending',
    ]);
  });

  it("leaves a running job as it is with onConflict 'replace', answering it as a duplicate", async () => {
    const { t, steps } = make();
    gate = deferred();
    const first = await t.enqueue(sync, { n: 1 }, { key: 'k' });
    await t.start();
    await until(() => ran.length === 1, 'the first job to start', 5000, 5);
    expect(await t.enqueue(sync, { n: 2 }, { key: 'k', onConflict: 'replace' })).toMatchObject({ id: first.id, input: { n: 1 }, duplicate: true });
    expect(steps.some((s) => s.event === 'REPLACE')).toBe(false);
    gate.resolve();
    await t.runUntilIdle();
    expect(ran).toEqual([1]);
  });

  it("throws a JobKeyConflictError with onConflict 'error', storing nothing", async () => {
    const { t } = make();
    const first = await t.enqueue(sync, { n: 1 }, { key: 'k' });
    const error = await t.enqueue(sync, { n: 2 }, { key: 'k', onConflict: 'error' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobKeyConflictError);
    expect(error).toMatchObject({ jobName: 'sync', key: 'k', jobId: first.id, state: 'pending' });
    expect((await t.counts()).pending).toBe(1);
  });

  it('refuses options that mean nothing, naming the field, and a key in enqueueMany', async () => {
    const { t } = make();
    const refused = (options: object) => t.enqueue(sync, { n: 1 }, options as never).catch((e: unknown) => e);
    expect(await refused({ onConflict: 'replace' })).toMatchObject({ field: 'options.onConflict', reason: expect.stringMatching(/needs a key/) });
    expect(await refused({ keepFor: '1h' })).toMatchObject({ field: 'options.keepFor' });
    expect(await refused({ key: 'k', debounce: '1s', delay: '1s' })).toMatchObject({ field: 'options.debounce' });
    expect(await refused({ key: 'k', debounce: '1s', onConflict: 'ignore' })).toMatchObject({ field: 'options.onConflict' });
    expect(await refused({ key: 'k', onConflict: 'keep' })).toMatchObject({ field: 'options.onConflict' });
    expect(await refused({ key: '' })).toMatchObject({ field: 'options.key', reason: 'must not be empty' });
    expect(await refused({ key: 'k', keepFor: 'soon' })).toBeInstanceOf(InvalidOptionError);
    const many = await t.enqueueMany(sync, [{ n: 1 }], { key: 'k' }).catch((e: unknown) => e);
    expect(many).toMatchObject({ field: 'options.key', reason: expect.stringMatching(/enqueueMany/) });
    expect((await t.counts()).pending).toBe(0);
  });
});

describe('debounce: run once, after the last enqueue, with the last input', () => {
  let t: TestDispatcher | null = null;
  afterEach(async () => {
    await t?.stop({ grace: 0 });
    t = null;
  });

  it('pushes the run back with every enqueue and runs the last input once', async () => {
    const ran: Array<{ n: number; at: number }> = [];
    const save = defineJob({ name: 'save', input: z.object({ n: z.number() }), handler: async ({ n }) => void ran.push({ n, at: t!.clock.now() }) });
    t = createTestDispatcher({ jobs: [save], now: START });
    const steps: TransitionEvent[] = [];
    t.events$.subscribe((e) => steps.push(e));
    await t.start();
    const first = await t.enqueue(save, { n: 1 }, { key: 'doc', debounce: '5s' });
    await t.clock.advance(3000);
    const second = await t.enqueue(save, { n: 2 }, { key: 'doc', debounce: '5s' });
    await t.clock.advance(3000);
    const third = await t.enqueue(save, { n: 3 }, { key: 'doc', debounce: '5s' });
    expect([second.id, third.id]).toEqual([first.id, first.id]);
    expect(third.runAt.getTime()).toBe(START.getTime() + 11_000);
    await t.clock.advance(4999);
    await t.runUntilIdle();
    expect(ran).toEqual([]);
    await t.clock.advance(1);
    await t.runUntilIdle();
    expect(ran).toEqual([{ n: 3, at: START.getTime() + 11_000 }]);
    expect(steps.filter((s) => s.event === 'REPLACE')).toHaveLength(2);
  });

  it('queues a new job when the last one has started, as BullMQ debounce does once a job is active', async () => {
    const ran: number[] = [];
    const gate = deferred<void>();
    const save = defineJob({
      name: 'save',
      input: z.object({ n: z.number() }),
      handler: async ({ n }) => {
        ran.push(n);
        if (n === 1) await gate.promise;
      },
    });
    t = createTestDispatcher({ jobs: [save], now: START });
    await t.start();
    const first = await t.enqueue(save, { n: 1 }, { key: 'doc', debounce: '1s' });
    await t.clock.advance(1000);
    await until(() => ran.length === 1, 'the first job to start', 5000, 5);
    const second = await t.enqueue(save, { n: 2 }, { key: 'doc', debounce: '1s' });
    expect(second.id).not.toBe(first.id);
    expect(second.duplicate).toBeUndefined();
    // The new job holds the key now: a third enqueue replaces it, not the running one.
    expect(await t.enqueue(save, { n: 3 }, { key: 'doc', debounce: '1s' })).toMatchObject({ id: second.id, duplicate: true });
    gate.resolve();
    await t.clock.advance(1000);
    await t.runUntilIdle();
    expect(ran).toEqual([1, 3]);
  });
});
