import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoff, defineJob, type TransitionEvent } from '../../src/index.js';
import { harness } from '../support/harness.js';

describe('events$', () => {
  it('reports every stored transition with job, states, attempt, error and time', async () => {
    const job = defineJob({
      name: 'observed',
      queue: 'watch',
      input: z.object({}),
      backoff: backoff.constant(1),
      handler: async (_, ctx) => {
        if (ctx.attempt === 1) throw new Error('first try');
      },
    });
    const { dispatcher, events, reached } = harness();
    dispatcher.register(job);
    await dispatcher.start();
    const before = Date.now();
    const { id } = await dispatcher.enqueue(job, {});
    await reached(id, 'completed');
    await dispatcher.stop();
    const strip = ({ at, ...rest }: TransitionEvent) => rest;
    expect(events.map(strip)).toEqual([
      { jobId: id, name: 'observed', queue: 'watch', from: 'pending', to: 'running', event: 'LEASE', attempt: 1 },
      {
        jobId: id,
        name: 'observed',
        queue: 'watch',
        from: 'running',
        to: 'retrying',
        event: 'FAIL',
        attempt: 1,
        error: expect.objectContaining({ name: 'Error', message: 'first try' }),
      },
      // The backoff's end and the lease are applied in one write, and reported as the chart's two steps.
      { jobId: id, name: 'observed', queue: 'watch', from: 'retrying', to: 'pending', event: 'xstate.after.backoff.job.retrying', attempt: 1 },
      { jobId: id, name: 'observed', queue: 'watch', from: 'pending', to: 'running', event: 'LEASE', attempt: 2 },
      { jobId: id, name: 'observed', queue: 'watch', from: 'running', to: 'completed', event: 'SUCCEED', attempt: 2 },
    ]);
    for (const event of events) {
      expect(event.at).toBeInstanceOf(Date);
      expect(event.at.getTime()).toBeGreaterThanOrEqual(before);
    }
  });

  it('completes the stream when the dispatcher stops', async () => {
    const { dispatcher } = harness();
    let completed = false;
    dispatcher.events$.subscribe({ complete: () => (completed = true) });
    await dispatcher.start();
    await dispatcher.stop();
    expect(completed).toBe(true);
  });
});
