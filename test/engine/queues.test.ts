import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Dispatcher, InvalidOptionError, type TransitionEvent } from '../../src/index.js';
import { type StoreTarget, storeTargets } from '../support/store-targets.js';
import { maxOverlap, type Span } from './queues/spans.js';

const targets = storeTargets('dispatch-queues-');

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe.each(Object.keys(targets) as Array<keyof typeof targets>)('queue control: %s store', (kind) => {
  let target: StoreTarget;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(() => {
    target = targets[kind]();
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await target.cleanup();
  });

  const dispatcher = (options: { concurrency?: number; queues?: Record<string, { concurrency: number }> } = {}): Dispatcher => {
    const d = createDispatcher({ store: target.open(), ...options });
    stops.push(() => d.stop());
    return d;
  };

  it('keeps a paused queue’s jobs pending, leased by no worker, until resume wakes the worker at once', async () => {
    const ran: string[] = [];
    const work = defineJob({ name: 'work', input: z.object({ n: z.number() }), handler: ({ n }) => void ran.push(`n${n}`) });
    const d = dispatcher().register(work);
    const steps: TransitionEvent[] = [];
    d.events$.subscribe((e) => steps.push(e));
    await d.start();
    await d.queues.pause('default');
    const job = await d.enqueue(work, { n: 1 });
    const other = await d.enqueueOnQueue(work, { n: 2 }, 'other');
    await d.waitFor(other);
    await sleep(300);
    expect((await d.getJob(job.id))!.state).toBe('pending');
    expect(steps.filter((s) => s.jobId === job.id)).toEqual([]);
    const resumedAt = Date.now();
    await d.queues.resume('default');
    expect((await d.waitFor(job, { timeout: '5s' })).state).toBe('completed');
    // Woken, not found by a poll: well under the slowest store's poll interval (2 s).
    expect(Date.now() - resumedAt).toBeLessThan(1500);
    expect(steps.filter((s) => s.jobId === job.id).map((s) => s.event)).toEqual(['LEASE', 'SUCCEED']);
    expect(ran).toEqual(['n2', 'n1']);
  });

  it('holds a queue’s concurrency across dispatchers, each keeping its own per-queue limit inside it', async () => {
    const spans: Span[] = [];
    const slow = defineJob({
      name: 'slow',
      input: z.object({ n: z.number() }),
      handler: async (_input, ctx) => {
        const span: Span = { id: ctx.job.id, start: Date.now(), end: Infinity };
        spans.push(span);
        await sleep(40);
        span.end = Date.now();
      },
    });
    const a = dispatcher({ concurrency: 5 }).register(slow);
    const b = dispatcher({ concurrency: 5, queues: { q: { concurrency: 1 } } }).register(slow);
    await a.queues.configure('q', { concurrency: 2 });
    await a.enqueueMany(slow, Array.from({ length: 12 }, (_, n) => ({ n })), { queue: 'q' });
    await Promise.all([a.start(), b.start()]);
    await until(async () => (await a.counts()).completed === 12, 'every job to complete', 20_000);
    expect(maxOverlap(spans)).toBe(2);
  });

  it('lists each queue with settings or jobs, its settings and its counts', async () => {
    const noop = defineJob({ name: 'noop', input: z.object({}), handler: () => undefined });
    const d = dispatcher().register(noop);
    await d.enqueue(noop, {}, { queue: 'mail' });
    await d.enqueue(noop, {}, { queue: 'mail', group: 'tenant-1' });
    await d.queues.configure('sms', { rateLimit: { max: 10, per: '1s' }, groupConcurrency: 2 });
    await d.queues.pause('sms');
    const listed = await d.queues.list();
    expect(listed.map((q) => q.name)).toEqual(['mail', 'sms']);
    expect(listed[0]).toMatchObject({ paused: false, concurrency: null, rateLimit: null, updatedAt: null, counts: { pending: 2, running: 0 } });
    expect(listed[1]).toMatchObject({ paused: true, rateLimit: { max: 10, perMs: 1000 }, groupConcurrency: 2, counts: { pending: 0 } });
    expect(listed[1]!.updatedAt).toBeInstanceOf(Date);
    expect((await d.queues.configure('sms', { rateLimit: null })).rateLimit).toBeNull();
  });

  it('refuses bad settings with a typed error naming the field, storing nothing', async () => {
    const noop = defineJob({ name: 'noop', input: z.object({}), handler: () => undefined });
    const d = dispatcher().register(noop);
    const refusal = async (run: () => Promise<unknown>) => {
      const error = await run().then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidOptionError);
      return error as InvalidOptionError;
    };
    expect((await refusal(() => d.queues.configure('q', { concurrency: 0 }))).field).toBe('concurrency');
    expect((await refusal(() => d.queues.configure('q', { groupConcurrency: 1.5 }))).field).toBe('groupConcurrency');
    expect((await refusal(() => d.queues.configure('q', { rateLimit: { max: 5, per: 'soon' as never } }))).field).toBe('rateLimit.per');
    expect((await refusal(() => d.queues.configure('q', { rateLimit: { max: 0, per: '1s' } }))).field).toBe('rateLimit.max');
    expect((await refusal(() => d.queues.configure('q', { concurency: 2 } as never))).message).toMatch(/did you mean concurrency/);
    expect((await refusal(() => d.queues.pause(''))).field).toBe('name');
    expect((await refusal(() => d.enqueue(noop, {}, { group: '' }))).field).toBe('options.group');
    expect(await d.queues.list()).toEqual([]);
  });
});
