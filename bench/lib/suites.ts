import { LOAD_SCENARIOS } from './plan-load.js';
import { type ScenarioDef, SCENARIOS } from './plan.js';

/** Every scenario of every suite, in the order they run. */
export const ALL_SCENARIOS: readonly ScenarioDef[] = [...SCENARIOS, ...LOAD_SCENARIOS];

export interface SuiteDef {
  id: string;
  /** What it holds, for --help. */
  about: string;
  /** Scenario ids, each run in this order. A scenario may be in more than one suite (process-c50 is the queue suite's reference). */
  scenarios: readonly string[];
}

/**
 * Suites, each under 10 minutes on 2 cores at three runs a figure. A derived
 * figure needs its inputs in the same suite: cost per job (engine-c50, floor)
 * in core, backlog scaling (backlog-10k and a bigger one) in backlog.
 */
export const SUITES: readonly SuiteDef[] = [
  {
    id: 'core',
    about: 'enqueue (one by one, bulk), process at c10 and c50, pickup latency (same and other process), retry, heap per in-flight job, the bare actor floor',
    scenarios: ['enqueue-seq', 'enqueue-bulk', 'process-c10', 'process-c50', 'engine-c50', 'latency', 'latency-remote', 'retry', 'memory', 'floor'],
  },
  {
    id: 'backlog',
    about: 'rate with 10,000, 200,000 and 1,000,000 jobs waiting, and backlog scaling',
    scenarios: ['backlog-10k', 'backlog-200k', 'backlog-1m'],
  },
  {
    id: 'queue',
    about: 'queue control used but not binding: a rate limit and unique keys, beside process-c50 as the reference',
    scenarios: ['process-c50', 'ratelimit-c50', 'unique'],
  },
  {
    id: 'scale',
    about: 'scale-out: 1, 2 and 4 worker processes on one store, 50,000 jobs, aggregate rate and duplicates',
    scenarios: ['scaleout-p1', 'scaleout-p2', 'scaleout-p4'],
  },
  {
    id: 'real',
    about: 'handlers that await 1 ms at concurrency 100 with urgent pickups while the backlog drains; 50 concurrent producers',
    scenarios: ['real-c100', 'producers-50'],
  },
  {
    id: 'sporadic',
    about: 'pickup latency when enqueues come 10.5 s apart, as in an app that enqueues now and then (about 8 minutes)',
    scenarios: ['sporadic-pickup'],
  },
  {
    id: 'footprint',
    about: 'heap and RSS per waiting job with 1,000,000 waiting on our stores (filled through the bulk path)',
    scenarios: ['footprint-1m'],
  },
];

export const DEFAULT_SUITE = 'core';

/**
 * The scenarios to run: those of the named suites (`all` is every suite), or
 * with `--scenario` the ids and groups named, from any suite (within the
 * named suites when both are given).
 */
export function pickScenarios(suites: readonly string[] | null, names: readonly string[] | null): ScenarioDef[] {
  const unknownSuites = (suites ?? []).filter((s) => s !== 'all' && !SUITES.some((d) => d.id === s));
  if (unknownSuites.length > 0) throw new Error(`unknown suite(s) ${unknownSuites.join(', ')} (try --help)`);
  const inSuites = (ids: readonly string[]) =>
    new Set(SUITES.filter((d) => ids.includes('all') || ids.includes(d.id)).flatMap((d) => d.scenarios));
  if (names) {
    const unknown = names.filter((n) => !ALL_SCENARIOS.some((s) => s.id === n || s.group === n));
    if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')} (try --help)`);
    const allowed = suites ? inSuites(suites) : null;
    const picked = ALL_SCENARIOS.filter((s) => (names.includes(s.id) || names.includes(s.group)) && (!allowed || allowed.has(s.id)));
    if (picked.length === 0) throw new Error(`none of ${names.join(', ')} is in suite ${suites!.join(', ')} (try --help)`);
    return picked;
  }
  const wanted = inSuites(suites ?? [DEFAULT_SUITE]);
  // Suite order, each scenario once.
  const order = SUITES.filter((d) => (suites ?? [DEFAULT_SUITE]).some((s) => s === 'all' || s === d.id)).flatMap((d) => d.scenarios);
  return [...new Set(order)].filter((id) => wanted.has(id)).map((id) => ALL_SCENARIOS.find((s) => s.id === id)!);
}
