import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob } from '../../src/index.js';
import { harness } from '../support/harness.js';

describe('ordering', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  it('runs jobs by priority desc, then runAt asc, then enqueue order, whatever order they came in', async () => {
    const ran: string[] = [];
    const job = defineJob({
      name: 'tag',
      input: z.object({ tag: z.string() }),
      handler: async ({ tag }) => void ran.push(tag),
    });
    const { dispatcher, reached } = harness({ concurrency: 1 });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    const t = Date.now() - 60_000;
    const plan = [
      { tag: 'p0-old', priority: 0, runAt: new Date(t + 3000) },
      { tag: 'p5-late', priority: 5, runAt: new Date(t + 2000) },
      { tag: 'p0-first-a', priority: 0, runAt: new Date(t + 1000) },
      { tag: 'p9', priority: 9, runAt: new Date(t + 9000) },
      { tag: 'p5-early', priority: 5, runAt: new Date(t + 1000) },
      { tag: 'p0-first-b', priority: 0, runAt: new Date(t + 1000) },
    ];
    const records = [];
    for (const { tag, priority, runAt } of plan) records.push(await dispatcher.enqueue(job, { tag }, { priority, runAt }));
    await dispatcher.start();
    await Promise.all(records.map((r) => reached(r.id, 'completed')));
    expect(ran).toEqual(['p9', 'p5-early', 'p5-late', 'p0-first-a', 'p0-first-b', 'p0-old']);
  });

  it('keeps a job due later waiting behind the wake-up, then runs it without polling', async () => {
    const ran: Array<{ tag: string; at: number }> = [];
    const job = defineJob({
      name: 'later',
      input: z.object({ tag: z.string() }),
      handler: async ({ tag }) => void ran.push({ tag, at: Date.now() }),
    });
    const { dispatcher, reached } = harness({ concurrency: 2 });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const due = Date.now() + 150;
    const later = await dispatcher.enqueueAt(job, { tag: 'later' }, new Date(due));
    const now = await dispatcher.enqueue(job, { tag: 'now' });
    await reached(now.id, 'completed');
    expect(ran.map((r) => r.tag)).toEqual(['now']);
    await reached(later.id, 'completed');
    expect(ran[1]!.at).toBeGreaterThanOrEqual(due);
    // The memory store never polls: the supervisor slept until the job's runAt.
    expect(ran[1]!.at - due).toBeLessThan(1000);
  });
});
