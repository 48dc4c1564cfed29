import { afterEach, describe, expect, it } from 'vitest';
import { createTestDispatcher, type TestDispatcher } from '../../src/testing.js';
import { doomed, flaky, type HistogramValue, meterProvider, valueAt } from './figures.js';

describe('metrics through the OpenTelemetry SDK', () => {
  let dispatcher: TestDispatcher | null = null;
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = null;
  });

  it('counts a job retried then completed and one dead-lettered, by queue and name, with durations, lag and queue depth', async () => {
    const { provider, reader } = meterProvider();
    const d = (dispatcher = createTestDispatcher({ jobs: [flaky, doomed], meterProvider: provider }));
    const start = d.clock.now();
    // Due 5 s ago: its first attempt starts 5 s late.
    await d.enqueue(flaky, {}, { runAt: new Date(start - 5000) });
    await d.enqueue(doomed, {});
    await d.enqueue(doomed, {}, { delay: '1h' });
    await d.runUntilIdle();

    const points = await reader.points();
    const count = (name: string, attributes: Record<string, string>) => valueAt<number>(points.get(`dispatch.jobs.${name}`), attributes) ?? 0;
    const flakyLabels = { queue: 'default', name: 'flaky' };
    const doomedLabels = { queue: 'hard', name: 'doomed' };
    expect(['enqueued', 'started', 'failed', 'retried', 'completed', 'dead_lettered', 'cancelled'].map((n) => count(n, flakyLabels))).toEqual([1, 2, 1, 1, 1, 0, 0]);
    expect(['enqueued', 'started', 'failed', 'retried', 'completed', 'dead_lettered', 'cancelled'].map((n) => count(n, doomedLabels))).toEqual([2, 1, 1, 0, 0, 1, 0]);

    const durations = points.get('dispatch.job.duration');
    expect(valueAt<HistogramValue>(durations, { ...flakyLabels, state: 'retrying' })?.count).toBe(1);
    expect(valueAt<HistogramValue>(durations, { ...flakyLabels, state: 'completed' })?.count).toBe(1);
    expect(valueAt<HistogramValue>(durations, { ...doomedLabels, state: 'dlq' })?.count).toBe(1);
    // The first attempt started 5 s late; the retry when its backoff ended, as the fake clock moved there.
    const lag = valueAt<HistogramValue>(points.get('dispatch.job.lag'), flakyLabels);
    expect(lag).toMatchObject({ count: 2, sum: 5 });

    const depth = points.get('dispatch.queue.depth');
    expect(valueAt<number>(depth, { queue: 'default', state: 'completed' })).toBe(1);
    expect(valueAt<number>(depth, { queue: 'hard', state: 'dlq' })).toBe(1);
    expect(valueAt<number>(depth, { queue: 'hard', state: 'pending' })).toBe(1);
  });

  it('counts the jobs cron ticks enqueue', async () => {
    const { provider, reader } = meterProvider();
    const d = (dispatcher = createTestDispatcher({ jobs: [flaky], meterProvider: provider, reapInterval: '1h' }));
    await d.schedule('minutely', '* * * * *', flaky, {});
    await d.start();
    await d.clock.advance('3m');
    expect((await d.enqueued(flaky)).length).toBe(3);
    const points = await reader.points();
    expect(valueAt<number>(points.get('dispatch.jobs.enqueued'), { queue: 'default', name: 'flaky' })).toBe(3);
  });

  it('adds up the steps of several dispatchers recording through one provider, each counted once', async () => {
    const { provider, reader } = meterProvider();
    const first = createTestDispatcher({ jobs: [flaky], meterProvider: provider });
    const second = createTestDispatcher({ jobs: [flaky], meterProvider: provider });
    try {
      await first.enqueue(flaky, {});
      await second.enqueue(flaky, {});
      await second.enqueue(flaky, {});
      await first.runUntilIdle();
      await second.runUntilIdle();
      const points = await reader.points();
      expect(valueAt<number>(points.get('dispatch.jobs.enqueued'), { queue: 'default', name: 'flaky' })).toBe(3);
      expect(valueAt<number>(points.get('dispatch.jobs.completed'), { queue: 'default', name: 'flaky' })).toBe(3);
      // Two stores of three completed jobs, each counted once.
      expect(valueAt<number>(points.get('dispatch.queue.depth'), { queue: 'default', state: 'completed' })).toBe(3);
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});
