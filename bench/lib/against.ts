import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './measure.js';
import type { MetricDef, ScenarioDef } from './plan.js';
import { fmt } from './report.js';
import type { TargetDef } from './targets.js';

/**
 * `--against REV`: the engine of another commit measured beside this one,
 * run for run. Two invocations of the whole bench minutes apart move by up to
 * 2x on a shared machine; runs of the two builds alternated one by one, in
 * both orders, resolve a change of 10%.
 */

/** Which build runs first in pair `run` (1-based): ABBA, so neither always goes first. */
export function pairOrder(run: number): readonly ['this', 'base'] | readonly ['base', 'this'] {
  return run % 2 === 1 ? (['this', 'base'] as const) : (['base', 'this'] as const);
}

export interface PairSummary {
  /** Medians of each build's runs. */
  thisMedian: number;
  baseMedian: number;
  /** This build's median over the base's. */
  ratioOfMedians: number;
  /** The median of this / base within each pair: what the noise between pairs does not move. */
  medianPairRatio: number;
  /** Pairs in which this build did better, by the metric's direction. */
  better: number;
  pairs: number;
}

/** The pairs whose both runs gave the figure; null when none did. A ratio is NaN where the base is 0 (a count of jobs run twice). */
export function summarizePairs(pairs: ReadonlyArray<{ this?: number; base?: number }>, metric: MetricDef): PairSummary | null {
  const complete = pairs.filter((p): p is { this: number; base: number } => isFigure(p.this) && isFigure(p.base));
  if (complete.length === 0) return null;
  const thisMedian = median(complete.map((p) => p.this));
  const baseMedian = median(complete.map((p) => p.base));
  const ratios = complete.filter((p) => p.base !== 0).map((p) => p.this / p.base);
  const better = complete.filter((p) => (metric.better === 'higher' ? p.this > p.base : p.this < p.base)).length;
  return {
    thisMedian,
    baseMedian,
    ratioOfMedians: baseMedian === 0 ? Number.NaN : thisMedian / baseMedian,
    medianPairRatio: ratios.length === 0 ? Number.NaN : median(ratios),
    better,
    pairs: complete.length,
  };
}

const isFigure = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** The commit REV names, in full; a clear error when it names none. */
export function resolveRev(root: string, rev: string): string {
  const found = spawnSync('git', ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`], { cwd: root, encoding: 'utf8' });
  const sha = found.stdout.trim();
  if (found.status !== 0 || !/^[0-9a-f]{40}$/.test(sha)) throw new Error(`--against: ${JSON.stringify(rev)} names no commit of this repository`);
  return sha;
}

/**
 * Builds REV's engine (src/, machines/) with this tree's bench around it, so
 * the two sides differ only in the engine, and answers the child script. Type
 * errors between this bench and an older engine do not stop it (tsc still
 * emits); the adapter looks up what it needs at run time.
 */
export function buildAgainst(root: string, sha: string): string {
  const dir = join(root, 'bench', 'results', 'against', sha.slice(0, 12));
  const tree = join(dir, 'tree');
  const out = join(dir, 'dist');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  const archive = spawnSync('sh', ['-c', `git archive ${sha} src machines | tar -x -C "${tree}"`], { cwd: root, encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(`--against: could not check out ${sha} (${archive.stderr.trim()})`);
  for (const entry of readdirSync(join(root, 'bench'))) {
    if (entry !== 'results') cpSync(join(root, 'bench', entry), join(tree, 'bench', entry), { recursive: true });
  }
  for (const file of ['tsconfig.json', 'tsconfig.build.json', 'package.json']) cpSync(join(root, file), join(tree, file));
  symlinkSync(join(root, 'node_modules'), join(tree, 'node_modules'), 'dir');
  const t0 = Date.now();
  const compiled = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(tree, 'bench', 'tsconfig.json'), '--outDir', out], { cwd: tree, encoding: 'utf8' });
  const took = ((Date.now() - t0) / 1000).toFixed(1);
  const childScript = join(out, 'bench', 'child.js');
  if (!existsSync(childScript) || !existsSync(join(out, 'src', 'index.js'))) {
    throw new Error(`--against: building ${sha.slice(0, 12)} produced nothing\n${(compiled.stdout + compiled.stderr).trim().split('\n').slice(0, 10).join('\n')}`);
  }
  console.log(`build of ${sha.slice(0, 12)} (its engine, this bench): ${compiled.status === 0 ? 'ok' : `exited ${compiled.status}, emitted files used`} (${took} s)`);
  return childScript;
}

/** One scenario and target measured on both builds: a pair per run, each side's metrics or why it has none. */
export interface PairedFigures {
  scenario: ScenarioDef;
  target: TargetDef;
  pairs: Array<{ run: number; this?: Record<string, number>; base?: Record<string, number>; errors: string[] }>;
}

/** The table `--against` prints: per figure, each build's median and the two ratios. */
export function renderPairs(figures: readonly PairedFigures[], baseLabel: string): { table: string; rows: Array<Record<string, unknown>> } {
  const lines = [
    `| scenario | engine (store) | figure | this build | ${baseLabel} | this / ${baseLabel}, medians | median of pair ratios | pairs this build did better |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  const rows: Array<Record<string, unknown>> = [];
  for (const { scenario, target, pairs } of figures) {
    for (const metric of scenario.metrics) {
      const summary = summarizePairs(
        pairs.map((p) => ({ this: p.this?.[metric.key], base: p.base?.[metric.key] })),
        metric,
      );
      const errors = [...new Set(pairs.flatMap((p) => p.errors))];
      rows.push({ scenario: scenario.id, target: target.id, metric: metric.key, unit: metric.unit, better: metric.better, pairs, summary, errors });
      const figure = `${metric.label} (${metric.unit}, ${metric.better} is better)`;
      if (!summary) {
        lines.push(`| ${scenario.id} | ${target.label} | ${figure} | | | no complete pair${errors.length ? `: ${errors.join('; ')}` : ''} | | |`);
        continue;
      }
      const n = (v: number) => fmt(v, metric.unit);
      const x = (v: number) => (Number.isFinite(v) ? `x${v.toFixed(2)}` : 'n/a (base 0)');
      lines.push(
        `| ${scenario.id} | ${target.label} | ${figure} | ${n(summary.thisMedian)} | ${n(summary.baseMedian)} | ${x(summary.ratioOfMedians)} | ${x(summary.medianPairRatio)} | ${summary.better} of ${summary.pairs} |`,
      );
    }
  }
  return { table: lines.join('\n'), rows };
}
