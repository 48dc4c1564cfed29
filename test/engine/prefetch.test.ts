import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, memoryStore } from '../../src/index.js';
import { deferred, harness } from '../support/harness.js';
import { until } from '../support/until.js';

describe('prefetch', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  function gated() {
    const gate = deferred();
    let now = 0;
    let peak = 0;
    const ran: number[] = [];
    const job = defineJob({
      name: 'gated',
      input: z.object({ n: z.number() }),
      handler: async ({ n }) => {
        ran.push(n);
        peak = Math.max(peak, ++now);
        await gate.promise;
        now--;
      },
    });
    return { job, gate, ran, peak: () => peak };
  }

  it('holds more jobs than it runs, and runs no more than the concurrency', async () => {
    const { job, gate, ran, peak } = gated();
    const store = memoryStore();
    const { dispatcher, reached } = harness({ store, concurrency: 2, prefetch: 3 });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    const jobs = await dispatcher.enqueueMany(job, Array.from({ length: 10 }, (_, n) => ({ n })));
    await dispatcher.start();
    await new Promise((r) => setTimeout(r, 30));
    expect(ran).toEqual([0, 1]);
    // Five leased: two running, three waiting for a handler.
    expect((await dispatcher.counts()).running).toBe(5);
    gate.resolve();
    await Promise.all(jobs.map((j) => reached(j.id, 'completed')));
    expect(peak()).toBe(2);
    // Prefetched jobs still run in the one order.
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('gives prefetched jobs back to the queue on stop, without counting an attempt', async () => {
    const { job, gate, ran } = gated();
    const store = memoryStore();
    const { dispatcher } = harness({ store, concurrency: 1, prefetch: 2 });
    dispatcher.register(job);
    const [first, second, third] = await dispatcher.enqueueMany(job, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    await dispatcher.start();
    await new Promise((r) => setTimeout(r, 30));
    const stopping = dispatcher.stop({ grace: '5s' });
    gate.resolve();
    await stopping;
    expect(ran).toEqual([1]);
    const after = harness({ store });
    stop = () => after.dispatcher.stop();
    expect(await after.dispatcher.getJob(first!.id)).toMatchObject({ state: 'completed', attempt: 1 });
    for (const waiting of [second!, third!]) {
      expect(await after.dispatcher.getJob(waiting.id)).toMatchObject({ state: 'pending', attempt: 0, leaseExpiresAt: null });
    }
  });

  it('cancels a prefetched job before it ever runs', async () => {
    const { job, gate, ran } = gated();
    const { dispatcher, reached } = harness({ concurrency: 1, prefetch: 1 });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    const [first, second] = await dispatcher.enqueueMany(job, [{ n: 1 }, { n: 2 }]);
    await dispatcher.start();
    await new Promise((r) => setTimeout(r, 30));
    expect((await dispatcher.cancel(second!.id)).state).toBe('cancelled');
    gate.resolve();
    await reached(first!.id, 'completed');
    expect(ran).toEqual([1]);
  });

  it('starts a prefetched job of higher priority before those of lower priority leased ahead of it', async () => {
    const ran: number[] = [];
    const release: Array<() => void> = [];
    const job = defineJob({
      name: 'held',
      input: z.object({ n: z.number() }),
      handler: async ({ n }) => {
        ran.push(n);
        await new Promise<void>((resolve) => release.push(resolve));
      },
    });
    const { dispatcher, reached } = harness({ concurrency: 1, prefetch: 3 });
    stop = async () => {
      for (const resolve of release) resolve();
      await dispatcher.stop();
    };
    dispatcher.register(job);
    const jobs = await dispatcher.enqueueMany(job, [1, 2, 3, 4].map((n) => ({ n })));
    await dispatcher.start();
    await new Promise((r) => setTimeout(r, 30));
    // One running, three prefetched: the urgent job is leased only when a slot frees.
    const urgent = await dispatcher.enqueue(job, { n: 99 }, { priority: 10 });
    release.shift()!();
    await reached(urgent.id, 'running');
    // The rest, one at a time, as each handler starts.
    for (let left = 4; left > 0; left--) {
      await until(() => release.length > 0, 'the next handler to start', 10_000, 5);
      release.shift()!();
    }
    await Promise.all([...jobs, urgent].map((j) => reached(j.id, 'completed')));
    // Job 2 took the freed handler at once; the urgent job, leased into the freed room, ran next.
    expect(ran).toEqual([1, 2, 99, 3, 4]);
  });

  it('checks the option', () => {
    expect(() => harness({ prefetch: -1 })).toThrow(/prefetch: must not be negative/);
  });
});
