import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CancelledError, defineJob, JobNotFoundError, LeaseLostError, memoryStore } from '../../src/index.js';
import { deferred, harness } from '../support/harness.js';

describe('cancel', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  it('cancels a pending job, which then never runs', async () => {
    let runs = 0;
    const job = defineJob({ name: 'never', input: z.object({}), handler: async () => void runs++ });
    const { dispatcher, events } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    const { id } = await dispatcher.enqueue(job, {});
    const cancelled = await dispatcher.cancel(id);
    expect(cancelled.state).toBe('cancelled');
    expect(events.map((e) => [e.from, e.to])).toEqual([['pending', 'cancelled']]);
    await dispatcher.start();
    await new Promise((r) => setTimeout(r, 50));
    expect(runs).toBe(0);
  });

  it('aborts a running job through its signal; it ends cancelled and is not retried', async () => {
    const started = deferred();
    let reason: unknown;
    let runs = 0;
    const job = defineJob({
      name: 'long',
      input: z.object({}),
      maxRetries: 3,
      handler: (_, ctx) =>
        new Promise((_, reject) => {
          runs++;
          started.resolve();
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
            reject(new Error('aborted'));
          });
        }),
    });
    const { dispatcher, events } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await started.promise;
    const result = await dispatcher.cancel(id);
    expect(result.state).toBe('cancelled');
    expect(reason).toBeInstanceOf(CancelledError);
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toBe(1);
    expect(events.filter((e) => e.jobId === id).map((e) => e.to)).toEqual(['running', 'cancelled']);
  });

  it('cancels a job waiting out its backoff', async () => {
    const job = defineJob({
      name: 'backing-off',
      input: z.object({}),
      backoff: () => 60_000,
      handler: async () => {
        throw new Error('later');
      },
    });
    const { dispatcher, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await reached(id, 'retrying');
    expect((await dispatcher.cancel(id)).state).toBe('cancelled');
  });

  it('returns a finished job as it is, and refuses an unknown id', async () => {
    const job = defineJob({ name: 'quick', input: z.object({}), handler: async () => {} });
    const { dispatcher, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await reached(id, 'completed');
    expect((await dispatcher.cancel(id)).state).toBe('completed');
    await expect(dispatcher.cancel('123456')).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('wins over a job running in another process: that worker loses its lease and its write', async () => {
    const store = memoryStore();
    const started = deferred();
    const release = deferred();
    let reason: unknown;
    const job = defineJob({
      name: 'elsewhere',
      input: z.object({}),
      handler: async (_, ctx) => {
        ctx.signal.addEventListener('abort', () => (reason = ctx.signal.reason));
        started.resolve();
        await release.promise;
      },
    });
    // Two dispatchers on one store stand for two processes.
    const worker = harness({ store, heartbeat: 20, lease: 1000 });
    const admin = harness({ store });
    worker.dispatcher.register(job);
    admin.dispatcher.register(job);
    stop = async () => {
      await worker.dispatcher.stop({ grace: 0 });
      await admin.dispatcher.stop();
    };
    await worker.dispatcher.start();
    const { id } = await admin.dispatcher.enqueue(job, {});
    await started.promise;
    expect((await admin.dispatcher.cancel(id)).state).toBe('cancelled');
    // The worker's next heartbeat finds the lease gone and aborts the handler.
    await new Promise((r) => setTimeout(r, 80));
    expect(reason).toBeInstanceOf(LeaseLostError);
    release.resolve();
    await new Promise((r) => setTimeout(r, 20));
    expect((await admin.dispatcher.getJob(id))!.state).toBe('cancelled');
    expect(worker.events.filter((e) => e.jobId === id).map((e) => e.to)).toEqual(['running']);
  });
});
