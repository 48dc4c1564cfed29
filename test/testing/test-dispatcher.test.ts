import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoff, defineJob, type TransitionEvent } from '../../src/index.js';
import { createTestDispatcher, type TestDispatcher } from '../../src/testing.js';

const HOUR = 3_600_000;

describe('createTestDispatcher: the engine on a fake clock', () => {
  let t: TestDispatcher | null = null;
  afterEach(async () => {
    await t?.stop({ grace: 0 });
    t = null;
  });

  it('moves through an hour of backoff at a time without waiting for it', async () => {
    let calls = 0;
    const flaky = defineJob({
      name: 'flaky',
      input: z.object({}),
      maxRetries: 3,
      backoff: backoff.constant('1h'),
      handler: async () => {
        if (++calls < 3) throw new Error(`try ${calls}`);
      },
    });
    t = createTestDispatcher({ jobs: [flaky], now: new Date('2030-01-01T00:00:00Z') });
    const steps: TransitionEvent[] = [];
    t.events$.subscribe((e) => steps.push(e));
    const started = Date.now();
    const job = await t.enqueue(flaky, {});
    await t.runUntilIdle();
    expect(await t.getJob(job.id)).toMatchObject({ state: 'completed', attempt: 3 });
    // Two backoffs of an hour on the fake clock, in well under a second of real time.
    expect(t.clock.now() - new Date('2030-01-01T00:00:00Z').getTime()).toBeGreaterThanOrEqual(2 * HOUR);
    expect(Date.now() - started).toBeLessThan(5_000);
    const leases = steps.filter((s) => s.to === 'running').map((s) => s.at.getTime());
    expect(leases[1]! - leases[0]!).toBeGreaterThanOrEqual(HOUR);
  });

  it('times a handler out on the fake clock, and lands the job in the DLQ after its retries', async () => {
    const hangs = defineJob({
      name: 'hangs',
      input: z.object({}),
      timeout: '5m',
      maxRetries: 1,
      backoff: backoff.constant('10s'),
      handler: (_input, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    });
    t = createTestDispatcher({ jobs: [hangs] });
    const from = t.clock.now();
    const job = await t.enqueue(hangs, {});
    const done = await t.waitFor(job);
    expect(done).toMatchObject({ state: 'dlq', attempt: 2, lastError: { name: 'TimeoutError' } });
    expect(t.clock.now() - from).toBeGreaterThanOrEqual(10 * 60_000 + 10_000);
  });

  it('leaves a job scheduled for later until the clock gets there', async () => {
    let ran = 0;
    const later = defineJob({ name: 'later', input: z.object({}), handler: async () => void ran++ });
    t = createTestDispatcher({ jobs: [later] });
    const job = await t.enqueue(later, {}, { delay: '1d' });
    await t.runUntilIdle();
    expect(ran).toBe(0);
    expect((await t.getJob(job.id))!.state).toBe('pending');
    await t.clock.advance('1d');
    await t.runUntilIdle();
    expect(ran).toBe(1);
    expect((await t.getJob(job.id))!.state).toBe('completed');
  });

  it("shows what a handler enqueued, with the follow-up's input typed", async () => {
    const receipt = defineJob({ name: 'receipt', input: z.object({ order: z.number() }), handler: async () => {} });
    const order = defineJob({
      name: 'order',
      input: z.object({ id: z.number() }),
      handler: async ({ id }) => {
        await t!.enqueue(receipt, { order: id }, { delay: '1h' });
      },
    });
    t = createTestDispatcher({ jobs: [order, receipt] });
    await t.enqueue(order, { id: 7 });
    await t.runUntilIdle();
    const receipts = await t.enqueued(receipt);
    expect(receipts.map((r) => [r.input.order, r.state])).toEqual([[7, 'pending']]);
    expect((await t.enqueued(order)).map((r) => r.state)).toEqual(['completed']);
  });

  it('gives a handler that waits on real time that time before the clock jumps to its timeout', async () => {
    const io = defineJob({ name: 'io', input: z.object({}), timeout: '1m', handler: () => new Promise<string>((resolve) => setTimeout(() => resolve('read'), 30)) });
    t = createTestDispatcher({ jobs: [io] });
    const done = await t.waitFor(await t.enqueue(io, {}));
    expect(done).toMatchObject({ state: 'completed', attempt: 1 });
  });

  it('gives up with a clear error on a job that never comes to rest', async () => {
    const forever = defineJob({ name: 'forever', input: z.object({}), timeout: '1s', maxRetries: 1_000_000, backoff: backoff.constant(0), handler: async () => Promise.reject(new Error('again')) });
    t = createTestDispatcher({ jobs: [forever], maxSteps: 50 });
    await t.enqueue(forever, {});
    await expect(t.runUntilIdle()).rejects.toThrow(/gave up waiting for the queue to come to rest after 50 steps/);
  });
});
