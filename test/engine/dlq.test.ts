import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, InvalidOptionError, InvalidTransitionError, JobNotFoundError } from '../../src/index.js';
import { harness } from '../support/harness.js';
import { until } from '../support/until.js';

describe('dead-letter queue', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  function setup() {
    let healthy = false;
    const runs: Array<{ n: number; attempt: number }> = [];
    const job = defineJob({
      name: 'fragile',
      input: z.object({ n: z.number() }),
      maxRetries: 1,
      backoff: () => 1,
      handler: async ({ n }, ctx) => {
        runs.push({ n, attempt: ctx.attempt });
        if (!healthy) throw new Error(`broken ${n}`);
      },
    });
    const h = harness();
    h.dispatcher.register(job);
    stop = () => h.dispatcher.stop();
    return { ...h, job, runs, heal: () => (healthy = true) };
  }

  it('lists dead jobs with their error and attempts, a page at a time', async () => {
    const { dispatcher, job, reached } = setup();
    await dispatcher.start();
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push((await dispatcher.enqueue(job, { n })).id);
    await Promise.all(ids.map((id) => reached(id, 'dlq')));
    const first = await dispatcher.dlq.list({ limit: 2 });
    expect(first.jobs.map((j) => j.id)).toEqual(ids.slice(0, 2));
    expect(first.jobs[0]).toMatchObject({ state: 'dlq', attempt: 2, lastError: { message: 'broken 0' }, input: { n: 0 } });
    const second = await dispatcher.dlq.list({ limit: 2, cursor: first.nextCursor });
    expect(second.jobs.map((j) => j.id)).toEqual([ids[2]]);
    expect(second.nextCursor).toBeNull();
  });

  it('replays a dead job under the same id with fresh attempts', async () => {
    const { dispatcher, job, reached, runs, heal, events } = setup();
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, { n: 7 });
    await reached(id, 'dlq');
    heal();
    const replayed = await dispatcher.dlq.replay(id);
    expect(replayed).toMatchObject({ id, state: 'pending', attempt: 0, lastError: null });
    await reached(id, 'completed');
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 1]);
    expect(events.filter((e) => e.jobId === id).map((e) => `${e.from}>${e.to}`)).toEqual([
      'pending>running',
      'running>retrying',
      'retrying>pending',
      'pending>running',
      'running>dlq',
      'dlq>pending',
      'pending>running',
      'running>completed',
    ]);
    expect((await dispatcher.dlq.list()).jobs).toEqual([]);
  });

  it('refuses to replay a job that is not dead, or does not exist', async () => {
    const { dispatcher, job } = setup();
    const { id } = await dispatcher.enqueue(job, { n: 1 });
    await expect(dispatcher.dlq.replay(id)).rejects.toBeInstanceOf(InvalidTransitionError);
    await expect(dispatcher.dlq.replay('987654')).rejects.toBeInstanceOf(JobNotFoundError);
  });

  it('purges dead jobs older than a date and keeps newer ones', async () => {
    const { dispatcher, job, reached } = setup();
    await dispatcher.start();
    const old = await dispatcher.enqueue(job, { n: 1 });
    await reached(old.id, 'dlq');
    await new Promise((r) => setTimeout(r, 20));
    const cut = new Date();
    await new Promise((r) => setTimeout(r, 20));
    const recent = await dispatcher.enqueue(job, { n: 2 });
    await reached(recent.id, 'dlq');
    expect(await dispatcher.dlq.purge({ before: cut })).toBe(1);
    expect((await dispatcher.dlq.list()).jobs.map((j) => j.id)).toEqual([recent.id]);
    expect(await dispatcher.getJob(old.id)).toBeNull();
  });

  it('purges thousands in bounded batches, telling the count after each', async () => {
    const { dispatcher, job } = setup();
    await dispatcher.start();
    await dispatcher.enqueueMany(job, Array.from({ length: 2300 }, (_, n) => ({ n })));
    await until(async () => (await dispatcher.counts()).dlq === 2300, 'every job dead', 30_000);
    const told: number[] = [];
    expect(await dispatcher.dlq.purge({ before: new Date(Date.now() + 1000), onProgress: (n) => told.push(n) })).toBe(2300);
    expect(told.slice(0, 3)).toEqual([1000, 2000, 2300]);
    expect(told.at(-1)).toBe(2300);
    expect((await dispatcher.counts()).dlq).toBe(0);
    await expect(dispatcher.dlq.purge({ before: new Date(), onProgress: 'yes' as never })).rejects.toMatchObject({ field: 'onProgress' });
  });

  it('checks its arguments', async () => {
    const { dispatcher } = setup();
    await expect(dispatcher.dlq.list({ limit: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(dispatcher.dlq.list({ limit: 0 })).rejects.toThrow(/^limit: /);
    await expect(dispatcher.dlq.purge({ before: new Date('nope') })).rejects.toThrow(/before: must be a valid Date/);
    await expect(dispatcher.dlq.purge({ before: '2020-01-01' as never })).rejects.toThrow(InvalidOptionError);
  });
});
