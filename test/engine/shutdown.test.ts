import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, LifecycleError, memoryStore, ShutdownError } from '../../src/index.js';
import { deferred, harness } from '../support/harness.js';

describe('shutdown', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  it('lets running jobs finish within the grace period, and leases nothing new', async () => {
    const started = deferred();
    const ran: number[] = [];
    const job = defineJob({
      name: 'steady',
      input: z.object({ n: z.number() }),
      handler: async ({ n }) => {
        ran.push(n);
        started.resolve();
        await new Promise((r) => setTimeout(r, 60));
      },
    });
    const store = memoryStore();
    const { dispatcher } = harness({ store, concurrency: 1 });
    dispatcher.register(job);
    const first = await dispatcher.enqueue(job, { n: 1 });
    const second = await dispatcher.enqueue(job, { n: 2 });
    await dispatcher.start();
    await started.promise;
    await dispatcher.stop({ grace: '5s' });
    expect(ran).toEqual([1]);
    // The store is closed with the dispatcher; a fresh dispatcher on it sees what was left.
    const after = harness({ store });
    after.dispatcher.register(job);
    stop = () => after.dispatcher.stop();
    expect((await after.dispatcher.getJob(first.id))!.state).toBe('completed');
    expect((await after.dispatcher.getJob(second.id))!.state).toBe('pending');
  });

  it('aborts jobs still running when the grace runs out and gives them back to pending, uncounted', async () => {
    const started = deferred();
    let reason: unknown;
    const job = defineJob({
      name: 'endless',
      input: z.object({}),
      handler: async (_, ctx) => {
        ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason));
        started.resolve();
        await new Promise(() => {}); // ignores the signal on purpose
      },
    });
    const store = memoryStore();
    const { dispatcher, events } = harness({ store });
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await started.promise;
    const t = Date.now();
    await dispatcher.stop({ grace: 50 });
    expect(Date.now() - t).toBeGreaterThanOrEqual(45);
    expect(reason).toBeInstanceOf(ShutdownError);
    expect(events.filter((e) => e.jobId === id).map((e) => e.to)).toEqual(['running', 'pending']);
    const after = harness({ store });
    stop = () => after.dispatcher.stop();
    expect(await after.dispatcher.getJob(id)).toMatchObject({ state: 'pending', attempt: 0, leaseExpiresAt: null });
    expect((await after.dispatcher.counts()).running).toBe(0);
  });

  it('drains a busy dispatcher: nothing accepted is lost, nothing stays running', async () => {
    let completed = 0;
    const job = defineJob({
      name: 'busy',
      input: z.object({ n: z.number() }),
      handler: async ({ n }) => {
        await new Promise((r) => setTimeout(r, n % 2 === 0 ? 1 : 500));
        completed++;
      },
    });
    const store = memoryStore();
    const { dispatcher } = harness({ store, concurrency: 8 });
    dispatcher.register(job);
    await dispatcher.start();
    await dispatcher.enqueueMany(job, Array.from({ length: 200 }, (_, n) => ({ n })));
    await new Promise((r) => setTimeout(r, 30));
    await dispatcher.stop({ grace: 100 });
    const after = harness({ store });
    stop = () => after.dispatcher.stop();
    const counts = await after.dispatcher.counts();
    expect(counts.running).toBe(0);
    expect(counts.completed).toBe(completed);
    expect(counts.pending + counts.completed).toBe(200);
  });

  it('is idempotent and final: stop twice is one stop; nothing works afterwards', async () => {
    const job = defineJob({ name: 'x', input: z.object({}), handler: async () => {} });
    const { dispatcher } = harness();
    dispatcher.register(job);
    await dispatcher.start();
    const a = dispatcher.stop();
    const b = dispatcher.stop();
    expect(a).toBe(b);
    await a;
    await expect(dispatcher.enqueue(job, {})).rejects.toBeInstanceOf(LifecycleError);
    await expect(dispatcher.start()).rejects.toBeInstanceOf(LifecycleError);
  });

  it('stops a dispatcher that never started', async () => {
    const job = defineJob({ name: 'y', input: z.object({}), handler: async () => {} });
    const { dispatcher } = harness();
    dispatcher.register(job);
    await dispatcher.enqueue(job, {});
    await dispatcher.stop();
    await expect(dispatcher.getJob('1')).rejects.toBeInstanceOf(LifecycleError);
  });
});
