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
