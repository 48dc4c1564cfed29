import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backoff, createDispatcher, defineJob, type Dispatcher, type DispatcherOptions, InvalidOptionError, type JobHistoryEntry, jobMachine } from '../../src/index.js';
import { jobRules } from '../../machines/job.rules.js';
import { chartSteps, stepKey } from '../support/chart-edges.js';
import { harness } from '../support/harness.js';
import { type StoreTarget, storeTargets } from '../support/store-targets.js';

const targets = storeTargets('dispatch-history-');
const STEPS = chartSteps(jobMachine);

const flaky = defineJob({
  name: 'flaky',
  input: z.object({}),
  backoff: backoff.constant(1),
  handler: async (_, ctx) => {
    if (ctx.attempt === 1) throw new Error('first try');
  },
});
const doomed = defineJob({
  name: 'doomed',
  input: z.object({}),
  maxRetries: 0,
  handler: () => {
    throw new Error('no');
  },
});

/** Every step of a history is the chart's: the enqueue enters the initial state, every other is an edge. */
function expectChartSteps(history: JobHistoryEntry[]): void {
  expect(history[0]).toMatchObject({ from: null, to: jobRules.initial, event: 'xstate.init', attempt: 0, worker: null });
  for (const entry of history.slice(1)) expect(STEPS).toContain(stepKey({ from: entry.from!, event: entry.event, to: entry.to }));
}

describe.each(Object.keys(targets) as Array<keyof typeof targets>)('job history: %s store', (kind) => {
  let target: StoreTarget;
  const stops: Array<() => Promise<void>> = [];
  const open = (options: DispatcherOptions = {}) => {
    const h = harness({ store: target.open(), retention: false, ...options });
    stops.push(() => h.dispatcher.stop());
    return h;
  };
  beforeEach(() => {
    target = targets[kind]();
  });
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
    await target.cleanup();
  });

  it("tells a retried-then-completed job's story as events$ told it, step by step, with the worker", async () => {
    const { dispatcher, events, reached } = open({ workerId: 'box-1' });
    dispatcher.register(flaky);
    await dispatcher.start();
    const before = Date.now();
    const { id } = await dispatcher.enqueue(flaky, {});
    await reached(id, 'completed');
    const history = await dispatcher.jobs.history(id);
    expectChartSteps(history);
    const told = events.filter((e) => e.jobId === id).map(({ from, to, event, attempt, error }) => ({ from, to, event, attempt, ...(error ? { error } : {}), worker: 'box-1' }));
    expect(history.slice(1).map(({ at: _at, ...rest }) => rest)).toEqual(told);
    expect(told.map((e) => `${e.from}>${e.to}`)).toEqual(['pending>running', 'running>retrying', 'retrying>pending', 'pending>running', 'running>completed']);
    expect(history[2]!.error).toMatchObject({ name: 'Error', message: 'first try' });
    for (const entry of history) {
      expect(entry.at).toBeInstanceOf(Date);
      expect(entry.at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    }
  });

  it("marks a client's replay, cancel and reschedule with no worker, and the reaper's expiry with its own", async () => {
    const { dispatcher: worker, reached } = open({ workerId: 'box-1' });
    worker.register(doomed).register(flaky);
    await worker.start();
    const { id } = await worker.enqueue(doomed, {});
    await reached(id, 'dlq');
    const { dispatcher: client } = open({ workerId: 'client-box' });
    client.register(doomed).register(flaky);
    await client.dlq.replay(id);
    await worker.waitFor(id);
    const replayed = await client.jobs.history(id);
    expectChartSteps(replayed);
    expect(replayed.map((e) => [e.event, e.worker])).toEqual([
      ['xstate.init', null], ['LEASE', 'box-1'], ['FAIL', 'box-1'], ['REPLAY', null], ['LEASE', 'box-1'], ['FAIL', 'box-1'],
    ]);

    const { id: waiting } = await client.enqueue(flaky, {}, { runAt: new Date(Date.now() + 3_600_000) });
    await client.reschedule(waiting, { priority: 4 });
    await client.cancel(waiting);
    const cancelled = await client.jobs.history(waiting);
    expectChartSteps(cancelled);
    expect(cancelled.map((e) => [e.from, e.to, e.event, e.worker])).toEqual([
      [null, 'pending', 'xstate.init', null], ['pending', 'pending', 'RESCHEDULE', null], ['pending', 'cancelled', 'CANCEL', null],
    ]);

    // A worker that died holding a job: its lease runs out, and another process's reaper moves it on.
    await worker.stop();
    const { id: orphan } = await client.enqueue(flaky, {});
    const store = target.open();
    await store.open();
    const { jobs } = await store.lease({ limit: 1, queueRoom: {}, leaseMs: 1, names: ['flaky'], worker: 'dead-box' });
    expect(jobs.map((j) => j.id)).toEqual([orphan]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await client.reap()).toBe(1);
    const reaped = await client.jobs.history(orphan);
    expectChartSteps(reaped);
    expect(reaped.slice(1).map((e) => [e.from, e.to, e.event, e.worker])).toEqual([
      ['pending', 'running', 'LEASE', 'dead-box'], ['running', 'pending', 'LEASE_EXPIRED', 'client-box'],
    ]);
    if (store !== client.store) await store.close();
  });

  it('keeps nothing with history: false, and answers [] for it and for an unknown id', async () => {
    const { dispatcher, reached } = open({ history: false });
    dispatcher.register(flaky);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(flaky, {});
    await reached(id, 'completed');
    expect(await dispatcher.jobs.history(id)).toEqual([]);
    // The store has the enqueue alone: it is the row's own creation, not an entry written.
    expect((await dispatcher.store.history(id)).map((e) => e.event)).toEqual(['xstate.init']);
    const { dispatcher: other } = open();
    expect(await other.jobs.history('424242')).toEqual([]);
    await expect(other.jobs.history('')).rejects.toThrow(InvalidOptionError);
  });
});

describe('workerId', () => {
  it('defaults to host, pid and a random part, different for two dispatchers', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const dispatcher: Dispatcher = createDispatcher({ onError: () => undefined }).register(flaky);
      await dispatcher.start();
      const { id } = await dispatcher.enqueue(flaky, {});
      await dispatcher.waitFor(id);
      const history = await dispatcher.jobs.history(id);
      await dispatcher.stop();
      ids.push(history[1]!.worker!);
    }
    for (const id of ids) expect(id).toMatch(new RegExp(`^.+:${process.pid}:[0-9a-f]{6}$`));
    expect(ids[0]).not.toBe(ids[1]);
  });
});
