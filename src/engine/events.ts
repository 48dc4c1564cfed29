import type { JobError, JobState } from '../../machines/job.machine.js';
import type { Decision } from '../kernel/kernel.js';
import { showsError } from '../store/contract.js';

/** One step of one job through the chart, as `dispatcher.events$` reports it once it is stored. */
export interface TransitionEvent {
  jobId: string;
  name: string;
  queue: string;
  from: JobState;
  to: JobState;
  /** The chart's event that took the step, e.g. LEASE, SUCCEED, or xstate's name for a delay. */
  event: string;
  attempt: number;
  error?: JobError;
  /** On a PROGRESS step (running to running): the value the handler reported, as stored. */
  progress?: unknown;
  at: Date;
}

/** The event for a stored step; an error is shown only where the job stopped short of success. */
export function transitionEvent(job: { id: string; name: string; queue: string }, step: Decision, at: number, progress?: unknown): TransitionEvent {
  const { context } = step;
  const event: TransitionEvent = {
    jobId: job.id,
    name: job.name,
    queue: job.queue,
    from: step.from,
    to: step.to,
    event: step.event,
    attempt: context.attempt,
    at: new Date(at),
  };
  if (progress !== undefined) event.progress = progress;
  // The same rule as a stored history entry's.
  if (context.lastError && showsError(step.to)) event.error = context.lastError;
  return event;
}
