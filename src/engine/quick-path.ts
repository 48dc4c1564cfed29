import type { JobContext, JobMachine, JobState } from '../../machines/job.machine.js';

/**
 * What the job chart says about a leased job's common path, read once from
 * the machine: the state SUCCEED leads to from `running`, and the timeout
 * `after` (its event and its named delay). With it the runner can run a job
 * that simply succeeds without an actor of its own, and start one, from the
 * same `running` snapshot, the moment anything else happens.
 */
export interface QuickPath {
  /** Where SUCCEED takes a running job: unguarded, with no actions. */
  succeedTo: JobState;
  /** The event the chart's timeout `after` sends. */
  timeoutEvent: string;
  /** The chart's timeout delay for a job. */
  timeoutMs(context: JobContext): number;
}

/** Null when the chart's `running` is not of that shape. */
export function readQuickPath(machine: JobMachine): QuickPath | null {
  const running = machine.getStateNodeById('job.running');
  const succeed = running.on.SUCCEED ?? [];
  const only = succeed[0];
  if (succeed.length !== 1 || !only || only.guard || only.actions.length > 0 || only.target?.length !== 1) return null;
  // The handler is the only entry action besides the timeout's own raise.
  const entry = running.entry.map((action) => (typeof action === 'string' ? action : (action as { type?: string }).type));
  if (entry.some((type) => type !== 'runHandler' && type !== 'xstate.raise')) return null;
  const timeouts = running.after;
  const timeoutEvent = timeouts[0]?.eventType;
  const delay = timeouts[0]?.delay;
  if (!timeoutEvent || timeouts.some((t) => t.eventType !== timeoutEvent) || typeof delay !== 'string') return null;
  const implementation = machine.implementations.delays[delay];
  if (typeof implementation !== 'function') return null;
  return {
    succeedTo: only.target[0]!.key as JobState,
    timeoutEvent,
    timeoutMs: (context) => (implementation as (args: { context: JobContext }) => number)({ context }),
  };
}
