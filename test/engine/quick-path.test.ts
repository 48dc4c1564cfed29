import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { jobMachine } from '../../machines/job.machine.js';
import { readQuickPath } from '../../src/engine/quick-path.js';

const context = { id: '1', name: 'n', queue: 'q', attempt: 1, maxRetries: 3, timeoutMs: 1234, retryDelayMs: 0, lastError: null, deadLetter: true };

/** The job chart with `running` changed by `change`, and every implementation kept. */
function chartWith(change: (running: Record<string, unknown>) => Record<string, unknown>) {
  const config = jobMachine.config as unknown as { states: Record<string, Record<string, unknown>> };
  const { actions, guards, delays } = jobMachine.implementations;
  return setup({ actions, guards, delays } as never).createMachine({
    ...(config as object),
    states: { ...config.states, running: change(config.states.running!) },
  } as never) as unknown as typeof jobMachine;
}

describe('the common path read from the job chart', () => {
  it('finds where SUCCEED leads from running, the timeout event, and its delay from the context', () => {
    const quick = readQuickPath(jobMachine)!;
    expect(quick.succeedTo).toBe('completed');
    expect(quick.timeoutEvent).toBe('xstate.after.timeout.job.running');
    expect(quick.timeoutMs(context)).toBe(1234);
    // The event is the one the chart itself answers in running.
    const running = jobMachine.resolveState({ value: 'running', context });
    expect(running.can({ type: quick.timeoutEvent } as never)).toBe(true);
  });

  it('refuses a chart whose SUCCEED is guarded or acts', () => {
    const on = (running: Record<string, unknown>) => running.on as Record<string, unknown>;
    const guarded = chartWith((running) => ({ ...running, on: { ...on(running), SUCCEED: { guard: 'retriesLeft', target: 'completed' } } }));
    expect(readQuickPath(guarded)).toBeNull();
    const acting = chartWith((running) => ({ ...running, on: { ...on(running), SUCCEED: { target: 'completed', actions: 'recordError' } } }));
    expect(readQuickPath(acting)).toBeNull();
  });

  it('refuses a chart whose running does more on entry than run the handler and arm the timeout', () => {
    const busier = chartWith((running) => ({ ...running, entry: ['runHandler', 'countAttempt'] }));
    expect(readQuickPath(busier)).toBeNull();
  });

  it('accepts the rebuilt chart unchanged, so the refusals above come from the changes alone', () => {
    expect(readQuickPath(chartWith((running) => running))).not.toBeNull();
  });
});
