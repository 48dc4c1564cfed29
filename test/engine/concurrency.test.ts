import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../src/index.js';
import { harness } from '../support/harness.js';

describe('concurrency', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  it('never runs more than the global concurrency, and uses all of it', async () => {
    let now = 0;
    let peak = 0;
    const job = defineJob({
      name: 'work',
      input: z.object({}),
      handler: async () => {
        peak = Math.max(peak, ++now);
        await new Promise((r) => setTimeout(r, 5));
        now--;
      },
    });
    const { dispatcher, reached } = harness({ concurrency: 4 });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    const jobs = await dispatcher.enqueueMany(job, Array.from({ length: 40 }, () => ({})));
    await dispatcher.start();
    await Promise.all(jobs.map((j) => reached(j.id, 'completed')));
    expect(peak).toBe(4);
  });

  it('honours a per-queue limit inside the global one', async () => {
    const running: Record<string, number> = {};
    const peak: Record<string, number> = {};
    const job = defineJob({
      name: 'queued',
      input: z.object({}),
      handler: async (_, ctx) => {
        const q = ctx.job.queue;
        running[q] = (running[q] ?? 0) + 1;
        peak[q] = Math.max(peak[q] ?? 0, running[q]!);
        await new Promise((r) => setTimeout(r, 5));
        running[q]!--;
      },
    });
    const { dispatcher, reached } = harness({ concurrency: 6, queues: { mail: { concurrency: 2 } } });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    // Mail is first in line by priority, so only its cap keeps it from taking every slot.
    const mail = await dispatcher.enqueueMany(job, Array.from({ length: 20 }, () => ({})), { queue: 'mail', priority: 5 });
    const other = await dispatcher.enqueueMany(job, Array.from({ length: 20 }, () => ({})), { queue: 'other' });
    await dispatcher.start();
    await Promise.all([...mail, ...other].map((j) => reached(j.id, 'completed')));
    expect(peak.mail).toBe(2);
    expect(peak.other).toBe(4);
  });

  it('picks up a job enqueued to an idle worker at once', async () => {
    const starts: number[] = [];
    const job = defineJob({ name: 'ping', input: z.object({}), handler: async () => void starts.push(Date.now()) });
    const { dispatcher, reached } = harness();
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(dispatcher.supervisorActor.getSnapshot().matches({ running: 'waiting' })).toBe(true);
    const t = Date.now();
    const { id } = await dispatcher.enqueue(job, {});
    await reached(id, 'completed');
    expect(starts[0]! - t).toBeLessThan(50);
  });
});
