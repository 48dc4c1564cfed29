import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { jobMachine } from '../../machines/job.machine.js';
import { chartSteps } from '../support/chart-edges.js';

describe('the steps of the job chart the suites hold every run to', () => {
  it('are its edges, with a move through failed to dlq as one step', () => {
    const steps = chartSteps(jobMachine);
    expect(steps).toContain('retrying --xstate.after.backoff.job.retrying--> pending');
    expect(steps).toContain('pending --LEASE--> running');
    expect(steps).toContain('running --FAIL--> dlq');
    expect(steps).toContain('running --FAIL--> failed');
    // The old report of a retried job's lease was not one of them.
    expect(steps).not.toContain('retrying --LEASE--> running');
  });
});

describe('the watch for steps off the chart', () => {
  it('catches a step the chart has no edge for, and only for its own chart', async () => {
    const { notifyTransition } = await import('../../src/kernel/observe.js');
    const { watchForStrays } = await import('../support/chart-edges.js');
    // A copy of the chart with a config of its own, so the watch every test runs under looks away.
    const { actions, guards, delays } = jobMachine.implementations;
    const copy = setup({ actions, guards, delays } as never).createMachine({ ...(jobMachine.config as object) } as never) as unknown as typeof jobMachine;
    const watch = watchForStrays(copy);
    notifyTransition({ from: 'pending', to: 'running', event: 'LEASE' }, copy);
    notifyTransition({ from: 'retrying', to: 'running', event: 'LEASE' }, copy);
    notifyTransition({ from: 'retrying', to: 'running', event: 'LEASE' }, copy.provide({}));
    expect(watch.take()).toEqual(['retrying --LEASE--> running', 'retrying --LEASE--> running']);
    watch.stop();
  });
});
