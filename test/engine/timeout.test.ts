import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoff, defineJob, TimeoutError } from '../../src/index.js';
import { deferred, harness } from '../support/harness.js';

describe('timeouts', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  it('aborts the signal of a handler that runs past its timeout and fails the attempt with a TimeoutError', async () => {
    const reasons: unknown[] = [];
    const job = defineJob({
      name: 'slow',
      input: z.object({}),
      timeout: 50,
      maxRetries: 1,
      backoff: backoff.constant(1),
      handler: (_, ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            reject(ctx.signal.reason);
          });
        }),
    });
    const { dispatcher, events, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    const dead = await reached(id, 'dlq');
    expect(reasons).toHaveLength(2);
    expect(reasons[0]).toBeInstanceOf(TimeoutError);
    expect(dead.error?.name).toBe('TimeoutError');
    expect(events.filter((e) => e.jobId === id).map((e) => e.to)).toEqual(['running', 'retrying', 'pending', 'running', 'dlq']);
  });

  it('frees the slot even when the handler ignores its signal, and discards its late result', async () => {
    const hang = deferred();
    const ran: string[] = [];
    const job = defineJob({
      name: 'stubborn',
      input: z.object({ tag: z.string() }),
      maxRetries: 0,
      handler: async ({ tag }) => {
        ran.push(tag);
        if (tag === 'stuck') await hang.promise; // never looks at ctx.signal
      },
    });
    const { dispatcher, reached } = harness({ concurrency: 1 });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    const stuck = await dispatcher.enqueue(job, { tag: 'stuck' }, { timeout: 40, priority: 1 });
    const next = await dispatcher.enqueue(job, { tag: 'next' });
    await dispatcher.start();
    await reached(stuck.id, 'dlq');
    // With one slot, the next job could only run because the stuck one gave its slot back.
    await reached(next.id, 'completed');
    expect(ran).toEqual(['stuck', 'next']);
    hang.resolve();
    await new Promise((r) => setTimeout(r, 20));
    expect((await dispatcher.getJob(stuck.id))!.state).toBe('dlq');
  });
});
