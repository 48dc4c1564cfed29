import type { TargetId } from './types.js';

/** A row of the report: one figure a scenario produces. */
export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  /** Which way is better; ratios read ours / best peer either way. */
  better: 'higher' | 'lower';
}

export interface ScenarioDef {
  id: string;
  /** What `--scenario` matches besides the id. */
  group: string;
  title: string;
  metrics: MetricDef[];
  params(quick: boolean): Record<string, number>;
  /** Targets that run it; the rest are listed with the reason. */
  skip(target: TargetId): string | null;
  /** Per-target changes to the parameters (time caps for slow configurations). */
  tweak?(target: TargetId, params: Record<string, number>): Record<string, number>;
}

export const rate = (label = 'throughput'): MetricDef => ({ key: 'rate', label, unit: 'jobs/s', better: 'higher' });
/** A pickup time: the percentile's key, and its label where it reads otherwise. */
const pickup = (key: string, label = key): MetricDef => ({ key, label, unit: 'ms', better: 'lower' });
const rss: MetricDef = { key: 'peakRssMb', label: 'peak RSS', unit: 'MB', better: 'lower' };
const alloc: MetricDef = { key: 'allocKbPerJob', label: 'allocated per job', unit: 'KB', better: 'lower' };
const stall: MetricDef = { key: 'maxStallMs', label: 'longest event-loop stall', unit: 'ms', better: 'lower' };

/** Our three stores. */
export const ourStores: ReadonlySet<TargetId> = new Set<TargetId>(['memory', 'sqlite', 'postgres']);

export const onlyFloor = (t: TargetId) => (t === 'xstate' ? 'the bare actor has only the floor scenario' : null);
const sameEnqueue = (t: TargetId) =>
  onlyFloor(t) ??
  (t === 'pgboss-batch' ? 'enqueue does not depend on worker settings: see pg-boss' : null) ??
  (t === 'graphile-batch' ? 'enqueue does not depend on worker settings: see Graphile Worker (plain)' : null);

/** pg-boss with batchSize = concurrency runs one batch per 0.5 s poll: a 2 s cap and 1,000 queued jobs are plenty. */
const shortCapForPgboss = (t: TargetId, p: Record<string, number>) =>
  t === 'pgboss' ? { ...p, capMs: Math.min(p.capMs!, 2000), n: Math.min(p.n!, 1000) } : p;

function processScenario(concurrency: number): ScenarioDef {
  return {
    id: `process-c${concurrency}`,
    group: 'process',
    title: `process 20,000 queued jobs, concurrency ${concurrency}`,
    metrics: concurrency === 50 ? [rate(), rss, alloc, stall] : [rate()],
    params: (quick) => ({ n: quick ? 2000 : 20_000, concurrency, capMs: quick ? 2000 : 3000 }),
    skip: onlyFloor,
    tweak: shortCapForPgboss,
  };
}

function backlogScenario(size: number, label: string): ScenarioDef {
  return {
    id: `backlog-${label}`,
    group: 'backlog',
    title: `rate with ${size.toLocaleString('en-US')} jobs waiting`,
    metrics: [rate(), rss],
    params: (quick) => ({
      backlog: quick ? Math.max(5000, size / 10) : size,
      warmup: quick ? 200 : 1000,
      // As many as the 10,000 backlog allows after the warm-up: at tens of thousands of jobs a second a
      // shorter window lasts about a tenth of a second, and one pause of the collector swings it.
      window: quick ? 1000 : 8500,
      concurrency: 50,
      capMs: quick ? 2000 : 4000,
    }),
    skip: (t) =>
      onlyFloor(t) ??
      (t === 'pgboss' ? 'about 100 jobs/s at batch 50 by design (one batch per 0.5 s poll): see pg-boss (batch 1000)' : null) ??
      (size > 200_000 && t !== 'memory' && t !== 'sqlite' ? 'the 1,000,000 backlog is for the memory and SQLite stores' : null),
  };
}

export const SCENARIOS: readonly ScenarioDef[] = [
  {
    id: 'enqueue-seq',
    group: 'enqueue',
    title: 'enqueue 20,000 one by one (each awaited)',
    metrics: [rate('enqueue rate')],
    params: (quick) => ({ n: quick ? 2000 : 20_000, capMs: quick ? 1000 : 2000 }),
    skip: sameEnqueue,
  },
  {
    id: 'enqueue-bulk',
    group: 'enqueue',
    title: 'enqueue 20,000 in one bulk call',
    metrics: [rate('enqueue rate')],
    params: (quick) => ({ n: quick ? 2000 : 20_000 }),
    skip: sameEnqueue,
  },
  processScenario(10),
  processScenario(50),
  {
    id: 'ratelimit-c50',
    group: 'ratelimit',
    title: 'process 20,000 queued jobs, concurrency 50, a rate limit configured but not binding (compare process-c50)',
    metrics: [rate()],
    // A million starts a second (the most the setting takes): far above any target's rate, so the limit is paid for but never waited on.
    params: (quick) => ({ n: quick ? 2000 : 20_000, concurrency: 50, capMs: quick ? 2000 : 3000, rateMax: 1_000_000, ratePerMs: 1000 }),
    skip: (t) =>
      onlyFloor(t) ??
      (t === 'pgboss' || t === 'pgboss-batch' ? 'pg-boss has no built-in limit on job starts per window across workers' : null) ??
      (t === 'graphile' || t === 'graphile-batch' ? 'Graphile Worker has no built-in limit on job starts per window (a queue_name only runs its jobs one at a time)' : null),
  },
  {
    id: 'latency',
    group: 'latency',
    title: 'pickup latency, idle worker, enqueue call to handler start',
    metrics: [pickup('p50'), pickup('p95'), pickup('p99')],
    params: (quick) => ({ samples: quick ? 30 : 200, concurrency: 10, settleMs: 300, gapMs: 2, capMs: quick ? 1500 : 2500 }),
    skip: (t) => onlyFloor(t) ?? (t === 'pgboss-batch' ? 'same polling as pg-boss' : null),
  },
  {
    id: 'latency-remote',
    group: 'latency',
    title: 'pickup latency, enqueue from another process (the wake-up crosses processes)',
    metrics: [pickup('p50'), pickup('p95'), pickup('p99')],
    params: (quick) => ({ samples: quick ? 30 : 200, concurrency: 10, settleMs: 300, gapMs: 2, capMs: quick ? 1500 : 2500 }),
    skip: (t) =>
      onlyFloor(t) ??
      (t === 'memory' ? 'a memory store lives in one process' : null) ??
      (t === 'pgboss-batch' ? 'same polling as pg-boss' : null),
  },
  {
    id: 'sporadic-pickup',
    group: 'sporadic',
    title: 'pickup latency, enqueues 10.5 s apart (past the 10 s a pg pool keeps an idle connection by default)',
    metrics: [pickup('p50'), pickup('p99', 'worst of 5')],
    // The settle is the first sample's idle gap.
    params: (quick) => ({ samples: quick ? 2 : 5, concurrency: 10, settleMs: 10_500, gapMs: 10_500, capMs: quick ? 30_000 : 70_000 }),
    skip: (t) =>
      onlyFloor(t) ??
      (t === 'memory' || t === 'sqlite' ? 'no connections to go cold: the question is what a pool does with idle ones' : null) ??
      (t === 'pgboss' || t === 'pgboss-batch' ? "pg-boss's pickup is its poll (latency covers it)" : null) ??
      (t === 'graphile-batch' ? 'the same pool and wake-up as graphile' : null),
  },
  {
    id: 'retry',
    group: 'retry',
    title: '1,000 jobs that fail once then succeed, minimal backoff',
    metrics: [{ key: 'totalMs', label: 'total time', unit: 'ms', better: 'lower' }],
    params: (quick) => ({ n: quick ? 200 : 1000, concurrency: 50, capMs: 30_000 }),
    skip: (t) =>
      onlyFloor(t) ??
      (t === 'pgboss' ? 'at batch 50 the 2,000 attempts take ~20 s of polling: see pg-boss (batch 1000)' : null) ??
      (t === 'graphile' ? "Graphile's own retry delay (exp(1) s) dominates either way: see Graphile Worker (batched)" : null),
  },
  backlogScenario(10_000, '10k'),
  backlogScenario(200_000, '200k'),
  backlogScenario(1_000_000, '1m'),
  {
    id: 'memory',
    group: 'memory',
    title: 'heap held per in-flight job (100 handlers waiting)',
    metrics: [{ key: 'heapKbPerJob', label: 'heap per in-flight job', unit: 'KB', better: 'lower' }],
    params: (quick) => ({ inflight: quick ? 50 : 100, settleMs: 300, capMs: 10_000 }),
    skip: (t) => onlyFloor(t) ?? (t === 'pgboss-batch' ? 'holds the same job objects as pg-boss' : null),
  },
  {
    id: 'unique',
    group: 'unique',
    title: 'enqueue and process with a distinct unique key each (keys used, never binding), against the same without keys',
    metrics: [rate(), { key: 'keyedRatio', label: 'keyed / plain throughput', unit: 'x', better: 'higher' }],
    params: (quick) => ({ n: quick ? 2000 : 10_000, warmup: quick ? 500 : 2000, window: 50, concurrency: 50, capMs: quick ? 20_000 : 60_000 }),
    skip: (t) =>
      onlyFloor(t) ??
      (t === 'pgboss' || t === 'pgboss-batch' ? "pg-boss's singletonKey is not wired into this bench yet" : null) ??
      (t === 'graphile' || t === 'graphile-batch' ? "Graphile Worker's jobKey is not wired into this bench yet" : null),
  },
  {
    id: 'engine-c50',
    group: 'engine',
    title: "the engine's time per job, warm: 22,000 queued, concurrency 50, timed from the 2,000th job to the 22,000th, as the floor is timed after its warm-up",
    metrics: [rate('rate')],
    params: (quick) => ({ backlog: quick ? 2200 : 22_000, warmup: quick ? 200 : 2000, window: quick ? 2000 : 20_000, concurrency: 50, capMs: quick ? 2000 : 4000 }),
    skip: (t) => onlyFloor(t) ?? (ourStores.has(t) ? null : "the engine's own cost, set against the floor; the peers' rates are process-c50's"),
  },
  {
    id: 'floor',
    group: 'floor',
    title: 'bare XState actor lifecycle (create, start, LEASE, SUCCEED, stop)',
    metrics: [
      { key: 'usPerJob', label: 'time per job', unit: 'us', better: 'lower' },
      { key: 'allocKbPerJob', label: 'allocated per job', unit: 'KB', better: 'lower' },
    ],
    params: (quick) => ({ n: quick ? 5000 : 20_000, warmup: 2000 }),
    skip: (t) => (t === 'xstate' ? null : 'the floor is measured once, on the bare actor'),
  },
];
