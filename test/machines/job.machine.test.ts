import { afterEach, describe, expect, it, vi } from 'vitest';
import { assign, createActor, SimulatedClock } from 'xstate';
import { type AbortReason, type JobInput, jobMachine } from '../../machines/job.machine.js';

const input: JobInput = { id: '1', name: 'job', queue: 'default', attempt: 0, maxRetries: 2, timeoutMs: 1000 };
const boom = { name: 'Error', message: 'boom' };

function start(overrides: Partial<JobInput> = {}, retryDelayMs = 500) {
  const clock = new SimulatedClock();
  const aborts: AbortReason[] = [];
  let handlerRuns = 0;
  const machine = jobMachine.provide({
    actions: {
      runHandler: () => void handlerRuns++,
      abortHandler: (_, params) => void aborts.push(params.reason),
      planRetry: assign({ retryDelayMs }),
    },
  });
  const actor = createActor(machine, { input: { ...input, ...overrides }, clock }).start();
  return { actor, clock, aborts, runs: () => handlerRuns, state: () => actor.getSnapshot().value };
}

/** xstate's development build warns of an event sent to a finished actor; these tests send some on purpose. */
function expectIgnoredByFinishedActor(warn: ReturnType<typeof vi.spyOn>, eventType: string): void {
  expect(warn).toHaveBeenCalledWith(expect.stringContaining(`Event "${eventType}" was sent to stopped actor`));
}

describe('job statechart', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('starts pending and counts an attempt on LEASE, running the handler', () => {
    const job = start();
    expect(job.state()).toBe('pending');
    job.actor.send({ type: 'LEASE' });
    expect(job.state()).toBe('running');
    expect(job.actor.getSnapshot().context.attempt).toBe(1);
    expect(job.runs()).toBe(1);
  });

  it('completes on SUCCEED and then ignores everything', () => {
    const job = start();
    job.actor.send({ type: 'LEASE' });
    job.actor.send({ type: 'SUCCEED' });
    expect(job.state()).toBe('completed');
    expect(job.actor.getSnapshot().status).toBe('done');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    job.actor.send({ type: 'CANCEL' });
    expect(job.state()).toBe('completed');
    expectIgnoredByFinishedActor(warn, 'CANCEL');
  });

  it('retries a retryable failure after the planned backoff, keeping the error', () => {
    const job = start();
    job.actor.send({ type: 'LEASE' });
    job.actor.send({ type: 'FAIL', error: boom, retryable: true });
    expect(job.state()).toBe('retrying');
    expect(job.actor.getSnapshot().context.lastError).toEqual(boom);
    expect(job.actor.getSnapshot().context.retryDelayMs).toBe(500);
    job.clock.increment(499);
    expect(job.state()).toBe('retrying');
    job.clock.increment(1);
    expect(job.state()).toBe('pending');
  });

  it('allows exactly maxRetries + 1 attempts, then dead-letters', () => {
    const job = start({ maxRetries: 2 });
    for (let attempt = 1; attempt <= 3; attempt++) {
      job.actor.send({ type: 'LEASE' });
      expect(job.actor.getSnapshot().context.attempt).toBe(attempt);
      job.actor.send({ type: 'FAIL', error: boom, retryable: true });
      if (attempt < 3) {
        expect(job.state()).toBe('retrying');
        job.clock.increment(500);
      }
    }
    expect(job.state()).toBe('dlq');
    expect(job.runs()).toBe(3);
  });

  it('sends a permanent failure straight to the DLQ with retries left', () => {
    const job = start({ maxRetries: 5 });
    job.actor.send({ type: 'LEASE' });
    job.actor.send({ type: 'FAIL', error: { name: 'PermanentError', message: 'no' }, retryable: false });
    expect(job.state()).toBe('dlq');
  });

  it('rests in failed when dead-lettering is off, and replays from there', () => {
    const job = start({ maxRetries: 0, deadLetter: false });
    job.actor.send({ type: 'LEASE' });
    job.actor.send({ type: 'FAIL', error: boom, retryable: true });
    expect(job.state()).toBe('failed');
    job.actor.send({ type: 'REPLAY' });
    expect(job.state()).toBe('pending');
    expect(job.actor.getSnapshot().context).toMatchObject({ attempt: 0, lastError: null });
  });

  it('replays a dead-lettered job with fresh attempts', () => {
    const job = start({ maxRetries: 0 });
    job.actor.send({ type: 'LEASE' });
    job.actor.send({ type: 'FAIL', error: boom, retryable: true });
    expect(job.state()).toBe('dlq');
    job.actor.send({ type: 'REPLAY' });
    expect(job.state()).toBe('pending');
    expect(job.actor.getSnapshot().context.attempt).toBe(0);
  });

  it('times out a running attempt: aborts the handler and retries with a TimeoutError', () => {
    const job = start({ timeoutMs: 1000 });
    job.actor.send({ type: 'LEASE' });
    job.clock.increment(999);
    expect(job.state()).toBe('running');
    job.clock.increment(1);
    expect(job.state()).toBe('retrying');
    expect(job.aborts).toEqual(['timeout']);
    expect(job.actor.getSnapshot().context.lastError?.name).toBe('TimeoutError');
    // A late result of the timed-out attempt changes nothing.
    job.actor.send({ type: 'SUCCEED' });
    expect(job.state()).toBe('retrying');
  });

  it('fails a timed-out last attempt to the DLQ', () => {
    const job = start({ maxRetries: 0, timeoutMs: 10 });
    job.actor.send({ type: 'LEASE' });
    job.clock.increment(10);
    expect(job.state()).toBe('dlq');
  });

  it('cancels from pending, retrying and running; a running handler is aborted', () => {
    const pending = start();
    pending.actor.send({ type: 'CANCEL' });
    expect(pending.state()).toBe('cancelled');

    const retrying = start();
    retrying.actor.send({ type: 'LEASE' });
    retrying.actor.send({ type: 'FAIL', error: boom, retryable: true });
    retrying.actor.send({ type: 'CANCEL' });
    expect(retrying.state()).toBe('cancelled');

    const running = start();
    running.actor.send({ type: 'LEASE' });
    running.actor.send({ type: 'CANCEL' });
    expect(running.state()).toBe('cancelled');
    expect(running.aborts).toEqual(['cancel']);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    running.actor.send({ type: 'FAIL', error: boom, retryable: true });
    expect(running.state()).toBe('cancelled');
    expectIgnoredByFinishedActor(warn, 'FAIL');
  });

  it('gives an abandoned attempt back without counting it', () => {
    const job = start();
    job.actor.send({ type: 'LEASE' });
    job.actor.send({ type: 'ABANDON' });
    expect(job.state()).toBe('pending');
    expect(job.actor.getSnapshot().context.attempt).toBe(0);
    expect(job.aborts).toEqual(['shutdown']);
  });

  it('counts an expired lease as an attempt: back to pending, or the DLQ when none are left', () => {
    const job = start({ maxRetries: 1 });
    job.actor.send({ type: 'LEASE' });
    job.actor.send({ type: 'LEASE_EXPIRED' });
    expect(job.state()).toBe('pending');
    expect(job.actor.getSnapshot().context.lastError?.name).toBe('LeaseExpiredError');
    job.actor.send({ type: 'LEASE' });
    job.actor.send({ type: 'LEASE_EXPIRED' });
    expect(job.state()).toBe('dlq');
    expect(job.actor.getSnapshot().context.attempt).toBe(2);
  });
});
