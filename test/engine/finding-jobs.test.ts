import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Dispatcher, InvalidOptionError, InvalidTransitionError, JobNotFoundError } from '../../src/index.js';
import { type StoreTarget, storeTargets } from '../support/store-targets.js';
import { deferred, harness } from '../support/harness.js';

const targets = storeTargets('dispatch-jobs-');

const doomed = defineJob({
  name: 'doomed',
  input: z.object({ n: z.number() }),
  maxRetries: 0,
  handler: () => {
    throw new Error('no');
  },
});
const later = defineJob({ name: 'later', input: z.object({ n: z.number() }), handler: () => undefined });

describe.each(Object.keys(targets) as Array<keyof typeof targets>)('finding and changing jobs: %s store', (kind) => {
  let target: StoreTarget;
  const stops: Array<() => Promise<void>> = [];
  const open = (): Dispatcher => {
    const dispatcher = createDispatcher({ store: target.open(), onError: () => undefined, retention: false });
    stops.push(() => dispatcher.stop());
    return dispatcher;
  };
  beforeEach(() => {
    target = targets[kind]();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await target.cleanup();
  });

  it('replays all of the DLQ, or a name or queue of it, exactly once across two callers at the same moment', async () => {
    const worker = open().register(doomed);
    await worker.start();
    const ids: string[] = [];
    for (let n = 0; n < 30; n++) ids.push((await worker.enqueue(doomed, { n }, { queue: n % 3 === 0 ? 'x' : 'y' })).id);
    for (const id of ids) await worker.waitFor(id);
    await worker.stop();
    const [a, b] = [open().register(doomed), open().register(doomed)];
    const progress: number[] = [];
    expect(await a.dlq.replayAll({ queue: 'x', onProgress: (n) => progress.push(n) })).toBe(10);
    expect(progress).toEqual([10]);
    expect(await a.jobs.counts({ queue: 'x' })).toMatchObject({ pending: 10, dlq: 0 });
    const [first, second] = await Promise.all([a.dlq.replayAll(), b.dlq.replayAll({ name: 'doomed' })]);
    expect(first + second).toBe(20);
    expect(await a.jobs.counts()).toMatchObject({ pending: 30, dlq: 0 });
    expect(await a.dlq.replayAll()).toBe(0);
  });

  it('reschedules a waiting job to run sooner and first, waking the worker, and refuses a running or finished one', async () => {
    const ran: number[] = [];
    const gate = deferred();
    const blocker = defineJob({ name: 'blocker', input: z.object({}), handler: () => gate.promise });
    const job = defineJob({ name: 'later', input: z.object({ n: z.number() }), handler: ({ n }) => void ran.push(n) });
    const dispatcher = open().register(job).register(blocker);
    const far = new Date(Date.now() + 3_600_000);
    const one = await dispatcher.enqueue(job, { n: 1 }, { runAt: far });
    const two = await dispatcher.enqueue(job, { n: 2 }, { runAt: far });
    await dispatcher.start();
    const moved = await dispatcher.reschedule(two.id, { runAt: new Date(), priority: 5 });
    expect(moved).toMatchObject({ id: two.id, state: 'pending', priority: 5 });
    await dispatcher.waitFor(two.id, { timeout: '10s' });
    expect(ran).toEqual([2]);
    expect((await dispatcher.getJob(one.id))!.state).toBe('pending');
    await expect(dispatcher.reschedule(two.id, { priority: 1 })).rejects.toThrow(InvalidTransitionError);
    const held = await dispatcher.enqueue(blocker, {});
    await until(async () => (await dispatcher.getJob(held.id))!.state === 'running');
    await expect(dispatcher.reschedule(held.id, { priority: 1 })).rejects.toThrow(InvalidTransitionError);
    gate.resolve();
    await expect(dispatcher.reschedule('999999', { priority: 1 })).rejects.toThrow(JobNotFoundError);
    await expect(dispatcher.reschedule(one.id, {})).rejects.toThrow(InvalidOptionError);
    await expect(dispatcher.reschedule(one.id, { priority: -1 })).rejects.toMatchObject({ field: 'priority' });
    await expect(dispatcher.reschedule(one.id, { when: new Date() } as never)).rejects.toThrow(InvalidOptionError);
  });

  it('lists jobs by state, queue and name a page at a time, and counts a queue', async () => {
    const dispatcher = open().register(later).register(doomed);
    const far = new Date(Date.now() + 3_600_000);
    const made = [];
    for (let n = 0; n < 6; n++) made.push(await dispatcher.enqueue(n % 2 ? later : doomed, { n }, { queue: n < 3 ? 'a' : 'b', runAt: far }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await dispatcher.jobs.list({ state: 'pending', queue: 'a', limit: 2, cursor });
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(made.slice(0, 3).map((j) => j.id));
    const named = await dispatcher.jobs.list({ state: 'pending', name: 'later' });
    expect(named.jobs.map((j) => j.input)).toEqual([{ n: 1 }, { n: 3 }, { n: 5 }]);
    expect(await dispatcher.jobs.counts({ queue: 'b' })).toMatchObject({ pending: 3, running: 0, completed: 0 });
    await expect(dispatcher.jobs.list({ state: 'done' as never })).rejects.toMatchObject({ field: 'state' });
    await expect(dispatcher.jobs.list({ state: 'pending', limit: 0 })).rejects.toMatchObject({ field: 'limit' });
    await expect(dispatcher.jobs.list({ state: 'pending', queues: ['a'] } as never)).rejects.toThrow(InvalidOptionError);
  });
});

describe('reschedule events', () => {
  it('reports RESCHEDULE as a step of the chart', async () => {
    const { dispatcher, events } = harness();
    dispatcher.register(later);
    const job = await dispatcher.enqueue(later, { n: 1 }, { delay: '1h' });
    await dispatcher.reschedule(job.id, { runAt: new Date(Date.now() + 7_200_000) });
    expect(events.map((e) => [e.from, e.event, e.to])).toEqual([['pending', 'RESCHEDULE', 'pending']]);
    expect((await dispatcher.getJob(job.id))!.runAt.getTime()).toBeGreaterThan(Date.now() + 3_600_000);
    await dispatcher.stop();
  });
});

async function until(test: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await test()); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}
