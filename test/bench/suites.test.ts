import { describe, expect, it } from 'vitest';
import { checkGoals } from '../../bench/lib/goals.js';
import type { Aggregate } from '../../bench/lib/report.js';
import { ALL_SCENARIOS, DEFAULT_SUITE, pickScenarios, SUITES } from '../../bench/lib/suites.js';
import { TARGETS } from '../../bench/lib/targets.js';

describe('bench suites', () => {
  it('put every scenario in a suite, and name only scenarios that exist', () => {
    const inSuites = new Set(SUITES.flatMap((s) => s.scenarios));
    expect(ALL_SCENARIOS.map((s) => s.id).filter((id) => !inSuites.has(id))).toEqual([]);
    expect([...inSuites].filter((id) => !ALL_SCENARIOS.some((s) => s.id === id))).toEqual([]);
  });

  it('run the core suite by default, and a derived figure with its inputs', () => {
    const ids = pickScenarios(null, null).map((s) => s.id);
    expect(ids).toEqual(SUITES.find((s) => s.id === DEFAULT_SUITE)!.scenarios);
    expect(ids).toEqual(expect.arrayContaining(['engine-c50', 'floor']));
    const backlog = pickScenarios(['backlog'], null).map((s) => s.id);
    expect(backlog).toEqual(expect.arrayContaining(['backlog-10k', 'backlog-200k']));
  });

  it('take --scenario from any suite, within --suite when both are given', () => {
    expect(pickScenarios(null, ['scaleout', 'latency-remote']).map((s) => s.id)).toEqual(['latency-remote', 'scaleout-p1', 'scaleout-p2', 'scaleout-p4']);
    expect(pickScenarios(['queue'], ['process']).map((s) => s.id)).toEqual(['process-c50']);
    expect(() => pickScenarios(['scale'], ['latency'])).toThrow(/none of latency is in suite scale/);
  });

  it('run each scenario once when suites share it', () => {
    const ids = pickScenarios(['all'], null).map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(ALL_SCENARIOS.length);
  });

  it('refuse an unknown suite or scenario by name', () => {
    expect(() => pickScenarios(['nope'], null)).toThrow(/unknown suite\(s\) nope/);
    expect(() => pickScenarios(null, ['nope'])).toThrow(/unknown scenario\(s\) nope/);
  });
});

describe('bench targets', () => {
  const aggregate = (scenario: string, target: string, runs: Array<Record<string, number>>): Aggregate => {
    const stats: Aggregate['stats'] = {};
    for (const key of Object.keys(runs[0]!)) {
      const values = runs.map((r) => r[key]!).sort((a, b) => a - b);
      stats[key] = { median: values[values.length >> 1]!, min: values[0]!, max: values.at(-1)!, values };
    }
    return {
      scenario: ALL_SCENARIOS.find((s) => s.id === scenario)!,
      target: TARGETS.find((t) => t.id === target)!,
      outcome: { status: 'ok', runs },
      stats,
    };
  };

  it('judge a ratio to the named peer on the median, and leave out what the run lacks', () => {
    const goals = checkGoals([
      aggregate('process-c10', 'postgres', [{ rate: 26_000 }, { rate: 27_000 }, { rate: 31_000 }]),
      aggregate('process-c10', 'graphile-batch', [{ rate: 22_000 }, { rate: 20_000 }, { rate: 23_000 }]),
      aggregate('process-c10', 'graphile', [{ rate: 1_000 }]),
    ]);
    const pg13 = goals.find((g) => g.goal.startsWith('Postgres throughput at c10'))!;
    expect(pg13.met).toBe(false);
    // Medians 27,000 and 22,000: x1.23, short of x1.3 though the best run was x1.41.
    expect(pg13.figure).toContain('27,000 against graphile-batch 22,000: x1.23');
    expect(goals.find((g) => g.goal.startsWith("Postgres store at least Graphile Worker's best (c10)"))!.met).toBe(true);
    expect(goals.some((g) => g.goal.includes('c50'))).toBe(false);
  });

  it('fail scale-out when one of our runs ran a job twice', () => {
    const goals = checkGoals([
      aggregate('scaleout-p4', 'postgres', [{ rate: 1, duplicates: 0 }, { rate: 1, duplicates: 2 }]),
      aggregate('scaleout-p4', 'bullmq', [{ rate: 1, duplicates: 0 }]),
    ]);
    const dup = goals.find((g) => g.goal.startsWith('scale-out: no job run twice'))!;
    expect(dup).toMatchObject({ met: false, figure: 'scaleout-p4 postgres: 2' });
  });
});
