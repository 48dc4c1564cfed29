import type { JobError, JobState } from '../../machines/job.machine.js';

/** One state change of one job, as `dispatcher.events$` reports it once it is stored. */
export interface TransitionEvent {
  jobId: string;
  name: string;
  queue: string;
  from: JobState;
  to: JobState;
  attempt: number;
  error?: JobError;
  at: Date;
}

/** The event for a stored move; an error is shown only where the job stopped short of success. */
export function transitionEvent(
  job: { id: string; name: string; queue: string },
  from: JobState,
  to: JobState,
  attempt: number,
  error: JobError | null | undefined,
): TransitionEvent {
  const event: TransitionEvent = { jobId: job.id, name: job.name, queue: job.queue, from, to, attempt, at: new Date() };
  if (error && to !== 'completed' && to !== 'running' && to !== 'pending') event.error = error;
  return event;
}
