import type { AnyMachineSnapshot } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import type { JobContext, JobInput, JobMachine, JobState } from '../../machines/job.machine.js';
import { CHART_EVENTS, type ChartEvent } from '../../src/testing/job-events.js';

/** A state the chart can reach, with its context, and an event it accepts there. */
export interface ChartCase {
  state: JobState;
  context: JobContext;
  event: ChartEvent;
}

/** Every (reachable state and context, accepted event) pair of a job chart, for the given job settings. */
export function chartCases(machine: JobMachine, input: JobInput, events: readonly ChartEvent[] = CHART_EVENTS): ChartCase[] {
  const serializeState = (s: AnyMachineSnapshot) => `${String(s.value)}|${JSON.stringify(s.context)}`;
  const paths = getShortestPaths(machine, { events: events as never, input, serializeState } as never);
  const cases: ChartCase[] = [];
  for (const path of paths) {
    const snapshot = path.state as AnyMachineSnapshot;
    for (const event of events) {
      if (snapshot.can(event as never)) cases.push({ state: snapshot.value as JobState, context: snapshot.context as JobContext, event });
    }
  }
  return cases;
}
