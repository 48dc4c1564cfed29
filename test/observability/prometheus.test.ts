import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createDispatcher, InvalidOptionError, prometheusMetrics } from '../../src/index.js';
import { createTestDispatcher, type TestDispatcher } from '../../src/testing.js';
import { doomed, flaky } from './figures.js';

/** One sample of Prometheus' text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text exposition format's samples (comments skipped). */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample named `name` with exactly `labels`; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const key = JSON.stringify(Object.entries(labels).sort());
  return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === key)?.value;
}

describe('prometheusMetrics', () => {
  let dispatcher: TestDispatcher | null = null;
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = null;
  });

  it('answers the text format with the jobs run: counts, durations, lag and queue depth by their labels', async () => {
    const d = (dispatcher = createTestDispatcher({ jobs: [flaky, doomed] }));
    const prometheus = prometheusMetrics(d);
    expect(prometheus.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    await d.enqueue(flaky, {}, { runAt: new Date(d.clock.now() - 2000) });
    await d.enqueue(doomed, {});
    await d.enqueue(doomed, {}, { delay: '1h' });
    await d.runUntilIdle();

    const samples = parse(await prometheus.metrics());
    const flakyLabels = { queue: 'default', name: 'flaky' };
    const doomedLabels = { queue: 'hard', name: 'doomed' };
    const counts = (labels: Record<string, string>) =>
      ['enqueued', 'started', 'failed', 'retried', 'completed', 'dead_lettered', 'cancelled'].map((n) => valueOf(samples, `dispatch_jobs_${n}_total`, labels) ?? 0);
    expect(counts(flakyLabels)).toEqual([1, 2, 1, 1, 1, 0, 0]);
    expect(counts(doomedLabels)).toEqual([2, 1, 1, 0, 0, 1, 0]);
    expect(valueOf(samples, 'dispatch_job_duration_seconds_count', { ...flakyLabels, state: 'retrying' })).toBe(1);
    expect(valueOf(samples, 'dispatch_job_duration_seconds_count', { ...flakyLabels, state: 'completed' })).toBe(1);
    expect(valueOf(samples, 'dispatch_job_duration_seconds_count', { ...doomedLabels, state: 'dlq' })).toBe(1);
    expect(valueOf(samples, 'dispatch_job_lag_seconds_count', flakyLabels)).toBe(2);
    expect(valueOf(samples, 'dispatch_job_lag_seconds_sum', flakyLabels)).toBe(2);
    expect(valueOf(samples, 'dispatch_job_lag_seconds_bucket', { ...flakyLabels, le: '1' })).toBe(1);
    expect(valueOf(samples, 'dispatch_queue_depth', { queue: 'default', state: 'completed' })).toBe(1);
    expect(valueOf(samples, 'dispatch_queue_depth', { queue: 'hard', state: 'pending' })).toBe(1);
    expect(valueOf(samples, 'dispatch_queue_depth', { queue: 'hard', state: 'dlq' })).toBe(1);
  });

  it('shares one registry between dispatchers, each step counted once, and a second call for one dispatcher counts nothing twice', async () => {
    const registry = new Registry();
    const first = createTestDispatcher({ jobs: [flaky] });
    const second = createTestDispatcher({ jobs: [flaky] });
    try {
      prometheusMetrics(first, { registry });
      prometheusMetrics(second, { registry });
      const prometheus = prometheusMetrics(first, { registry });
      await first.enqueue(flaky, {});
      await second.enqueue(flaky, {});
      await first.runUntilIdle();
      await second.runUntilIdle();
      const samples = parse(await prometheus.metrics());
      expect(valueOf(samples, 'dispatch_jobs_enqueued_total', { queue: 'default', name: 'flaky' })).toBe(2);
      expect(valueOf(samples, 'dispatch_jobs_completed_total', { queue: 'default', name: 'flaky' })).toBe(2);
      expect(valueOf(samples, 'dispatch_queue_depth', { queue: 'default', state: 'completed' })).toBe(2);
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it('reads the store once for a burst of scrapes', async () => {
    const d = (dispatcher = createTestDispatcher({ jobs: [flaky] }));
    await d.enqueue(flaky, {});
    let reads = 0;
    const queueCounts = d.store.queueCounts.bind(d.store);
    d.store.queueCounts = () => {
      reads++;
      return queueCounts();
    };
    const prometheus = prometheusMetrics(d);
    await Promise.all(Array.from({ length: 20 }, () => prometheus.metrics()));
    expect(reads).toBe(1);
  });

  it('refuses what is not a dispatcher, a registry that is not one, and unknown options, by name', async () => {
    expect(() => prometheusMetrics({} as never)).toThrow(InvalidOptionError);
    expect(() => prometheusMetrics({} as never)).toThrow(/dispatcher/);
    const d = createDispatcher();
    expect(() => prometheusMetrics(d, { registry: {} as never })).toThrow(/registry/);
    expect(() => prometheusMetrics(d, { registery: new Registry() } as never)).toThrow(InvalidOptionError);
    await d.stop();
  });
});
