import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, InvalidOptionError, LifecycleError, type Middleware, PermanentError } from '../../src/index.js';
import { harness } from '../support/harness.js';

const input = z.object({ n: z.number() });

describe('middleware', () => {
  it('runs around every handler call in the order added, with the job, parsed input, attempt and signal', async () => {
    const seen: string[] = [];
    const job = defineJob({
      name: 'wrapped',
      input,
      maxRetries: 1,
      backoff: () => 1,
      handler: async ({ n }, ctx) => {
        seen.push(`handler ${n} attempt ${ctx.attempt}`);
        if (ctx.attempt === 1) throw new Error('once');
      },
    });
    const { dispatcher, reached } = harness();
    const outer: Middleware = async (ctx, next) => {
      seen.push(`outer in ${ctx.job.name} ${(ctx.input as { n: number }).n} ${ctx.attempt} ${ctx.signal instanceof AbortSignal}`);
      try {
        return await next();
      } finally {
        seen.push('outer out');
      }
    };
    const inner: Middleware = async (_ctx, next) => {
      seen.push('inner in');
      const result = await next();
      seen.push('inner out');
      return result;
    };
    dispatcher.register(job).use(outer).use(inner);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, { n: 4 });
    await reached(id, 'completed');
    await dispatcher.stop();
    expect(seen).toEqual([
      'outer in wrapped 4 1 true',
      'inner in',
      'handler 4 attempt 1',
      'outer out',
      'outer in wrapped 4 2 true',
      'inner in',
      'handler 4 attempt 2',
      'inner out',
      'outer out',
    ]);
  });

  it('can change the outcome: turn a failure into success, or fail a success', async () => {
    const flaky = defineJob({ name: 'flaky', input, maxRetries: 0, handler: async () => { throw new Error('swallowed'); } });
    const fine = defineJob({ name: 'fine', input, maxRetries: 0, handler: async () => 'ok' });
    const { dispatcher, reached } = harness();
    dispatcher.registerAll([flaky, fine]).use(async (ctx, next) => {
      if (ctx.job.name === 'flaky') return next().catch(() => 'recovered');
      await next();
      throw new PermanentError('refused by middleware');
    });
    await dispatcher.start();
    const a = await dispatcher.enqueue(flaky, { n: 1 });
    const b = await dispatcher.enqueue(fine, { n: 2 });
    await reached(a.id, 'completed');
    const dead = await reached(b.id, 'dlq');
    expect(dead.error).toMatchObject({ name: 'PermanentError', message: 'refused by middleware' });
    await dispatcher.stop();
  });

  it('fails the attempt when a middleware calls next() twice', async () => {
    const job = defineJob({ name: 'twice', input, maxRetries: 0, handler: async () => undefined });
    const { dispatcher, reached } = harness();
    dispatcher.register(job).use(async (_ctx, next) => {
      await next();
      return next();
    });
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, { n: 1 });
    const dead = await reached(id, 'dlq');
    expect(dead.error?.message).toMatch(/called next\(\) more than once/);
    await dispatcher.stop();
  });

  it('refuses what is not a function, and middleware added after start', async () => {
    const { dispatcher } = harness();
    expect(() => dispatcher.use('log' as never)).toThrow(InvalidOptionError);
    await dispatcher.start();
    expect(() => dispatcher.use(async (_c, next) => next())).toThrow(LifecycleError);
    await dispatcher.stop();
  });
});
