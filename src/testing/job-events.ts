import type { JobEvent } from '../../machines/job.machine.js';

/** The job chart's delayed transitions, as xstate names their events. */
export const AFTER_TIMEOUT = 'xstate.after.timeout.job.running';
export const AFTER_BACKOFF = 'xstate.after.backoff.job.retrying';

/** An event as the tests send it: the chart's own, or one of its delayed transitions. */
export type ChartEvent = JobEvent | { type: typeof AFTER_TIMEOUT } | { type: typeof AFTER_BACKOFF };

const boom = { name: 'Error', message: 'boom' };

/** Every kind of event the chart knows, each guard outcome of FAIL once. */
export const CHART_EVENTS: readonly ChartEvent[] = [
  { type: 'LEASE' },
  { type: 'SUCCEED' },
  { type: 'FAIL', error: boom, retryable: true },
  { type: 'FAIL', error: { name: 'PermanentError', message: 'no' }, retryable: false },
  { type: 'CANCEL' },
  { type: 'ABANDON' },
  { type: 'LEASE_EXPIRED' },
  { type: 'REPLAY' },
  { type: 'REPLACE' },
  { type: AFTER_TIMEOUT },
  { type: AFTER_BACKOFF },
];
