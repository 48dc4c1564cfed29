import { type Attributes, type Counter, createNoopMeter, type Histogram, type Meter, type ObservableGauge, type ObservableResult } from '@opentelemetry/api';
import type { JobState } from '../../machines/job.machine.js';
import type { Store } from '../store/contract.js';
import { JOB_COUNTS, type JobCount, type JobLabels, type MetricsSink } from './job-metrics.js';
import { queueDepth } from './queue-depth.js';

/** Bucket bounds in seconds for durations and lags: from a few ms to an hour. */
export const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** The instruments on one meter, made once and shared by every dispatcher that records through it. */
interface Instruments {
  counters: Record<JobCount, Counter>;
  duration: Histogram;
  lag: Histogram;
  depth: ObservableGauge;
  /** The stores whose queue depth the gauge reports, each once. */
  stores: Map<Store, number>;
}

const onMeter = new WeakMap<Meter, Instruments>();

/** Whether `meter` records anything: the API's no-op meter (no SDK registered) does not. */
export function isRecording(meter: Meter): boolean {
  return meter !== createNoopMeter();
}

/**
 * The OpenTelemetry side of a dispatcher's metrics: counters, histograms in
 * seconds and a queue depth gauge on `meter` (see docs/observability.md).
 * Answers the sink, and what stops reporting the store's depth.
 */
export function otelSink(meter: Meter, store: Store, failed: (error: unknown) => void): { sink: MetricsSink; close(): void } {
  let made = onMeter.get(meter);
  if (!made) {
    made = instruments(meter, failed);
    onMeter.set(meter, made);
  }
  const { counters, duration, lag, stores } = made;
  stores.set(store, (stores.get(store) ?? 0) + 1);
  const labels = new LabelCache();
  const sink: MetricsSink = {
    count: (what, job) => counters[what].add(1, labels.of(job)),
    lag: (job, ms) => lag.record(ms / 1000, labels.of(job)),
    duration: (job, state, ms) => duration.record(ms / 1000, labels.of(job, state)),
  };
  let closed = false;
  return {
    sink,
    close() {
      if (closed) return;
      closed = true;
      const n = stores.get(store)! - 1;
      if (n === 0) stores.delete(store);
      else stores.set(store, n);
    },
  };
}

function instruments(meter: Meter, failed: (error: unknown) => void): Instruments {
  const counters = {} as Record<JobCount, Counter>;
  for (const what of JOB_COUNTS) {
    counters[what] = meter.createCounter(`dispatch.jobs.${what.replace('-', '_')}`, { description: COUNT_DESCRIPTIONS[what], unit: '{job}' });
  }
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } };
  const stores = new Map<Store, number>();
  const depth = meter.createObservableGauge('dispatch.queue.depth', { description: 'Jobs in the store by queue and state, read when collected', unit: '{job}' });
  depth.addCallback(async (result: ObservableResult) => {
    for (const { queue, state, jobs } of await queueDepth(stores.keys(), failed)) result.observe(jobs, { queue, state });
  });
  return {
    counters,
    duration: meter.createHistogram('dispatch.job.duration', { description: 'How long attempts held jobs running, by the state they left them in', ...seconds }),
    lag: meter.createHistogram('dispatch.job.lag', { description: 'How late attempts started: lease time less the time the job was due', ...seconds }),
    depth,
    stores,
  };
}

export const COUNT_DESCRIPTIONS: Record<JobCount, string> = {
  enqueued: 'Jobs enqueued (a duplicate of a unique key is not)',
  started: 'Attempts started (jobs leased to run)',
  completed: 'Jobs completed',
  failed: 'Attempts failed: an error, a timeout or an expired lease',
  retried: 'Failed attempts the job will be retried after',
  'dead-lettered': 'Jobs moved to the dead-letter queue',
  cancelled: 'Jobs cancelled',
};

/** Attribute objects made once per queue, name (and state): recording allocates nothing on the common path. */
class LabelCache {
  private readonly made = new Map<string, Map<string, Attributes>>();

  of(job: JobLabels, state?: JobState): Attributes {
    const key = state === undefined ? job.name : `${job.name}\u0000${state}`;
    let byName = this.made.get(job.queue);
    if (!byName) this.made.set(job.queue, (byName = new Map()));
    let attributes = byName.get(key);
    if (!attributes) byName.set(key, (attributes = state === undefined ? { queue: job.queue, name: job.name } : { queue: job.queue, name: job.name, state }));
    return attributes;
  }
}
