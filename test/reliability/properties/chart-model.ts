/**
 * The reference model of the property tests: every move a job makes is asked
 * of the job statechart itself (xstate's pure `transition()`), never of a
 * table written by hand. A stored `retrying` job whose runAt has passed is,
 * for the chart, a job whose `after backoff` fired: leasing it is that delayed
 * event followed by LEASE.
 */
import { type AnyMachineSnapshot, assign, getInitialSnapshot, transition } from 'xstate';
import { type JobContext, type JobState, jobMachine } from '../../../machines/job.machine.js';
import { AFTER_BACKOFF, CHART_EVENTS, type ChartEvent } from '../../../src/testing/job-events.js';

export { AFTER_BACKOFF, AFTER_TIMEOUT, type ChartEvent } from '../../../src/testing/job-events.js';

/** Where a job stands for the chart: its state and its context. */
export interface ChartJob {
  value: JobState;
  context: JobContext;
}

/** Every state the chart has, read from the machine. */
export const CHART_STATES: readonly string[] = Object.keys(jobMachine.root.states);

/** The chart with the retry delay a step chooses; the chart leaves `planRetry` to the engine. */
function chartWith(retryDelayMs: number) {
  return jobMachine.provide({ actions: { planRetry: assign({ retryDelayMs }) } });
}

function snapshotOf(machine: ReturnType<typeof chartWith>, job: ChartJob): AnyMachineSnapshot {
  return machine.resolveState({ value: job.value, context: job.context }) as AnyMachineSnapshot;
}

/** A new job as the chart starts it. */
export function initialJob(input: Omit<JobContext, 'retryDelayMs' | 'lastError'>): ChartJob {
  const snapshot = getInitialSnapshot(jobMachine, input) as AnyMachineSnapshot;
  return { value: snapshot.value as JobState, context: snapshot.context as JobContext };
}

/** Where `event` takes `job`, or null when the chart does not accept it there. */
export function step(job: ChartJob, event: ChartEvent, retryDelayMs = 0): ChartJob | null {
  const machine = chartWith(retryDelayMs);
  const snapshot = snapshotOf(machine, job);
  if (!snapshot.can(event as never)) return null;
  const [next] = transition(machine, snapshot as never, event as never);
  return { value: (next as AnyMachineSnapshot).value as JobState, context: (next as AnyMachineSnapshot).context as JobContext };
}

/** Leasing as the chart sees it: LEASE, after the backoff's delayed event when the job rests in `retrying`. */
export function lease(job: ChartJob): ChartJob | null {
  const ready = job.value === 'retrying' ? step(job, { type: AFTER_BACKOFF }) : job;
  return ready && step(ready, { type: 'LEASE' });
}

/**
 * Every move from one stored state to another the chart can make: each state
 * under each guard outcome (attempts left or not, dead-lettering on or off),
 * each event, plus leasing a `retrying` job. Computed once from the machine.
 */
export function chartMoves(): ReadonlySet<string> {
  const moves = new Set<string>();
  for (const value of CHART_STATES as JobState[]) {
    for (const deadLetter of [true, false]) {
      for (const attempt of [0, 1, 2]) {
        const job: ChartJob = {
          value,
          context: { id: 'x', name: 'x', queue: 'q', attempt, maxRetries: 1, timeoutMs: 1000, retryDelayMs: 0, lastError: null, deadLetter },
        };
        for (const event of CHART_EVENTS) {
          const next = step(job, event);
          if (next) moves.add(`${value} -> ${next.value}`);
        }
        const leased = lease(job);
        if (leased) moves.add(`${value} -> ${leased.value}`);
      }
    }
  }
  return moves;
}
