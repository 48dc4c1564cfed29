import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, MAX_PROGRESS_BYTES, memoryStore, NotSerializableError, PayloadTooLargeError, type Store } from '../../src/index.js';
import { deferred, harness } from '../support/harness.js';

describe('progress', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  it('stores the latest report with the running job, sends each stored one on events$, and keeps it after the job ends', async () => {
    const gate = deferred();
    const reported = deferred();
    const job = defineJob({
      name: 'long',
      input: z.object({}),
      handler: async (_, ctx) => {
        await ctx.progress(10);
        await ctx.progress({ done: 5, of: 10 });
        reported.resolve();
        await gate.promise;
      },
    });
    const { dispatcher, events, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await reported.promise;
    const running = await dispatcher.getJob(id);
    expect(running).toMatchObject({ state: 'running', progress: { done: 5, of: 10 } });
    const progress = events.filter((e) => e.jobId === id && e.event === 'PROGRESS');
    expect(progress.map((e) => [e.from, e.to, e.progress])).toEqual([
      ['running', 'running', 10],
      ['running', 'running', { done: 5, of: 10 }],
    ]);
    gate.resolve();
    await reached(id, 'completed');
    expect((await dispatcher.getJob(id))!.progress).toEqual({ done: 5, of: 10 });
  });

  it('coalesces reports made while a write is out: the latest wins, each caller hears once it is stored', async () => {
    const writes: string[][] = [];
    const inner = memoryStore();
    const store: Store = Object.assign(Object.create(inner) as Store, {
      progress: (batch: Parameters<Store['progress']>[0]) => {
        writes.push(batch.map((w) => w.progressJson));
        return inner.progress(batch);
      },
    });
    const job = defineJob({
      name: 'chatty',
      input: z.object({}),
      handler: async (_, ctx) => {
        const all = [];
        for (let i = 1; i <= 100; i++) all.push(ctx.progress(i));
        await Promise.all(all);
      },
    });
    const { dispatcher, reached } = harness({ store });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await reached(id, 'completed');
    expect(writes.length).toBeLessThanOrEqual(2);
    expect(writes.at(-1)).toEqual(['100']);
    expect((await dispatcher.getJob(id))!.progress).toBe(100);
  });

  it('refuses a report that is not JSON or is over the limit, with a typed error naming it', async () => {
    const seen = deferred<unknown[]>();
    const job = defineJob({
      name: 'bad',
      input: z.object({}),
      handler: async (_, ctx) => {
        const errors: unknown[] = [];
        for (const value of [() => 1, 'x'.repeat(MAX_PROGRESS_BYTES)]) {
          try {
            await ctx.progress(value);
          } catch (error) {
            errors.push(error);
          }
        }
        seen.resolve(errors);
      },
    });
    const { dispatcher, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    const [notJson, tooBig] = await seen.promise;
    expect(notJson).toBeInstanceOf(NotSerializableError);
    expect(tooBig).toBeInstanceOf(PayloadTooLargeError);
    expect(tooBig).toMatchObject({ field: 'progress', limit: MAX_PROGRESS_BYTES });
    await reached(id, 'completed');
    expect((await dispatcher.getJob(id))!.progress).toBeNull();
  });

  it('drops a report from a handler whose job has moved on, writing nothing', async () => {
    const late = deferred<() => Promise<void>>();
    const job = defineJob({
      name: 'slow',
      input: z.object({}),
      timeout: 50,
      maxRetries: 0,
      handler: async (_, ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
        late.resolve(() => ctx.progress(99));
      },
    });
    const { dispatcher, reached, events } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await reached(id, 'dlq');
    await (await late.promise)();
    expect((await dispatcher.getJob(id))!.progress).toBeNull();
    expect(events.filter((e) => e.event === 'PROGRESS')).toEqual([]);
  });
});
