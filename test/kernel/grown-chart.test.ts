import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { z } from 'zod';
import { jobMachine, type JobMachine } from '../../machines/job.machine.js';
import { rulesOf } from '../../machines/job.rules.js';
import { defineJob, memoryStore } from '../../src/index.js';
import { WriteBuffer } from '../../src/engine/write-buffer.js';
import { Registry } from '../../src/job/registry.js';
import { systemClock } from '../../src/clock.js';
import { JobKernel } from '../../src/kernel/kernel.js';
import { JobRunner } from '../../src/worker/job-runner.js';
import { until } from '../support/until.js';

/**
 * The job chart grown as the next features grow it: SUCCEED does one more
 * thing, and a new state (`paused`) comes and goes from `pending`.
 */
function grownChart(): JobMachine {
  const config = jobMachine.config as unknown as { states: Record<string, Record<string, unknown>> };
  const { actions, guards, delays } = jobMachine.implementations;
  const on = (state: string) => config.states[state]!.on as Record<string, unknown>;
  return setup({ actions: { ...actions, announce: () => {} }, guards, delays } as never).createMachine({
    ...(config as object),
    states: {
      ...config.states,
      pending: { ...config.states.pending, on: { ...on('pending'), PAUSE: 'paused' } },
      running: { ...config.states.running, on: { ...on('running'), SUCCEED: { target: 'completed', actions: ['storeResult', 'announce'] } } },
      paused: { tags: ['rest'], on: { RESUME: 'pending', CANCEL: 'cancelled' } },
    },
  } as never) as unknown as JobMachine;
}

const context = { id: '1', name: 'grown', queue: 'default', attempt: 0, maxRetries: 1, timeoutMs: 1000, retryDelayMs: 0, lastError: null, deadLetter: true };

/** The job chart grown so the backoff's end assigns: it counts the retries it lets through. */
function chartCountingRetries(): JobMachine {
  const config = jobMachine.config as unknown as { states: Record<string, Record<string, unknown>> };
  const { actions, guards, delays } = jobMachine.implementations;
  let retried = 0;
  return setup({ actions: { ...actions, countRetry: assign({ retryDelayMs: () => ++retried }) }, guards, delays } as never).createMachine({
    ...(config as object),
    states: { ...config.states, retrying: { ...config.states.retrying, after: { backoff: { target: 'pending', actions: 'countRetry' } } } },
  } as never) as unknown as JobMachine;
}

describe('a grown job chart', () => {
  it("decides a delay's step afresh once it assigns, though the same step assigning nothing was remembered", () => {
    const kernel = new JobKernel(chartCountingRetries());
    const retrying = { ...context, attempt: 1, lastError: { name: 'E', message: 'm' } };
    const due = { type: 'xstate.after.backoff.job.retrying' };
    expect(kernel.decide('retrying', retrying, due)!.context.retryDelayMs).toBe(1);
    expect(kernel.decide('retrying', { ...retrying }, due)!.context.retryDelayMs).toBe(2);
    expect(kernel.decide('retrying', { ...retrying }, due)!.to).toBe('pending');
  });

  it('is decided by the kernel as it stands: the new action on SUCCEED and the new state, memo or not', () => {
    const kernel = new JobKernel(grownChart());
    for (let i = 0; i < 2; i++) {
      const succeed = kernel.decide('running', { ...context, attempt: 1 }, { type: 'SUCCEED' })!;
      expect(succeed.to).toBe('completed');
      expect(succeed.actions.map((a) => a.type)).toEqual(['storeResult', 'announce']);
      expect(kernel.decide('pending', context, { type: 'PAUSE' })?.to).toBe('paused');
      expect(kernel.decide('paused' as never, context, { type: 'RESUME' })?.to).toBe('pending');
      expect(kernel.decide('paused' as never, context, { type: 'LEASE' })).toBeNull();
    }
  });

  it("gives the stores its new state's place from its tags", () => {
    const rules = rulesOf(grownChart());
    expect(rules.states).toContain('paused');
    expect(rules.rest).toContain('paused');
    expect(rules.leaseFrom).toEqual(['pending', 'retrying']);
  });

  it('still runs a job to completion through the runner, and names the action it has no effect for', async () => {
    const store = memoryStore();
    await store.open();
    const registry = new Registry();
    const job = defineJob({ name: 'grown', input: z.object({}), handler: async () => 'done' });
    registry.register(job);
    const errors: string[] = [];
    const runner = new JobRunner({
      concurrency: 1,
      unstoredLimit: 1,
      clock: systemClock,
      kernel: new JobKernel(grownChart()),
      registry,
      writes: new WriteBuffer(store),
      store,
      middleware: [],
      mirror: null,
      history: null,
      hooks: {
        freed: () => {},
        emit: () => {},
        listening: () => false,
        requeued: () => {},
        error: (error) => errors.push((error as Error).message),
        output: (_def, value) => JSON.stringify(value),
      },
    });
    const [stored] = await store.insert([{ name: 'grown', queue: 'default', input: {}, inputJson: '{}', priority: 0, runAt: 0, maxRetries: 1, timeoutMs: 1000 }]);
    const { jobs } = await store.lease({ limit: 1, queueRoom: {}, leaseMs: 10_000, names: ['grown'] });
    runner.start(jobs);
    await until(async () => (await store.get(stored!.id))?.state === 'completed', 'the job to complete', 5000, 5);
    expect(errors).toEqual(['the job chart names an action the engine does not run: announce']);
  });
});
