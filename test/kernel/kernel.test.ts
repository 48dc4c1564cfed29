import { describe, expect, it } from 'vitest';
import { assign, transition } from 'xstate';
import { type JobContext, type JobInput, jobMachine } from '../../machines/job.machine.js';
import { JobKernel } from '../../src/kernel/kernel.js';
import { chartCases } from '../support/chart-walk.js';

const inputs: JobInput[] = [
  { id: '7', name: 'n', queue: 'q', attempt: 0, maxRetries: 2, timeoutMs: 1234 },
  { id: '7', name: 'n', queue: 'q', attempt: 0, maxRetries: 0, timeoutMs: 50, deadLetter: false },
];

/** What xstate's own pure transition() says, in the kernel's terms. */
function expected(state: string, context: object, event: { type: string }) {
  const snapshot = jobMachine.resolveState({ value: state, context } as never);
  const [next, actions] = transition(jobMachine, snapshot, event as never);
  return {
    to: next.value,
    context: next.context,
    named: actions.filter((a) => !a.type.startsWith('xstate.')).map((a) => [a.type, a.params]),
    delays: actions
      .filter((a) => a.type === 'xstate.raise' && typeof (a.params as { delay?: unknown })?.delay === 'number')
      .map((a) => (a.params as { delay: number }).delay),
  };
}

describe('the kernel', () => {
  for (const input of inputs) {
    it(`decides every step of the chart as xstate's transition() does (maxRetries ${input.maxRetries})`, () => {
      const kernel = new JobKernel(jobMachine);
      const cases = chartCases(jobMachine, input);
      expect(cases.length).toBeGreaterThan(10);
      for (const { state, context, event } of cases) {
        const want = expected(state, context, event);
        // Twice: the second answer may come from the memo and must be the same.
        for (let i = 0; i < 2; i++) {
          const step = kernel.decide(state, context, event)!;
          expect(step, `${state} + ${event.type}`).not.toBeNull();
          expect({
            to: step.to,
            context: step.context,
            named: step.actions.map((a) => [a.type, a.params]),
            delays: step.timers.map((t) => t.delayMs),
          }).toEqual(want);
        }
      }
    });
  }

  it('answers null where the chart refuses the event, memo or not', () => {
    const kernel = new JobKernel(jobMachine);
    const context = { id: '1', name: 'n', queue: 'q', attempt: 0, maxRetries: 1, timeoutMs: 1, retryDelayMs: 0, lastError: null, deadLetter: true };
    for (let i = 0; i < 2; i++) {
      expect(kernel.decide('completed', context, { type: 'CANCEL' })).toBeNull();
      expect(kernel.decide('pending', context, { type: 'SUCCEED' })).toBeNull();
    }
  });

  it('gives a remembered step the id of the job it is asked for', () => {
    const kernel = new JobKernel(jobMachine);
    const context = (id: string) => ({ id, name: 'n', queue: 'q', attempt: 0, maxRetries: 1, timeoutMs: 9, retryDelayMs: 0, lastError: null, deadLetter: true });
    const first = kernel.decide('pending', context('a'), { type: 'LEASE' })!;
    const second = kernel.decide('pending', context('b'), { type: 'LEASE' })!;
    expect(first.context.id).toBe('a');
    expect(second.context.id).toBe('b');
    expect(second.context.attempt).toBe(1);
    expect(second.timers).toEqual([expect.objectContaining({ delayMs: 9 })]);
  });

  it('walks a job step by step from the contexts it answered, which are frozen, as transition() does', () => {
    const kernel = new JobKernel(jobMachine);
    const start: JobContext = { id: '', name: 'n', queue: 'q', attempt: 0, maxRetries: 1, timeoutMs: 9, retryDelayMs: 0, lastError: null, deadLetter: true };
    const fail = { type: 'FAIL' as const, error: { name: 'E', message: 'm' }, retryable: true };
    // Twice over: the second walk is answered from the memo, by identity where a step starts from an answered context.
    for (let round = 0; round < 2; round++) {
      let state = 'pending';
      let context: JobContext = { ...start };
      for (const event of [{ type: 'LEASE' }, fail, { type: 'xstate.after.backoff.job.retrying' }, { type: 'LEASE' }, { type: 'SUCCEED' }]) {
        const want = expected(state, context, event);
        const step = kernel.decide(state as never, context, event as never)!;
        expect({ round, event: event.type, to: step.to, context: step.context }).toEqual({ round, event: event.type, to: want.to, context: want.context });
        expect(Object.isFrozen(step.context)).toBe(true);
        state = step.to;
        context = step.context;
      }
      expect(state).toBe('completed');
    }
  });

  it("relies on nothing the job chart reads of a job's id: every step is the same for another id", () => {
    // The memo leaves the id out of its key; this is what makes that exact.
    for (const input of inputs) {
      for (const { state, context, event } of chartCases(jobMachine, input)) {
        const a = expected(state, context, event);
        const b = expected(state, { ...context, id: 'another' }, event);
        expect({ ...b, context: { ...b.context, id: context.id } }).toEqual(a);
      }
    }
  });

  it('decides afresh each time for events with a payload and for delays whose steps assign, as a jittered backoff is planned', () => {
    let calls = 0;
    const jittery = jobMachine.provide({
      actions: {
        planRetry: assign(() => {
          calls++;
          return {};
        }),
      },
    });
    const kernel = new JobKernel(jittery);
    const running = { id: '1', name: 'n', queue: 'q', attempt: 1, maxRetries: 3, timeoutMs: 5, retryDelayMs: 0, lastError: null, deadLetter: true };
    const fail = { type: 'FAIL' as const, error: { name: 'E', message: 'm' }, retryable: true };
    kernel.decide('running', running, fail);
    kernel.decide('running', running, fail);
    kernel.decide('running', running, { type: 'xstate.after.timeout.job.running' });
    kernel.decide('running', running, { type: 'xstate.after.timeout.job.running' });
    expect(calls).toBe(4);
  });

  it("remembers a delay's step that assigns nothing (the backoff's end), for equal contexts only", () => {
    let asked = 0;
    const counted = jobMachine.provide({ delays: { backoff: ({ context }) => (asked++, context.retryDelayMs) } });
    const kernel = new JobKernel(counted);
    const retrying = { id: '', name: 'n', queue: 'q', attempt: 1, maxRetries: 3, timeoutMs: 5, retryDelayMs: 0, lastError: { name: 'E', message: 'm' }, deadLetter: true };
    const due = { type: 'xstate.after.backoff.job.retrying' };
    const first = kernel.decide('retrying', { ...retrying }, due)!;
    expect(first.to).toBe('pending');
    expect(kernel.decide('retrying', { ...retrying, lastError: { name: 'E', message: 'm' } }, due)).toBe(first);
    const other = kernel.decide('retrying', { ...retrying, lastError: { name: 'E', message: 'other' } }, due)!;
    expect(other).not.toBe(first);
    expect(other.context.lastError).toEqual({ name: 'E', message: 'other' });
    const want = expected('retrying', { ...retrying, lastError: { name: 'E', message: 'other' } }, due);
    expect({ to: other.to, context: other.context }).toEqual({ to: want.to, context: want.context });
    // Asked when the backoff is armed (entering retrying), never by the step out of it.
    expect(asked).toBe(0);
  });
});

