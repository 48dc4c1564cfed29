import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { OwnEchoes } from '../../../src/store/postgres/own-echoes.js';

/**
 * A timeline of one payload: this process's inserts (sent, committed,
 * returned, echoed) and other jobs' notifications with the same runAt, in
 * any order the database allows: a return after its commit, notifications
 * in commit order, each after its commit.
 */
type Step = { kind: 'send' | 'commit' | 'return' | 'notify'; job: number };

const RUN_AT = 1_700_000_000_000;

function timeline(locals: number, others: number, seed: number[]): Step[] {
  let s = 0;
  const pick = (n: number) => seed[s++ % seed.length]! % n;
  const jobs = locals + others;
  const pending: Step[][] = [];
  for (let j = 0; j < jobs; j++) pending.push(j < locals ? [{ kind: 'send', job: j }, { kind: 'commit', job: j }] : [{ kind: 'commit', job: j }]);
  const commits: number[] = [];
  const notified = new Set<number>();
  const out: Step[] = [];
  // Returns become possible once committed; notifications go out in commit order.
  const returns: number[] = [];
  for (;;) {
    const choices: Array<() => void> = [];
    pending.forEach((steps, j) => {
      if (steps.length > 0) choices.push(() => {
        const step = steps.shift()!;
        out.push(step);
        if (step.kind === 'commit') {
          commits.push(j);
          if (j < locals) returns.push(j);
        }
      });
    });
    if (returns.length > 0) choices.push(() => out.push({ kind: 'return', job: returns.splice(pick(returns.length), 1)[0]! }));
    const nextNotify = commits.find((j) => !notified.has(j));
    if (nextNotify !== undefined) choices.push(() => {
      notified.add(nextNotify);
      out.push({ kind: 'notify', job: nextNotify });
    });
    if (choices.length === 0) return out;
    choices[pick(choices.length)]!();
  }
}

/** Which steps woke the workers. */
function replay(steps: Step[]): boolean[] {
  const echoes = new OwnEchoes();
  return steps.map((step) => {
    if (step.kind === 'send') {
      echoes.sending(RUN_AT);
      return false;
    }
    if (step.kind === 'return') return echoes.returned(RUN_AT);
    if (step.kind === 'notify') return echoes.heard(RUN_AT);
    return false;
  });
}

describe('postgres store: pairing its own enqueues with their echoes', () => {
  it('wakes once for an insert of its own, whether its return or its echo comes first', () => {
    for (const order of [['send', 'commit', 'return', 'notify'], ['send', 'commit', 'notify', 'return']] as const) {
      const woke = replay(order.map((kind) => ({ kind, job: 0 })));
      expect(woke.filter(Boolean)).toHaveLength(1);
    }
  });

  it('wakes for a notification of another job with the same runAt while none of its own is under way', () => {
    const echoes = new OwnEchoes();
    expect(echoes.heard(RUN_AT)).toBe(true);
    expect(echoes.heard(RUN_AT)).toBe(true);
  });

  it('never leaves a committed job without a wake after its commit, in any order the database allows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 40 }), (locals, others, seed) => {
        const steps = timeline(locals, others, seed);
        const woke = replay(steps);
        for (let j = 0; j < locals + others; j++) {
          const committed = steps.findIndex((s) => s.kind === 'commit' && s.job === j);
          expect(woke.some((w, i) => w && i > committed)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('forgets a return whose echo never came once five seconds have passed, and only then', () => {
    vi.useFakeTimers();
    const echoes = new OwnEchoes();
    echoes.sending(RUN_AT);
    expect(echoes.returned(RUN_AT)).toBe(true);
    // A newer runAt within the five seconds: the first still waits for its echo, which is passed over.
    vi.advanceTimersByTime(4000);
    echoes.sending(RUN_AT + 1);
    expect(echoes.returned(RUN_AT + 1)).toBe(true);
    expect(echoes.heard(RUN_AT)).toBe(false);
    echoes.sending(RUN_AT);
    expect(echoes.returned(RUN_AT)).toBe(true);
    // Past five seconds, a new runAt sweeps the stale ones: a notification for them wakes again.
    vi.advanceTimersByTime(6000);
    echoes.sending(RUN_AT + 2);
    expect(echoes.heard(RUN_AT)).toBe(true);
    expect(echoes.heard(RUN_AT + 1)).toBe(true);
  });

  it('wakes for every insert again after a lost connection, whatever it paired before', () => {
    const echoes = new OwnEchoes();
    echoes.sending(RUN_AT);
    expect(echoes.returned(RUN_AT)).toBe(true);
    // Its echo was lost with the connection: a later notification is not taken for it.
    echoes.clear();
    echoes.sending(RUN_AT);
    expect(echoes.heard(RUN_AT)).toBe(true);
    expect(echoes.returned(RUN_AT)).toBe(false);
    expect(echoes.heard(RUN_AT)).toBe(true);
  });
});
