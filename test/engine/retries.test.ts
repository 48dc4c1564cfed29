import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoff, defineJob, PermanentError } from '../../src/index.js';
import { harness } from '../support/harness.js';

describe('retries', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  it('completes on attempt 3 after failing twice, with two retrying transitions', async () => {
    const attempts: number[] = [];
    const job = defineJob({
      name: 'flaky',
      input: z.object({}),
      maxRetries: 5,
      backoff: backoff.constant(1),
      handler: async (_, ctx) => {
        attempts.push(ctx.attempt);
        if (ctx.attempt < 3) throw new Error(`fail ${ctx.attempt}`);
      },
    });
    const { dispatcher, events, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await reached(id, 'completed');
    expect(attempts).toEqual([1, 2, 3]);
    const mine = events.filter((e) => e.jobId === id);
    expect(mine.filter((e) => e.to === 'retrying').map((e) => e.error?.message)).toEqual(['fail 1', 'fail 2']);
    expect(mine.at(-1)).toMatchObject({ from: 'running', to: 'completed', attempt: 3 });
    expect(await dispatcher.getJob(id)).toMatchObject({ state: 'completed', attempt: 3 });
  });

  it('dead-letters a job that always fails after exactly maxRetries + 1 attempts, keeping the last error', async () => {
    let runs = 0;
    const job = defineJob({
      name: 'doomed',
      input: z.object({}),
      maxRetries: 2,
      backoff: backoff.constant(1),
      handler: async (_, ctx) => {
        runs++;
        throw new Error(`attempt ${ctx.attempt} failed`);
      },
    });
    const { dispatcher, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    const dead = await reached(id, 'dlq');
    expect(runs).toBe(3);
    expect(dead.error?.message).toBe('attempt 3 failed');
    expect(await dispatcher.getJob(id)).toMatchObject({
      state: 'dlq',
      attempt: 3,
      lastError: { name: 'Error', message: 'attempt 3 failed' },
    });
  });

  it('sends a PermanentError straight to the DLQ without retrying', async () => {
    let runs = 0;
    const job = defineJob({
      name: 'permanent',
      input: z.object({}),
      maxRetries: 5,
      backoff: backoff.constant(1),
      handler: async () => {
        runs++;
        throw new PermanentError('bad address');
      },
    });
    const { dispatcher, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    const dead = await reached(id, 'dlq');
    expect(runs).toBe(1);
    expect(dead.error).toMatchObject({ name: 'PermanentError', message: 'bad address' });
  });

  it('keeps a failure that is not an Error as a described error', async () => {
    const job = defineJob({
      name: 'throws-string',
      input: z.object({}),
      maxRetries: 0,
      handler: async () => {
        throw { code: 42 };
      },
    });
    const { dispatcher, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    const dead = await reached(id, 'dlq');
    expect(dead.error).toEqual({ name: 'NonErrorThrown', message: 'the handler threw a non-Error value: {"code":42}' });
  });

  it('fails a handler that throws synchronously like one that rejects', async () => {
    const job = defineJob({
      name: 'sync-throw',
      input: z.object({}),
      maxRetries: 1,
      backoff: backoff.constant(1),
      handler: (_, ctx) => {
        if (ctx.attempt === 1) throw new Error('sync');
        return 'ok';
      },
    });
    const { dispatcher, events, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await reached(id, 'completed');
    expect(events.filter((e) => e.jobId === id).map((e) => e.to)).toEqual(['running', 'retrying', 'pending', 'running', 'completed']);
  });
});
