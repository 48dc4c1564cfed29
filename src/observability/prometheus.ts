import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Dispatcher } from '../engine/dispatcher.js';
import { InvalidOptionError } from '../errors.js';
import type { Store } from '../store/contract.js';
import { optionKeys, refuseUnknownKeys } from '../strict-options.js';
import { JOB_COUNTS, type JobCount, type MetricsSink } from './job-metrics.js';
import { observedOf } from './observed.js';
import { COUNT_DESCRIPTIONS, SECONDS_BUCKETS } from './otel-metrics.js';
import { queueDepth } from './queue-depth.js';

export interface PrometheusOptions {
  /** The prom-client registry to register in. Default: a new one of its own (never prom-client's global one). */
  registry?: Registry;
}

/** What an HTTP route needs to answer a Prometheus scrape. */
export interface PrometheusMetrics {
  /** The Content-Type header of the answer. */
  readonly contentType: string;
  /** The metrics in Prometheus' text format; reads the store's queue depth (cached for a second). */
  metrics(): Promise<string>;
  readonly registry: Registry;
}

const optionNames = optionKeys<PrometheusOptions>({ registry: true });

interface Instruments {
  counters: Record<JobCount, Counter<'queue' | 'name'>>;
  duration: Histogram<'queue' | 'name' | 'state'>;
  lag: Histogram<'queue' | 'name'>;
  /** The stores whose queue depth is reported, each once, with how many dispatchers use each. */
  stores: Map<Store, number>;
  /** Dispatchers already recording here: a second call for one is not a second count. */
  dispatchers: WeakSet<Dispatcher>;
}

const onRegistry = new WeakMap<Registry, Instruments>();

/**
 * A dispatcher's metrics for Prometheus, through prom-client: the same set
 * as the OpenTelemetry instruments, named after Prometheus' habits
 * (`dispatch_jobs_enqueued_total`, `dispatch_job_duration_seconds`,
 * `dispatch_queue_depth`...). Several dispatchers given the same `registry`
 * share its metrics, each step counted by the dispatcher that stored it, and
 * a store they share counted once in the depth. Serve `metrics()` with
 * `contentType` at GET /metrics.
 */
export function prometheusMetrics(dispatcher: Dispatcher, options: PrometheusOptions = {}): PrometheusMetrics {
  refuseUnknownKeys(options, optionNames, 'options', 'prometheusMetrics');
  const observed = observedOf(dispatcher);
  if (!observed) throw new InvalidOptionError('dispatcher', 'must be a dispatcher made by createDispatcher');
  const registry = options.registry ?? new Registry();
  if (typeof registry.registerMetric !== 'function' || typeof registry.metrics !== 'function') {
    throw new InvalidOptionError('registry', "must be a prom-client Registry, such as new Registry() from 'prom-client'");
  }
  let made = onRegistry.get(registry);
  if (!made) {
    made = instruments(registry, (error) => observed.logger.debug({ err: error }, 'reading queue depth for metrics'));
    onRegistry.set(registry, made);
  }
  if (!made.dispatchers.has(dispatcher)) {
    made.dispatchers.add(dispatcher);
    const { counters, duration, lag, stores } = made;
    stores.set(observed.store, (stores.get(observed.store) ?? 0) + 1);
    observed.onStop(() => {
      const n = stores.get(observed.store)! - 1;
      if (n === 0) stores.delete(observed.store);
      else stores.set(observed.store, n);
    });
    const sink: MetricsSink = {
      count: (what, job) => counters[what].inc({ queue: job.queue, name: job.name }),
      lag: (job, ms) => lag.observe({ queue: job.queue, name: job.name }, ms / 1000),
      duration: (job, state, ms) => duration.observe({ queue: job.queue, name: job.name, state }, ms / 1000),
    };
    observed.metrics.add(sink);
  }
  return { contentType: registry.contentType, metrics: () => registry.metrics(), registry };
}

function instruments(registry: Registry, failed: (error: unknown) => void): Instruments {
  const registers = [registry];
  const counters = {} as Instruments['counters'];
  for (const what of JOB_COUNTS) {
    counters[what] = new Counter({
      name: `dispatch_jobs_${what.replace('-', '_')}_total`,
      help: COUNT_DESCRIPTIONS[what],
      labelNames: ['queue', 'name'],
      registers,
    });
  }
  const stores = new Map<Store, number>();
  new Gauge({
    name: 'dispatch_queue_depth',
    help: 'Jobs in the store by queue and state, read when scraped',
    labelNames: ['queue', 'state'],
    registers,
    async collect() {
      const depth = await queueDepth(stores.keys(), failed);
      this.reset();
      for (const { queue, state, jobs } of depth) this.set({ queue, state }, jobs);
    },
  });
  return {
    counters,
    duration: new Histogram({
      name: 'dispatch_job_duration_seconds',
      help: 'How long attempts held jobs running, by the state they left them in',
      labelNames: ['queue', 'name', 'state'],
      buckets: SECONDS_BUCKETS,
      registers,
    }),
    lag: new Histogram({
      name: 'dispatch_job_lag_seconds',
      help: 'How late attempts started: lease time less the time the job was due',
      labelNames: ['queue', 'name'],
      buckets: SECONDS_BUCKETS,
      registers,
    }),
    stores,
    dispatchers: new WeakSet(),
  };
}
