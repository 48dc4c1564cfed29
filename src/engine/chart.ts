import { assign, transition } from 'xstate';
import {
  type JobContext,
  type JobEvent,
  type JobMachine,
  type JobState,
  jobMachine,
} from '../../machines/job.machine.js';
import { type BackoffStrategy, delayFor } from '../backoff/backoff.js';
import type { StoredJob, TransitionWrite } from '../store/contract.js';

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

/**
 * Asks the chart, without a live actor, where `event` takes a stored job, and
 * phrases the answer as a compare-and-set write. Null when the chart does not
 * accept the event in the job's state.
 */
export function decide(
  machine: JobMachine,
  job: StoredJob,
  event: JobEvent,
  deadLetter: boolean,
  now: number,
): TransitionWrite | null {
  const snapshot = machine.resolveState({ value: job.state, context: contextOf(job, deadLetter) });
  if (!snapshot.can(event)) return null;
  const [next] = transition(machine, snapshot, event);
  return writeFor(job.id, job.state, next.value as JobState, next.context, job.leaseToken, now);
}

/** The write that records a move from `from` to `to` with the chart's context. */
export function writeFor(
  id: string,
  from: JobState,
  to: JobState,
  context: JobContext,
  token: string | null,
  now: number,
): TransitionWrite {
  const write: TransitionWrite = { id, from, to, token, attempt: context.attempt, lastError: context.lastError };
  // The backoff's due time and a replay's fresh start are columns, so a restart re-arms them.
  if (to === 'retrying') write.runAt = now + context.retryDelayMs;
  else if (to === 'pending' && (from === 'dlq' || from === 'failed')) write.runAt = now;
  return write;
}
