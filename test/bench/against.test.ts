import { describe, expect, it } from 'vitest';
import { pairOrder, renderPairs, resolveRev, summarizePairs } from '../../bench/lib/against.js';
import { rate } from '../../bench/lib/plan.js';
import { ALL_SCENARIOS } from '../../bench/lib/suites.js';
import { TARGETS } from '../../bench/lib/targets.js';

const higher = rate();
const lower = { key: 'p50', label: 'p50', unit: 'ms', better: 'lower' as const };

describe('bench --against', () => {
  it('alternates which build goes first, pair by pair (ABBA)', () => {
    expect([1, 2, 3, 4].map(pairOrder)).toEqual([
      ['this', 'base'],
      ['base', 'this'],
      ['this', 'base'],
      ['base', 'this'],
    ]);
  });

  it('sums up pairs by medians, the median ratio within pairs, and which side did better', () => {
    const summary = summarizePairs(
      [
        { this: 110, base: 100 },
        { this: 80, base: 100 },
        { this: 300, base: 200 },
      ],
      higher,
    );
    expect(summary).toEqual({
      thisMedian: 110,
      baseMedian: 100,
      ratioOfMedians: 1.1,
      medianPairRatio: 1.1,
      better: 2,
      pairs: 3,
    });
    // For a latency, lower is better: the same pairs count the other way.
    expect(summarizePairs([{ this: 1, base: 2 }, { this: 3, base: 2 }, { this: 1, base: 4 }], lower)!.better).toBe(2);
  });

  it('leaves out pairs that lack a side, and answers null when none is whole', () => {
    const summary = summarizePairs([{ this: 10, base: 5 }, { this: 7 }, { base: 3 }], higher);
    expect(summary).toMatchObject({ pairs: 1, medianPairRatio: 2 });
    expect(summarizePairs([{ this: 7 }, { base: 3, this: Number.NaN }], higher)).toBeNull();
  });

  it('keeps a figure whose base is 0 (jobs run twice), with no ratio', () => {
    const summary = summarizePairs([{ this: 0, base: 0 }, { this: 1, base: 0 }], lower)!;
    expect(summary).toMatchObject({ thisMedian: 0.5, baseMedian: 0, pairs: 2, better: 0 });
    expect(summary.ratioOfMedians).toBeNaN();
    expect(summary.medianPairRatio).toBeNaN();
  });

  it('prints a row per figure, and says why a figure has no pair', () => {
    const scenario = ALL_SCENARIOS.find((s) => s.id === 'process-c10')!;
    const target = TARGETS.find((t) => t.id === 'memory')!;
    const { table, rows } = renderPairs(
      [
        {
          scenario,
          target,
          pairs: [
            { run: 1, this: { rate: 1200 }, base: { rate: 1000 }, errors: [] },
            { run: 2, this: { rate: 900 }, base: { rate: 1000 }, errors: [] },
          ],
        },
        { scenario, target: TARGETS.find((t) => t.id === 'sqlite')!, pairs: [{ run: 1, this: { rate: 5 }, errors: ['abc123: exited 1 without a result'] }] },
      ],
      'abc123',
    );
    expect(table).toContain('| process-c10 | dispatch (memory) | throughput (jobs/s, higher is better) | 1,050 | 1,000 | x1.05 | x1.05 | 1 of 2 |');
    expect(table).toContain('no complete pair: abc123: exited 1 without a result');
    expect(rows).toHaveLength(2);
  });

  it('names the option when the commit does not exist', () => {
    expect(() => resolveRev(process.cwd(), 'no-such-commit-anywhere')).toThrow(/--against: "no-such-commit-anywhere" names no commit/);
    expect(resolveRev(process.cwd(), 'HEAD')).toMatch(/^[0-9a-f]{40}$/);
  });
});
