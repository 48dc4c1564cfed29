import { type MetricDef, onlyFloor, ourStores, rate, type ScenarioDef } from './plan.js';

/** Round two's scenarios: several worker processes, handlers that wait, many producers, a million waiting. */

const perJobBytes = (key: string, label: string): MetricDef => ({ key, label, unit: 'bytes', better: 'lower' });

function scaleOutScenario(procs: number): ScenarioDef {
  return {
    id: `scaleout-p${procs}`,
    group: 'scaleout',
    title: `scale-out: 50,000 queued jobs, ${procs} worker process${procs > 1 ? 'es' : ''} at concurrency 10 each`,
    metrics: [rate('aggregate throughput'), { key: 'duplicates', label: 'jobs run more than once', unit: 'jobs', better: 'lower' }],
    params: (quick) => ({ n: quick ? 5000 : 50_000, procs, concurrency: 10, capMs: quick ? 10_000 : 20_000 }),
    skip: (t) =>
      onlyFloor(t) ??
      (t === 'memory' ? 'a memory store lives in one process' : null) ??
      (t === 'pgboss' || t === 'pgboss-batch' ? 'the issue sets scale-out beside BullMQ and Graphile Worker batched; pg-boss runs 2k jobs/s in one process (see process-c50)' : null) ??
      (t === 'graphile' ? 'Graphile Worker plain polls every 2 s between LISTEN wake-ups: see Graphile Worker (batched)' : null),
  };
}

export const LOAD_SCENARIOS: readonly ScenarioDef[] = [
  scaleOutScenario(1),
  scaleOutScenario(2),
  scaleOutScenario(4),
  {
    id: 'real-c100',
    group: 'real',
    title: 'real handlers: 50,000 queued jobs, each awaits 1 ms of timer, concurrency 100; urgent jobs enqueued while it drains',
    metrics: [
      rate(),
      { key: 'pickupP50', label: 'urgent job pickup p50 during the drain', unit: 'ms', better: 'lower' },
      { key: 'pickupP99', label: 'urgent job pickup p99 during the drain', unit: 'ms', better: 'lower' },
    ],
    params: (quick) => ({ n: quick ? 5000 : 50_000, concurrency: 100, handlerMs: 1, probeGapMs: 5, capMs: quick ? 5000 : 15_000 }),
    skip: (t) =>
      onlyFloor(t) ??
      (t === 'pgboss' ? 'one batch of 100 per 0.5 s poll by design: see pg-boss (batch 1000)' : null) ??
      (t === 'graphile' ? 'Graphile Worker plain runs about 1k jobs/s (see process-c10): see Graphile Worker (batched)' : null),
  },
  {
    id: 'producers-50',
    group: 'producers',
    title: 'concurrent producers: 50 callers in one process, each awaiting its own enqueues, 20,000 jobs',
    metrics: [rate('enqueue rate')],
    params: (quick) => ({ n: quick ? 2000 : 20_000, producers: 50, capMs: quick ? 1500 : 3000 }),
    skip: (t) =>
      onlyFloor(t) ??
      (t === 'pgboss-batch' ? 'enqueue does not depend on worker settings: see pg-boss' : null) ??
      (t === 'graphile-batch' ? 'enqueue does not depend on worker settings: see Graphile Worker (plain)' : null),
  },
  {
    id: 'footprint-1m',
    group: 'footprint',
    title: 'footprint: 1,000,000 jobs waiting (filled in bulk), a worker at concurrency 10 with its handlers held',
    metrics: [
      perJobBytes('heapBytesPerJob', 'heap per waiting job'),
      perJobBytes('rssBytesPerJob', 'RSS per waiting job'),
      { key: 'rssMb', label: 'RSS with 1,000,000 waiting', unit: 'MB', better: 'lower' },
      { key: 'fillRate', label: 'bulk fill rate', unit: 'jobs/s', better: 'higher' },
    ],
    params: (quick) => ({ waiting: quick ? 100_000 : 1_000_000, concurrency: 10, settleMs: 300, capMs: 30_000 }),
    skip: (t) => onlyFloor(t) ?? (ourStores.has(t) ? null : "a peer's waiting jobs live in its server (Redis, PostgreSQL), not in the worker process"),
  },
];
