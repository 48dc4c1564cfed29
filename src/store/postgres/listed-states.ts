import type { JobState } from '../../../machines/job.machine.js';

/** The states jobs_listed and jobs_listed_queue hold (see migrations 2 and 7): all but the two every job passes through. */
export const LISTED_STATES: readonly JobState[] = ['pending', 'retrying', 'failed', 'dlq', 'cancelled'];
