import { initialTransition, transition } from 'xstate';
import { getStateNodes, toDirectedGraph } from 'xstate/graph';
import { JOB_STATES, type JobContext, type JobEvent, type JobMachine, type JobState, jobMachine } from './job.machine.js';

/**
 * What the stores need to know of the job chart, read from the chart itself:
 * its tags and its graph. The stores' state lists, predicates and lease
 * follow these, so a new state is an edit to the chart (and a migration for
 * the durable stores' CHECK and index), not an edit to every store.
 */
export interface JobRules {
  /** Every state, in the chart's order. */
  states: readonly JobState[];
  /** Where a new job starts. */
  initial: JobState;
  /** Tagged `leasable`: a lease takes a due job from here. */
  leasable: readonly JobState[];
  /**
   * States whose unguarded delayed transition (`after`) leads to a leasable
   * state: a job resting here is due at its stored runAt, and a lease applies
   * that edge and LEASE in one write.
   */
  dueThrough: ReadonlyMap<JobState, { event: string; to: JobState }>;
  /** Tagged `leased`: the state LEASE leads to, the one state that holds a lease. */
  leased: JobState;
  /** What LEASE adds to `attempt`. */
  attemptsPerLease: number;
  /** Tagged `rest`: nothing is waiting to happen to a job here. */
  rest: readonly JobState[];
  /** Final states: nothing can happen to a job here any more. */
  final: readonly JobState[];
  /** Every state a lease may take a job from: leasable, then dueThrough. */
  leaseFrom: readonly JobState[];
  /** States that accept REPLACE: a unique job's input, runAt and priority may still be replaced there. */
  replaceFrom: readonly JobState[];
  /** Where PROGRESS is taken: the leased state, as only a lease holder reports progress. */
  progressIn: JobState;
  /** The states RESCHEDULE moves a job from: those it waits in, not running. */
  rescheduleFrom: readonly JobState[];
  /** The states REPLAY brings a job back from: those it ended in short of success. */
  replayFrom: readonly JobState[];
}

const PROBE: JobContext = {
  id: 'probe',
  name: 'probe',
  queue: 'probe',
  attempt: 0,
  maxRetries: 0,
  timeoutMs: 1,
  retryDelayMs: 0,
  lastError: null,
  deadLetter: true,
};

export class ChartRulesError extends Error {
  override name = 'ChartRulesError';
}

/** Reads the rules off a job chart; throws when the chart breaks what the stores rely on. */
export function rulesOf(machine: JobMachine): JobRules {
  const nodes = getStateNodes(machine).filter((node) => node.parent === machine.root);
  const states = nodes.map((node) => node.key as JobState);
  const tagged = (tag: string) => nodes.filter((node) => node.tags.includes(tag)).map((node) => node.key as JobState);
  const leasable = tagged('leasable');
  const leasedStates = tagged('leased');
  if (leasable.length === 0) throw new ChartRulesError('no state of the job chart is tagged leasable');
  if (leasedStates.length !== 1) throw new ChartRulesError('exactly one state of the job chart must be tagged leased');
  const leased = leasedStates[0]!;

  // LEASE from every leasable state: unguarded, to the leased state, counting the same.
  let attemptsPerLease: number | null = null;
  for (const from of leasable) {
    const snapshot = machine.resolveState({ value: from, context: PROBE });
    const [next] = transition(machine, snapshot, { type: 'LEASE' });
    if (next.value !== leased) throw new ChartRulesError(`LEASE from ${from} must lead to ${leased}, the leased state`);
    const added = next.context.attempt - PROBE.attempt;
    if (attemptsPerLease !== null && added !== attemptsPerLease) throw new ChartRulesError('every LEASE must count attempts alike');
    attemptsPerLease = added;
  }

  const dueThrough = new Map<JobState, { event: string; to: JobState }>();
  for (const child of toDirectedGraph(machine).children) {
    for (const edge of child.edges) {
      const { transition: t } = edge;
      if (!('delay' in t) || t.guard) continue;
      const to = edge.target.key as JobState;
      if (leasable.includes(to)) dueThrough.set(edge.source.key as JobState, { event: t.eventType, to });
    }
  }

  // REPLACE must leave the job where it was: the store rewrites the row in place.
  const replaceFrom: JobState[] = [];
  for (const from of states) {
    const snapshot = machine.resolveState({ value: from, context: PROBE });
    if (!snapshot.can({ type: 'REPLACE' })) continue;
    const [next] = transition(machine, snapshot, { type: 'REPLACE' });
    if (next.value !== from) throw new ChartRulesError(`REPLACE from ${from} must stay in ${from}`);
    replaceFrom.push(from);
  }
  const accepting = (event: JobEvent) =>
    states.filter((state) => machine.resolveState({ value: state, context: PROBE }).can(event));
  const progressIn = accepting({ type: 'PROGRESS', progress: 0 });
  if (progressIn.length !== 1 || progressIn[0] !== leased) throw new ChartRulesError(`PROGRESS must be taken in ${leased} alone`);
  const rescheduleFrom = accepting({ type: 'RESCHEDULE', runAt: 0, priority: 0 });
  if (rescheduleFrom.includes(leased)) throw new ChartRulesError(`RESCHEDULE must not move a ${leased} job: its worker holds it`);

  return {
    states,
    initial: initialTransition(machine, PROBE)[0].value as JobState,
    leasable,
    dueThrough,
    leased,
    attemptsPerLease: attemptsPerLease!,
    rest: tagged('rest'),
    final: nodes.filter((node) => node.type === 'final').map((node) => node.key as JobState),
    leaseFrom: [...leasable, ...dueThrough.keys()],
    replaceFrom,
    progressIn: leased,
    rescheduleFrom,
    replayFrom: accepting({ type: 'REPLAY' }),
  };
}

/** The engine's chart's rules, read once. */
export const jobRules: JobRules = rulesOf(jobMachine);

/** Names of `states` as SQL string literals, in the chart's order: `'pending', 'retrying'`. */
export function sqlList(states: readonly JobState[]): string {
  return JOB_STATES.filter((state) => states.includes(state))
    .map((state) => `'${state}'`)
    .join(', ');
}
