import type { MetricDef, ScenarioDef } from './plan.js';
import { PEER_KIND, type TargetDef } from './targets.js';

export interface Outcome {
  status: 'ok' | 'not run' | 'unavailable' | 'error' | 'skipped';
  reason?: string;
  runs: Array<Record<string, number>>;
}

export interface Stat {
  median: number;
  min: number;
  max: number;
  values: number[];
}

export interface Aggregate {
  scenario: ScenarioDef;
  target: TargetDef;
  outcome: Outcome;
  stats: Record<string, Stat>;
}

interface Ratio {
  value: number;
  peer: string;
  peerMedian: number;
}

export interface Row {
  scenario: string;
  title: string;
  target: string;
  label: string;
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  status: Outcome['status'];
  reason?: string;
  median?: number;
  min?: number;
  max?: number;
  values?: number[];
  /** Jobs (or samples) per run, median. */
  n?: number;
  /** Runs that stopped at their time cap: their figure is the rate over the jobs done by then. */
  cappedRuns?: number;
  ratio?: Ratio;
}

export function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'jobs/s' || unit === 'jobs' || (unit === 'ms' && value >= 1000)) return Math.round(value).toLocaleString('en-US');
  if (unit === 'x') return value.toFixed(2);
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return value.toFixed(digits);
}

/** Ours against the best peer on the same kind of store; ours / best, whichever way is better. */
function ratioFor(agg: Aggregate, metric: MetricDef, all: readonly Aggregate[]): Ratio | undefined {
  const kind = PEER_KIND[agg.target.kind];
  const mine = agg.stats[metric.key];
  if (!agg.target.ours || !kind || !mine) return undefined;
  let best: { agg: Aggregate; median: number } | null = null;
  for (const other of all) {
    if (other.scenario.id !== agg.scenario.id || other.target.ours || other.target.kind !== kind) continue;
    const stat = other.stats[metric.key];
    if (!stat) continue;
    const better = metric.better === 'higher' ? stat.median > (best?.median ?? -Infinity) : stat.median < (best?.median ?? Infinity);
    if (better) best = { agg: other, median: stat.median };
  }
  if (!best || best.median === 0) return undefined;
  return { value: mine.median / best.median, peer: best.agg.target.label, peerMedian: best.median };
}

export function report(aggregates: readonly Aggregate[], targets: readonly TargetDef[]): { table: string; json: Record<string, unknown> } {
  const rows: Row[] = [];
  const notRun: Array<{ scenario: string; target: string; reason: string }> = [];
  for (const agg of aggregates) {
    const { scenario, target, outcome } = agg;
    if (outcome.status === 'not run') {
      notRun.push({ scenario: scenario.id, target: target.label, reason: outcome.reason ?? '' });
      continue;
    }
    for (const metric of scenario.metrics) {
      const row: Row = {
        scenario: scenario.id,
        title: scenario.title,
        target: target.id,
        label: target.label,
        metric: metric.label,
        unit: metric.unit,
        better: metric.better,
        status: outcome.status,
      };
      const stat = agg.stats[metric.key];
      if (outcome.status !== 'ok' || !stat) {
        row.reason = outcome.reason ?? 'no figure';
        if (row.status === 'ok') row.status = 'error';
        rows.push(row);
        if (outcome.status !== 'ok') break;
        continue;
      }
      Object.assign(row, { median: stat.median, min: stat.min, max: stat.max, values: stat.values });
      if (agg.stats.n) row.n = agg.stats.n.median;
      // Flagged once, on the scenario's first figure: the others come from the same runs.
      const capped = agg.outcome.runs.filter((r) => r.capped === 1).length;
      if (metric === scenario.metrics[0] && capped > 0) row.cappedRuns = capped;
      const ratio = ratioFor(agg, metric, aggregates);
      if (ratio) row.ratio = ratio;
      rows.push(row);
    }
  }
  rows.push(...derived(aggregates, targets));
  return { table: renderTable(rows, notRun), json: { rows, notRun } };
}

/** The printed table, from the rows alone (so a saved JSON can be printed again: --render). */
export function renderTable(rows: readonly Row[], notRun: ReadonlyArray<{ scenario: string; target: string; reason: string }>): string {
  const lines = [
    '| scenario | engine (store) | figure | median | min – max | runs | vs best peer on the same store kind |',
    '|---|---|---|---:|---:|---:|---|',
  ];
  let lastScenario = '';
  for (const row of rows) {
    const scenarioCell = row.scenario === lastScenario ? '' : row.title;
    lastScenario = row.scenario;
    const figure = `${row.metric} (${row.unit}${row.better === 'higher' ? ', higher is better' : ''})`;
    if (row.median === undefined) {
      lines.push(`| ${scenarioCell} | ${row.label} | ${figure} | ${row.status === 'unavailable' ? 'not available' : row.status}: ${row.reason ?? ''} | | | |`);
      continue;
    }
    const spread = row.values && row.values.length > 1 ? `${fmt(row.min!, row.unit)} – ${fmt(row.max!, row.unit)}` : '';
    const runs = row.values?.length ?? 0;
    const capped = !row.cappedRuns
      ? ''
      : row.cappedRuns === runs
        ? ` (time-capped: ${Math.round(row.n ?? 0).toLocaleString('en-US')} jobs)`
        : ` (time-capped in ${row.cappedRuns} of ${runs} runs)`;
    const ratio = row.ratio ? `x${row.ratio.value.toFixed(2)} vs ${row.ratio.peer} (${fmt(row.ratio.peerMedian, row.unit)})` : '';
    lines.push(`| ${scenarioCell} | ${row.label} | ${figure} | ${fmt(row.median, row.unit)}${capped} | ${spread} | ${row.values?.length ?? ''} | ${ratio} |`);
  }
  // The floor-only target and the floor scenario are left out of this list: they are meant to be apart.
  const worthSaying = notRun.filter((n) => n.scenario !== 'floor' && !n.reason.startsWith('the bare actor'));
  if (worthSaying.length > 0) {
    lines.push('', 'Not measured, by design:');
    for (const n of worthSaying) lines.push(`- ${n.scenario}, ${n.target}: ${n.reason}`);
  }
  return lines.join('\n');
}

/** Figures computed from the medians of others: backlog scaling, and our cost per job against the bare actor. */
function derived(aggregates: readonly Aggregate[], targets: readonly TargetDef[]): Row[] {
  const rows: Row[] = [];
  const find = (scenario: string, target: string, key: string) =>
    aggregates.find((a) => a.scenario.id === scenario && a.target.id === target)?.stats[key]?.median;
  for (const target of targets) {
    const small = find('backlog-10k', target.id, 'rate');
    for (const [big, label] of [['backlog-200k', '200k'], ['backlog-1m', '1m']] as const) {
      const large = find(big, target.id, 'rate');
      if (small === undefined || large === undefined) continue;
      rows.push({
        scenario: 'backlog-scaling',
        title: 'backlog scaling (rate with a big backlog / rate with 10,000 waiting; near 1 is good)',
        target: target.id,
        label: target.label,
        metric: `${label} / 10k`,
        unit: 'x',
        better: 'higher',
        status: 'ok',
        median: large / small,
      });
    }
  }
  for (const target of targets) {
    const one = find('scaleout-p1', target.id, 'rate');
    for (const procs of [2, 4]) {
      const many = find(`scaleout-p${procs}`, target.id, 'rate');
      if (one === undefined || many === undefined) continue;
      rows.push({
        scenario: 'scaleout-scaling',
        title: 'scale-out (aggregate rate with more worker processes / with one; at least 1 is the target)',
        target: target.id,
        label: target.label,
        metric: `${procs} processes / 1`,
        unit: 'x',
        better: 'higher',
        status: 'ok',
        median: many / one,
      });
    }
  }
  const floorUs = find('floor', 'xstate', 'usPerJob');
  const floorKb = find('floor', 'xstate', 'allocKbPerJob');
  for (const target of targets.filter((t) => t.ours)) {
    const rate = find('engine-c50', target.id, 'rate');
    const kb = find('process-c50', target.id, 'allocKbPerJob');
    if (rate === undefined || floorUs === undefined) continue;
    const us = 1e6 / rate;
    const row: Row = {
      scenario: 'cost-vs-floor',
      title: 'engine cost per job (engine-c50, warm) / bare actor lifecycle (warm); allocation from process-c50',
      target: target.id,
      label: target.label,
      metric: `time per job ${us.toFixed(1)} us / floor ${floorUs.toFixed(1)} us`,
      unit: 'x',
      better: 'lower',
      status: 'ok',
      median: us / floorUs,
    };
    rows.push(row);
    if (kb !== undefined && floorKb !== undefined) {
      rows.push({ ...row, metric: `allocated per job ${kb.toFixed(1)} KB / floor ${floorKb.toFixed(1)} KB`, median: kb / floorKb });
    }
  }
  return rows;
}
