/**
 * `npm run bench`: builds the engine as users get it (dist/), then runs every
 * measurement of a suite in a fresh child process, three times, and prints
 * one table and the targets it can judge.
 *
 *   npm run bench -- --quick
 *   npm run bench -- --suite scale
 *   npm run bench -- --only memory,bullmq --scenario process
 *   npm run bench -- --runs 5 --budget 900
 *   npm run bench -- --against 10ca341 --scenario process-c50 --runs 7
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAgainst, type PairedFigures, pairOrder, renderPairs, resolveRev } from './lib/against.js';
import { cleanup } from './lib/cleanup.js';
import { median } from './lib/measure.js';
import { checkGoals, type Goal, renderGoals } from './lib/goals.js';
import type { ScenarioDef } from './lib/plan.js';
import { type Aggregate, type Outcome, type Row, renderTable, report } from './lib/report.js';
import { ALL_SCENARIOS, DEFAULT_SUITE, pickScenarios, SUITES } from './lib/suites.js';
import { TARGETS, type TargetDef } from './lib/targets.js';
import type { ChildResult, MeasureSpec, TargetId } from './lib/types.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// A private build: someone else's `npm run build` during a run must not change what is measured.
const buildDir = join(root, 'bench', 'results', 'dist');
const childScript = join(buildDir, 'bench', 'child.js');

interface Args {
  quick: boolean;
  runs: number;
  only: string[] | null;
  suites: string[] | null;
  scenarios: string[] | null;
  build: boolean;
  /** 0: the default, 570 s for each suite run. */
  budgetS: number;
  out: string;
  baseline: boolean;
  render: string | null;
  keep: boolean;
  /** A commit whose engine runs beside this one's, run for run. */
  against: string | null;
}

function usage(): never {
  const suites = SUITES.map((d) => `    ${d.id.padEnd(10)} ${d.about}\n               (${d.scenarios.join(', ')})`).join('\n');
  console.log(`usage: npm run bench -- [options]
  --suite LIST        suites to run, comma-separated, or all (default ${DEFAULT_SUITE}); each meant to take under 10 minutes on a quiet 2-core machine:
${suites}
  --quick             small counts, one run: for development (about a minute a suite)
  --only LIST         targets, comma-separated: ${TARGETS.map((t) => t.id).join(', ')}
                      (a prefix takes its variants: pgboss = pgboss,pgboss-batch; also: ours, peers)
  --scenario LIST     scenarios or groups from any suite (within --suite if given too):
                      ${[...new Set(ALL_SCENARIOS.flatMap((s) => [s.group, s.id]))].join(', ')}
  --runs N            runs per figure (default 3; --quick 1); the table shows the median, min and max
  --budget SECONDS    stop starting measurements after this long (default 570 for each suite)
  --no-build          use the last build (bench/results/dist) as it is
  --out FILE          where the JSON goes (default bench/results/latest.json)
  --baseline          also write bench/baseline.json, the copy the docs cite
  --render FILE       print the table of a saved JSON (such as bench/baseline.json) and exit
  --keep              leave the queues, schemas and SQLite files of the run in place (default: removed)
  --against REV       build REV's engine with this bench and run it beside this one, alternating run by run
                      (ABBA), on our targets and the floor only; prints each build's median, the ratio of
                      medians and the median ratio within pairs (give --runs 5 or more)`);
  process.exit(0);
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    quick: false,
    runs: 0,
    only: null,
    suites: null,
    scenarios: null,
    build: true,
    budgetS: 0,
    out: join(root, 'bench', 'results', 'latest.json'),
    baseline: false,
    render: null,
    keep: false,
    against: null,
  };
  const list = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--quick') args.quick = true;
    else if (flag === '--only') args.only = list(value());
    else if (flag === '--scenario' || flag === '--scenarios') args.scenarios = list(value());
    else if (flag === '--suite' || flag === '--suites') args.suites = list(value());
    else if (flag === '--runs') args.runs = Number(value());
    else if (flag === '--budget') args.budgetS = Number(value());
    else if (flag === '--no-build') args.build = false;
    else if (flag === '--out') args.out = resolve(value() ?? '');
    else if (flag === '--baseline') args.baseline = true;
    else if (flag === '--render') args.render = resolve(value() ?? '');
    else if (flag === '--keep') args.keep = true;
    else if (flag === '--against') args.against = value() ?? '';
    else if (flag === '--help' || flag === '-h') usage();
    else throw new Error(`unknown option ${arg} (try --help)`);
  }
  if (args.runs === 0) args.runs = args.quick ? 1 : 3;
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs must be a whole number of at least 1');
  if (!(args.budgetS >= 0)) throw new Error('--budget must be a number of seconds');
  if (args.against === '') throw new Error('--against needs a commit (a hash, a tag or a branch)');
  if (args.against !== null && args.baseline) throw new Error('--against and --baseline do not go together: a baseline is one build against its peers');
  return args;
}

function pickTargets(only: string[] | null): TargetDef[] {
  if (!only) return [...TARGETS];
  const picked = TARGETS.filter((t) =>
    only.some((o) => o === t.id || t.id.startsWith(`${o}-`) || (o === 'ours' && t.ours) || (o === 'peers' && !t.ours && t.id !== 'xstate')),
  );
  const unknown = only.filter((o) => o !== 'ours' && o !== 'peers' && !TARGETS.some((t) => t.id === o || t.id.startsWith(`${o}-`)));
  if (unknown.length > 0) throw new Error(`unknown target(s) ${unknown.join(', ')} (try --help)`);
  return picked;
}

/**
 * Builds the engine the way users get it, and the bench beside it, in one
 * compile: bench/tsconfig.json extends the build's tsconfig, so its src/ is
 * what `npm run build` writes to dist/src. Type errors in unfinished work
 * elsewhere must not stop a run (tsc still emits).
 */
function build(): void {
  const step = (label: string, cmd: string, argv: string[]) => {
    const t0 = Date.now();
    const result = spawnSync(cmd, argv, { cwd: root, encoding: 'utf8' });
    const took = ((Date.now() - t0) / 1000).toFixed(1);
    if (result.status === 0) console.log(`${label}: ok (${took} s)`);
    else console.warn(`${label}: exited ${result.status} (${took} s); emitted files are used anyway\n${(result.stdout + result.stderr).trim().split('\n').slice(0, 10).join('\n')}`);
  };
  step('build (engine with the options of npm run build, and the bench)', join(root, 'node_modules', '.bin', 'tsc'), ['-p', join('bench', 'tsconfig.json')]);
  if (!existsSync(childScript) || !existsSync(join(buildDir, 'src', 'index.js'))) {
    throw new Error(`the build produced nothing in ${buildDir}; see the errors above`);
  }
}

/** Runs one measurement in a fresh Node process and reads its result line. */
function runChild(spec: MeasureSpec, timeoutMs: number, script = childScript): Promise<ChildResult & { stderr: string }> {
  return new Promise((resolveResult) => {
    const child = spawn(process.execPath, ['--expose-gc', script, JSON.stringify(spec)], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (line) {
        resolveResult({ ...(JSON.parse(line.slice('BENCH_RESULT '.length)) as ChildResult), stderr });
      } else {
        const why = signal === 'SIGKILL' ? `killed after ${timeoutMs / 1000} s` : `exited ${code ?? signal} without a result`;
        resolveResult({ ok: false, error: why, stderr });
      }
    });
  });
}

interface Planned {
  scenario: ScenarioDef;
  target: TargetDef;
  spec: MeasureSpec;
}

/** A run's first figure, for its progress line. */
function firstFigure(scenario: ScenarioDef, metrics: Record<string, number>): string {
  const first = scenario.metrics[0]!;
  const value = metrics[first.key];
  return `${value === undefined ? '?' : value.toFixed(value < 100 ? 2 : 0)} ${first.unit}`;
}

const fmtS = (ms: number) => `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.render) {
    const saved = JSON.parse(readFileSync(args.render, 'utf8')) as {
      rows: Row[];
      notRun: Array<{ scenario: string; target: string; reason: string }>;
      command: string;
      date: string;
      elapsedS: number;
      machine: { cpus: number; node: string };
      goals?: Goal[];
    };
    console.log(renderTable(saved.rows, saved.notRun));
    if (saved.goals && saved.goals.length > 0) console.log(`\n${renderGoals(saved.goals)}`);
    console.log(`\n${saved.command} | ${saved.date} | ${fmtS(saved.elapsedS * 1000)} | ${saved.machine.cpus} cores, Node ${saved.machine.node}`);
    return;
  }
  // The floor's chart is the engine's, so it is measured on both sides too; peers are the same code on both.
  const targets = pickTargets(args.only).filter((t) => !args.against || t.ours || t.id === 'xstate');
  if (targets.length === 0) throw new Error('--against measures our targets (and the floor): --only names none of them');
  const scenarios = pickScenarios(args.suites, args.scenarios);
  const baseSha = args.against === null ? null : resolveRev(root, args.against);
  if (args.budgetS === 0) {
    const suites = args.suites?.includes('all') ? SUITES.length : (args.suites?.length ?? 1);
    args.budgetS = 570 * suites;
  }
  const started = Date.now();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  if (args.build) build();
  const baseChild = baseSha === null ? null : buildAgainst(root, baseSha);

  // Scenario by scenario; within one, run 1 of every target, then run 2...: noise spreads over all targets.
  const plan: Planned[] = [];
  const outcomes = new Map<string, Outcome>();
  const key = (s: string, t: string) => `${s}\u0000${t}`;
  for (const scenario of scenarios) {
    const resetDone = new Set<string>();
    for (let run = 1; run <= args.runs; run++) {
      for (const target of targets) {
        const skip = scenario.skip(target.id);
        if (skip) {
          outcomes.set(key(scenario.id, target.id), { status: 'not run', reason: skip, runs: [] });
          continue;
        }
        let params = scenario.params(args.quick);
        if (scenario.tweak) params = scenario.tweak(target.id, params);
        // A backlog is kept between the runs of one scenario (durable stores), so only the first run fills it from empty.
        const shared = target.shared ?? `${target.id}#${run}`;
        // Two builds alternating never share a backlog: their schemas may differ.
        const reset = baseChild !== null || scenario.group !== 'backlog' || !resetDone.has(shared);
        resetDone.add(shared);
        plan.push({ scenario, target, spec: { target: target.id, scenario: scenario.id, params, run, reset } });
        outcomes.set(key(scenario.id, target.id), { status: 'ok', runs: [] });
      }
    }
  }

  if (baseChild !== null) {
    await runPairs(plan, baseChild, baseSha!, args, started, command);
    if (!args.keep) console.log(`removed: ${(await cleanup()).join('; ')}`);
    return;
  }

  const unavailable = new Map<TargetId, string>();
  // Per target, per scenario: settings differ (concurrency, retry options).
  const settings: Record<string, Record<string, Record<string, unknown>>> = {};
  let done = 0;
  for (const { scenario, target, spec } of plan) {
    done++;
    const outcome = outcomes.get(key(scenario.id, target.id))!;
    const gone = unavailable.get(target.id);
    if (gone) {
      Object.assign(outcome, { status: 'unavailable', reason: gone });
      continue;
    }
    if (Date.now() - started > args.budgetS * 1000) {
      if (outcome.runs.length === 0) Object.assign(outcome, { status: 'skipped', reason: `time budget of ${args.budgetS} s spent` });
      continue;
    }
    const t0 = Date.now();
    const result = await runChild(spec, 180_000);
    const took = ((Date.now() - t0) / 1000).toFixed(1);
    const prefix = `[${String(done).padStart(3)}/${plan.length} ${fmtS(Date.now() - started)}] ${scenario.id} ${target.id} run ${spec.run} (${took} s)`;
    if (result.ok) {
      outcome.runs.push(result.metrics);
      (settings[target.id] ??= {})[scenario.id] = result.settings;
      console.log(`${prefix}: ${firstFigure(scenario, result.metrics)}${result.metrics.capped ? ` (capped at ${result.metrics.n} jobs)` : ''}`);
    } else if (result.unavailable) {
      unavailable.set(target.id, result.unavailable);
      Object.assign(outcome, { status: 'unavailable', reason: result.unavailable });
      console.log(`${prefix}: not available: ${result.unavailable}`);
    } else {
      Object.assign(outcome, { status: 'error', reason: result.error });
      console.log(`${prefix}: FAILED: ${result.error}\n${result.stderr.trim().split('\n').slice(-15).join('\n')}`);
    }
  }
  // Targets that became unavailable after some of their rows were planned as ok.
  for (const [k, outcome] of outcomes) {
    const target = k.split('\u0000')[1] as TargetId;
    if (outcome.runs.length === 0 && outcome.status === 'ok') {
      Object.assign(outcome, unavailable.has(target) ? { status: 'unavailable', reason: unavailable.get(target) } : { status: 'skipped', reason: 'no run finished' });
    }
  }

  const aggregates: Aggregate[] = [];
  for (const scenario of scenarios) {
    for (const target of targets) {
      const outcome = outcomes.get(key(scenario.id, target.id));
      if (!outcome) continue;
      aggregates.push({ scenario, target, outcome, stats: statsOf(scenario, outcome) });
    }
  }
  const { table, json } = report(aggregates, targets);
  const goals = checkGoals(aggregates);
  const elapsedMs = Date.now() - started;
  console.log(`\n${table}`);
  if (goals.length > 0) console.log(`\n${renderGoals(goals)}`);
  console.log('\nSettings (as in the process scenario at concurrency 50; every scenario\'s are in the JSON):');
  for (const target of targets) {
    const byScenario = settings[target.id];
    if (!byScenario) continue;
    const shown = byScenario['process-c50'] ?? Object.values(byScenario)[0]!;
    console.log(`- ${target.label}: ${Object.entries(shown).map(([k, v]) => `${k}: ${String(v)}`).join('; ')}`);
  }
  console.log(`\n${command} | ${new Date().toISOString()} | ${fmtS(elapsedMs)} | ${machine().cpus} cores, Node ${process.version}`);

  const document = {
    date: new Date().toISOString(),
    command,
    elapsedS: Math.round(elapsedMs / 1000),
    machine: machine(),
    runsPerFigure: args.runs,
    quick: args.quick,
    parameters: Object.fromEntries(scenarios.map((s) => [s.id, s.params(args.quick)])),
    settings,
    ...json,
    goals,
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`results: ${args.out}`);
  if (args.baseline) {
    const baseline = join(root, 'bench', 'baseline.json');
    writeFileSync(baseline, `${JSON.stringify(document, null, 2)}\n`);
    console.log(`baseline: ${baseline}`);
  }
  if (!args.keep) console.log(`removed: ${(await cleanup()).join('; ')}`);
}

/** --against: every planned run on both builds, in ABBA order; prints and saves the pairs. */
async function runPairs(plan: readonly Planned[], baseChild: string, baseSha: string, args: Args, started: number, command: string): Promise<void> {
  const base = baseSha.slice(0, 12);
  const figures = new Map<string, PairedFigures>();
  let done = 0;
  for (const { scenario, target, spec } of plan) {
    if (Date.now() - started > args.budgetS * 1000) {
      console.log(`time budget of ${args.budgetS} s spent: ${plan.length - done} of ${plan.length} pairs not run`);
      break;
    }
    done++;
    const key = `${scenario.id}\u0000${target.id}`;
    if (!figures.has(key)) figures.set(key, { scenario, target, pairs: [] });
    const pair: PairedFigures['pairs'][number] = { run: spec.run, errors: [] };
    for (const side of pairOrder(spec.run)) {
      const t0 = Date.now();
      const result = await runChild(spec, 180_000, side === 'this' ? childScript : baseChild);
      const prefix = `[${String(done).padStart(3)}/${plan.length} ${fmtS(Date.now() - started)}] ${scenario.id} ${target.id} run ${spec.run} ${side === 'this' ? 'this build' : base} (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
      if (result.ok) {
        pair[side] = result.metrics;
        console.log(`${prefix}: ${firstFigure(scenario, result.metrics)}`);
      } else {
        const why = result.unavailable ?? result.error ?? 'no result';
        pair.errors.push(`${side === 'this' ? 'this build' : base}: ${why}`);
        console.log(`${prefix}: ${result.unavailable ? 'not available' : 'FAILED'}: ${why}${result.unavailable ? '' : `\n${result.stderr.trim().split('\n').slice(-15).join('\n')}`}`);
      }
    }
    figures.get(key)!.pairs.push(pair);
  }
  const { table, rows } = renderPairs([...figures.values()], base);
  const elapsedMs = Date.now() - started;
  console.log(`\nThis build against ${base}, run for run (ratios are this build's figure over ${base}'s):\n\n${table}`);
  console.log(`\n${command} | ${new Date().toISOString()} | ${fmtS(elapsedMs)} | ${machine().cpus} cores, Node ${process.version}`);
  mkdirSync(dirname(args.out), { recursive: true });
  const document = { date: new Date().toISOString(), command, against: baseSha, elapsedS: Math.round(elapsedMs / 1000), machine: machine(), runsPerFigure: args.runs, quick: args.quick, figures: rows };
  writeFileSync(args.out, `${JSON.stringify(document, null, 2)}\n`);
  console.log(`results: ${args.out}`);
}

function statsOf(scenario: ScenarioDef, outcome: Outcome): Aggregate['stats'] {
  const stats: Aggregate['stats'] = {};
  const keys = new Set([...scenario.metrics.map((m) => m.key), 'n', 'capped']);
  for (const k of keys) {
    const values = outcome.runs.map((r) => r[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (values.length === 0) continue;
    stats[k] = { median: median(values), min: Math.min(...values), max: Math.max(...values), values };
  }
  return stats;
}

function machine() {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    os: `${platform()} ${release()}`,
  };
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
