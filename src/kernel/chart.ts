import { assign } from 'xstate';
import { type JobContext, type JobMachine, jobMachine } from '../../machines/job.machine.js';
import { jobRules } from '../../machines/job.rules.js';
import { type BackoffStrategy, delayFor } from '../backoff/backoff.js';
import { isResting, type StoredJob, type TransitionWrite } from '../store/contract.js';
import type { Decision } from './kernel.js';

/** The job chart with the engine's backoff: the one place a retry delay is computed. */
export function chartWithBackoff(backoffFor: (name: string) => BackoffStrategy): JobMachine {
  return jobMachine.provide({
    actions: {
      planRetry: assign({
        retryDelayMs: ({ context }) =>
          delayFor(backoffFor(context.name), context.attempt, context.lastError ?? { name: 'Error', message: '' }),
      }),
    },
  });
}

/** The chart's context for a stored job. */
export function contextOf(job: StoredJob, deadLetter: boolean): JobContext {
  return {
    id: job.id,
    name: job.name,
    queue: job.queue,
    attempt: job.attempt,
    maxRetries: job.maxRetries,
    timeoutMs: job.timeoutMs,
    retryDelayMs: 0,
    lastError: job.lastError,
    deadLetter,
  };
}

const leasable = new Set(jobRules.leasable);

/** Who takes a step, for the job's history: a worker's id, or null for a client. */
export interface HistoryMark {
  worker: string | null;
}

/**
 * A decision about job `id` as the compare-and-set that stores it, for a job
 * that rests in the store after it: a delayed event the step armed becomes
 * the job's runAt (the store has one), and a job brought back from rest to be
 * leased is due now. With `history`, the store keeps the step in the job's
 * history, named by the chart's event.
 */
export function writeFor(id: string, decision: Decision, token: string | null, now: number, history: HistoryMark | null = null): TransitionWrite {
  const { context } = decision;
  // Every field in the literal, set or not: one object shape for every write.
  const write: TransitionWrite = {
    id,
    from: decision.from,
    to: decision.to,
    token,
    attempt: context.attempt,
    lastError: context.lastError,
    event: history ? decision.event : undefined,
    worker: history ? history.worker : undefined,
  };
  if (decision.timers.length > 1) {
    throw new Error(`the job chart arms ${decision.timers.length} delays on entering ${decision.to}; a resting job has one runAt`);
  }
  const timer = decision.timers[0];
  if (timer) write.runAt = now + timer.delayMs;
  else if (isResting(decision.from) && leasable.has(decision.to)) write.runAt = now;
  return write;
}
