import type { JobState } from '../../machines/job.machine.js';
import { jobRules } from '../../machines/job.rules.js';

/** A stored step of the chart, as the metrics and spans read it. */
export interface Step {
  from: JobState;
  to: JobState;
  event: string;
}

const LEASED = jobRules.leased;

/**
 * Whether `step` ends an attempt that failed: out of running to anywhere but
 * completed or cancelled, except a shutdown's ABANDON (which uncounts the
 * attempt). A timeout and an expired lease are failures.
 */
export function attemptFailed(step: Step): boolean {
  return step.from === LEASED && step.to !== LEASED && step.to !== 'completed' && step.to !== 'cancelled' && step.event !== 'ABANDON';
}
