import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../src/index.js';
import { harness } from '../support/harness.js';

const plain = defineJob({ name: 'plain', input: z.object({}), handler: async () => {} });
const tuned = defineJob({
  name: 'tuned',
  input: z.object({}),
  maxRetries: 7,
  timeout: '30s',
  queue: 'mail',
  priority: 4,
  handler: async () => {},
});

describe('job options', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  it('falls back to the dispatcher defaults: maxRetries 3, queue default, priority 0, timeout 5 minutes', async () => {
    const { dispatcher } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(plain);
    const before = Date.now();
    const job = await dispatcher.enqueue(plain, {});
    expect(job).toMatchObject({ maxRetries: 3, queue: 'default', priority: 0, timeoutMs: 300_000, state: 'pending', attempt: 0 });
    expect(job.runAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(job.runAt.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('lets the dispatcher change its defaults', async () => {
    const { dispatcher } = harness({ maxRetries: 1, queue: 'bulk', priority: 2, timeout: '1m' });
    stop = () => dispatcher.stop();
    dispatcher.register(plain);
    expect(await dispatcher.enqueue(plain, {})).toMatchObject({ maxRetries: 1, queue: 'bulk', priority: 2, timeoutMs: 60_000 });
  });

  it('lets a definition override the dispatcher, and an enqueue override the definition', async () => {
    const { dispatcher } = harness({ maxRetries: 1 });
    stop = () => dispatcher.stop();
    dispatcher.register(tuned);
    expect(await dispatcher.enqueue(tuned, {})).toMatchObject({ maxRetries: 7, queue: 'mail', priority: 4, timeoutMs: 30_000 });
    expect(
      await dispatcher.enqueue(tuned, {}, { maxRetries: 0, queue: 'critical', priority: 9, timeout: 250 }),
    ).toMatchObject({ maxRetries: 0, queue: 'critical', priority: 9, timeoutMs: 250 });
  });

  it('has the Go-named shortcuts for runAt, priority and queue', async () => {
    const { dispatcher } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(plain);
    const at = new Date(Date.now() + 600_000);
    expect((await dispatcher.enqueueAt(plain, {}, at)).runAt).toEqual(at);
    expect((await dispatcher.enqueueWithPriority(plain, {}, 10)).priority).toBe(10);
    expect((await dispatcher.enqueueOnQueue(plain, {}, 'critical')).queue).toBe('critical');
  });

  it('turns a delay into a runAt from now', async () => {
    const { dispatcher } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(plain);
    const before = Date.now();
    const job = await dispatcher.enqueue(plain, {}, { delay: '10m' });
    expect(job.runAt.getTime()).toBeGreaterThanOrEqual(before + 600_000);
    expect(job.runAt.getTime()).toBeLessThanOrEqual(Date.now() + 600_000);
  });

  it('enqueues many in one call, in order, by definition or by name', async () => {
    const numbered = defineJob({ name: 'numbered', input: z.object({ n: z.number() }), handler: async () => {} });
    const { dispatcher } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(numbered);
    const jobs = await dispatcher.enqueueMany(numbered, [{ n: 1 }, { n: 2 }, { n: 3 }], { priority: 3 });
    expect(jobs.map((j) => [j.input.n, j.priority])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ]);
    expect(await dispatcher.enqueueMany('numbered', [])).toEqual([]);
    const byName = await dispatcher.enqueue('numbered', { n: 4 });
    expect(await dispatcher.getJob(byName.id)).toMatchObject({ name: 'numbered', input: { n: 4 } });
  });

  it('hands the handler the input as its schema outputs it, and who it is', async () => {
    let seen: unknown;
    const typed = defineJob({
      name: 'typed',
      input: z.object({ when: z.string().transform((s) => new Date(s)), tag: z.string().default('none') }),
      handler: async (input, ctx) => {
        seen = { input, attempt: ctx.attempt, id: ctx.job.id, queue: ctx.job.queue, signal: ctx.signal instanceof AbortSignal };
      },
    });
    const { dispatcher, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(typed);
    await dispatcher.start();
    const job = await dispatcher.enqueue(typed, { when: '2030-01-02T03:04:05Z' });
    await reached(job.id, 'completed');
    // The stored input is what the caller gave; the handler gets the parsed form.
    expect(job.input).toEqual({ when: '2030-01-02T03:04:05Z' });
    expect(seen).toEqual({
      input: { when: new Date('2030-01-02T03:04:05Z'), tag: 'none' },
      attempt: 1,
      id: job.id,
      queue: 'default',
      signal: true,
    });
  });
});
