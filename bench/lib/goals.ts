import type { Aggregate } from './report.js';
import type { TargetId } from './types.js';

/** One target of a benchmark issue, judged on the medians of this run. */
export interface Goal {
  issue: string;
  goal: string;
  /** What was measured, as a sentence: the figures and the ratio. */
  figure: string;
  /** null: this run lacks a figure the target needs (another suite measures it). */
  met: boolean | null;
}

const ROUND_TWO = 'round two';
const ROUND_ONE = 'round one (kept)';

type Median = (scenario: string, target: TargetId, key?: string) => number | undefined;

const num = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** ours / the best of `peers` (the highest, or the lowest for a time) against a bound. */
function ratio(
  median: Median,
  goal: string,
  issue: string,
  scenario: string,
  ours: TargetId,
  peers: readonly TargetId[],
  key: string,
  better: 'higher' | 'lower',
  bound: number,
): Goal {
  const mine = median(scenario, ours, key);
  const found = peers.map((p) => [p, median(scenario, p, key)] as const).filter((e): e is readonly [TargetId, number] => e[1] !== undefined);
  if (mine === undefined || found.length === 0) return { issue, goal, figure: `${scenario}: not measured in this run`, met: null };
  const [peer, theirs] = found.reduce((a, b) => ((better === 'higher' ? b[1] > a[1] : b[1] < a[1]) ? b : a));
  const x = mine / theirs;
  const met = better === 'higher' ? x >= bound : x <= bound;
  return { issue, goal, figure: `${scenario} ${key}: ${num(mine)} against ${peer} ${num(theirs)}: x${x.toFixed(2)} (${better === 'higher' ? 'at least' : 'at most'} x${bound})`, met };
}

/** A figure of ours against a fixed bound. */
function absolute(median: Median, goal: string, issue: string, scenario: string, ours: TargetId, key: string, unit: string, better: 'higher' | 'lower', bound: number): Goal {
  const mine = median(scenario, ours, key);
  if (mine === undefined) return { issue, goal, figure: `${scenario}: not measured in this run`, met: null };
  const met = better === 'higher' ? mine >= bound : mine < bound;
  return { issue, goal, figure: `${scenario} ${ours} ${key}: ${num(mine)} ${unit} (${better === 'higher' ? 'at least' : 'under'} ${bound})`, met };
}

/** One figure divided by another of the same target (backlog scaling, scale-out). */
function within(median: Median, goal: string, issue: string, target: TargetId, top: string, bottom: string, key: string, bound: number): Goal {
  const a = median(top, target, key);
  const b = median(bottom, target, key);
  if (a === undefined || b === undefined) return { issue, goal, figure: `${top} / ${bottom}: not measured in this run`, met: null };
  return { issue, goal, figure: `${target}: ${num(a)} / ${num(b)} = x${(a / b).toFixed(2)} (at least x${bound})`, met: a / b >= bound };
}

/** Our time per job, warm (engine-c50), over the bare actor's, also warm. */
function costVsFloor(median: Median, issue: string, target: TargetId, bound: number): Goal {
  const goal = `engine cost per job on ${target} at most ${bound}x the bare actor lifecycle`;
  const rate = median('engine-c50', target);
  const floor = median('floor', 'xstate', 'usPerJob');
  if (rate === undefined || floor === undefined) return { issue, goal, figure: 'engine-c50 and floor: not measured together in this run', met: null };
  const us = 1e6 / rate;
  return { issue, goal, figure: `${us.toFixed(1)} us against ${floor.toFixed(1)} us: x${(us / floor).toFixed(2)}`, met: us / floor <= bound };
}

/** The targets of both benchmark issues that this run's figures can judge; those it cannot are left out. */
export function checkGoals(aggregates: readonly Aggregate[]): Goal[] {
  const median: Median = (scenario, target, key = 'rate') =>
    aggregates.find((a) => a.scenario.id === scenario && a.target.id === target && a.outcome.status === 'ok')?.stats[key]?.median;
  const goals: Goal[] = [];
  const two = ROUND_TWO;
  for (const c of [10, 50]) {
    goals.push(ratio(median, `Postgres throughput at c${c} at least 1.3x Graphile Worker batched`, two, `process-c${c}`, 'postgres', ['graphile-batch'], 'rate', 'higher', 1.3));
  }
  for (const [store, scenarios] of [['postgres', ['latency', 'latency-remote']], ['sqlite', ['latency-remote']]] as const) {
    for (const s of scenarios) {
      goals.push(ratio(median, `${store} pickup p50 at most 1.5x BullMQ's (${s})`, two, s, store, ['bullmq'], 'p50', 'lower', 1.5));
      goals.push(ratio(median, `${store} pickup p99 at most BullMQ's (${s})`, two, s, store, ['bullmq'], 'p99', 'lower', 1));
    }
  }
  for (const store of ['sqlite', 'postgres'] as const) {
    goals.push(within(median, `scale-out on ${store}: 4 processes at least as fast as 1`, two, store, 'scaleout-p4', 'scaleout-p1', 'rate', 1));
    const peers: TargetId[] = store === 'postgres' ? ['graphile-batch'] : ['bullmq'];
    for (const procs of [1, 2, 4]) {
      goals.push(ratio(median, `scale-out on ${store}: ahead of ${peers.join(', ')} at ${procs} process${procs > 1 ? 'es' : ''}`, two, `scaleout-p${procs}`, store, peers, 'rate', 'higher', 1));
    }
  }
  const dupTargets = aggregates.filter((a) => a.scenario.group === 'scaleout' && a.outcome.status === 'ok');
  if (dupTargets.length > 0) {
    const worst = dupTargets.map((a) => ({ a, max: Math.max(...a.outcome.runs.map((r) => r.duplicates ?? 0)) }));
    const bad = worst.filter((w) => w.max > 0);
    goals.push({
      issue: two,
      goal: 'scale-out: no job run twice, on any store, at any process count',
      figure: bad.length === 0 ? `0 duplicates in all ${dupTargets.reduce((n, a) => n + a.outcome.runs.length, 0)} runs` : bad.map((w) => `${w.a.scenario.id} ${w.a.target.id}: ${w.max}`).join('; '),
      met: bad.length === 0 ? true : !bad.some((w) => ['memory', 'sqlite', 'postgres'].includes(w.a.target.id)),
    });
  }
  goals.push(ratio(median, 'concurrent producers on SQLite at least BullMQ\'s rate', two, 'producers-50', 'sqlite', ['bullmq'], 'rate', 'higher', 1));
  goals.push(costVsFloor(median, two, 'memory', 0.25));
  goals.push(within(median, 'the memory store with 200k waiting at least 0.8 of its rate with 10k', two, 'memory', 'backlog-200k', 'backlog-10k', 'rate', 0.8));

  const one = ROUND_ONE;
  for (const c of [10, 50]) {
    goals.push(ratio(median, `memory store processes at least 1.5x BullMQ (c${c})`, one, `process-c${c}`, 'memory', ['bullmq'], 'rate', 'higher', 1.5));
    goals.push(ratio(median, `SQLite store at least BullMQ's throughput (c${c})`, one, `process-c${c}`, 'sqlite', ['bullmq'], 'rate', 'higher', 1));
    goals.push(ratio(median, `Postgres store at least Graphile Worker's best (c${c})`, one, `process-c${c}`, 'postgres', ['graphile', 'graphile-batch'], 'rate', 'higher', 1));
    goals.push(ratio(median, `Postgres store 5x pg-boss's best (c${c})`, one, `process-c${c}`, 'postgres', ['pgboss', 'pgboss-batch'], 'rate', 'higher', 5));
  }
  goals.push(absolute(median, 'memory store pickup p50 under 1 ms', one, 'latency', 'memory', 'p50', 'ms', 'lower', 1));
  goals.push(absolute(median, 'Postgres pickup p50 under 3 ms with LISTEN/NOTIFY', one, 'latency', 'postgres', 'p50', 'ms', 'lower', 3));
  goals.push(ratio(median, "Postgres sequential enqueue 1.5x Graphile Worker's", one, 'enqueue-seq', 'postgres', ['graphile'], 'rate', 'higher', 1.5));
  goals.push(ratio(median, "Postgres bulk enqueue at least Graphile Worker's", one, 'enqueue-bulk', 'postgres', ['graphile'], 'rate', 'higher', 1));
  for (const store of ['memory', 'sqlite', 'postgres'] as const) {
    goals.push(within(median, `backlog scaling at least 0.8 on ${store} (200k)`, one, store, 'backlog-200k', 'backlog-10k', 'rate', 0.8));
    if (store !== 'postgres') goals.push(within(median, `backlog scaling at least 0.8 on ${store} (1m)`, one, store, 'backlog-1m', 'backlog-10k', 'rate', 0.8));
    goals.push(costVsFloor(median, one, store, 2));
  }
  return goals.filter((g) => g.met !== null);
}

export function renderGoals(goals: readonly Goal[]): string {
  const lines = ['Targets this run can judge:', '', '| issue | target | measured | met |', '|---|---|---|---|'];
  for (const g of goals) lines.push(`| ${g.issue} | ${g.goal} | ${g.figure} | ${g.met ? 'yes' : 'NO'} |`);
  return lines.join('\n');
}
