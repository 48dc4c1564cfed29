import { createActor } from 'xstate';
import type { JobContext, JobEvent, JobMachine, JobState } from '../../machines/job.machine.js';
import { notifyTransition } from './observe.js';

/** A named action of the chart for the engine to run, with its resolved params. */
export interface KernelAction {
  type: string;
  params: Readonly<Record<string, unknown>> | undefined;
}

/** A delayed event the step armed (an `after`): a timer while a process holds the job, its runAt while it rests. */
export interface Timer {
  id: string;
  event: string;
  delayMs: number;
}

/** What the chart says an event does to a job. */
export interface Decision {
  from: JobState;
  to: JobState;
  event: string;
  context: JobContext;
  actions: readonly KernelAction[];
  timers: readonly Timer[];
  /** Ids of delayed events this step cancelled. */
  cancels: readonly string[];
}

/** Decisions remembered per state and event: the most recent contexts, whose fields a lookup compares. */
const RECENT = 16;

interface Remembered {
  context: JobContext;
  decision: Decision | null;
}

interface Recent {
  entries: Remembered[];
  /** The entry the next new decision replaces, once the list is full. */
  next: number;
}

/**
 * The chart as the engine runs it: an event in, the next state, context and
 * named actions out, computed by xstate itself (`machine.transition` through
 * the public ActorLogic interface), with no live actor per job.
 *
 * A transition costs microseconds, a job's whole path on the memory store
 * only a few, so decisions on events that carry nothing but their type are
 * remembered: for each state and event, the last few contexts seen, and a
 * decision is reused for one of those contexts (found by identity when it is
 * a context this kernel answered, as a job's next step usually starts from
 * its last one's) or one equal to it in every field but the job's id. That is exact because xstate requires guards and assigns to be
 * pure functions of context and event, and the job chart never reads the id
 * (a test walks the chart to check it). xstate's own delayed events are
 * remembered only for steps that assigned nothing (the context comes out the
 * same object): a delayed step may plan a jittered backoff, which is an
 * assign, while one that assigns nothing depends only on its guards, delays
 * and params, pure as for every remembered step.
 * Events with a payload (FAIL) are always computed afresh: the chart keeps
 * the error, and the backoff it plans may read it. Nothing here reads the
 * chart's structure: a new state, action or guard is decided the same way.
 */
export class JobKernel {
  private readonly scope: Parameters<JobMachine['transition']>[2];
  private readonly collected: Array<{ type: string; params?: unknown }> = [];
  /** By state, then event type. */
  private readonly memo = new Map<string, Map<string, Recent>>();
  /** The contexts of decisions this kernel computed. */
  private readonly answered = new WeakSet<JobContext>();
  /** By state, the last snapshot resolved from a context this kernel answered (frozen, so it stays right). */
  private readonly resolved = new Map<string, { context: JobContext; snapshot: ReturnType<JobMachine['resolveState']> }>();

  constructor(readonly machine: JobMachine) {
    // One inert actor for the whole kernel: xstate's `transition()` makes a new one per call, which is
    // most of its cost. Actions are collected, never executed: the engine runs them.
    const self = createActor(machine, { input: { id: '', name: '', queue: '', attempt: 0, maxRetries: 0, timeoutMs: 0 } });
    this.scope = {
      self,
      id: '',
      sessionId: '',
      logger: () => {},
      defer: () => {},
      emit: () => {},
      system: self.system,
      stopChild: () => {},
      actionExecutor: (action: { type: string; params?: unknown }) => {
        this.collected.push(action as { type: string; params?: unknown });
      },
    } as unknown as typeof this.scope;
  }

  /** Where `event` takes a job in `state` with `context`; null when the chart does not accept it there. */
  decide(state: JobState, context: JobContext, event: JobEvent | { type: string }): Decision | null {
    const kind = rememberable(event);
    const recent = kind === NEVER ? null : this.recentFor(state, event.type);
    let decision: Decision | null | undefined;
    if (recent) {
      for (const entry of recent.entries) {
        // The same object is the common case: a job's next step starts from the context its last one left.
        if (entry.context !== context && !sameButId(entry.context, context)) continue;
        decision = entry.decision && (entry.decision.context.id === context.id ? entry.decision : withId(entry.decision, context.id));
        break;
      }
    }
    if (decision === undefined) {
      decision = this.compute(state, context, event);
      if (recent && (kind === ALWAYS || !decision || decision.context === context)) {
        // A context this kernel answered is kept as it is (it is frozen), so the steps that
        // follow from it are found by identity; any other is copied, as its owner may change it.
        const entry = { context: this.answered.has(context) ? context : { ...context }, decision };
        if (recent.entries.length < RECENT) recent.entries.push(entry);
        else {
          recent.entries[recent.next] = entry;
          recent.next = (recent.next + 1) % RECENT;
        }
      }
    }
    if (decision) notifyTransition(decision, this.machine);
    return decision;
  }

  private recentFor(state: string, type: string): Recent {
    let byType = this.memo.get(state);
    if (!byType) this.memo.set(state, (byType = new Map()));
    let recent = byType.get(type);
    if (!recent) byType.set(type, (recent = { entries: [], next: 0 }));
    return recent;
  }

  /** The chart's snapshot of `state` with `context`; one resolved from the same frozen context is reused (xstate's snapshots are not changed by a transition). */
  private snapshotOf(state: JobState, context: JobContext): ReturnType<JobMachine['resolveState']> {
    const last = this.resolved.get(state);
    if (last && last.context === context) return last.snapshot;
    const snapshot = this.machine.resolveState({ value: state, context });
    if (this.answered.has(context)) this.resolved.set(state, { context, snapshot });
    return snapshot;
  }

  private compute(state: JobState, context: JobContext, event: JobEvent | { type: string }): Decision | null {
    const snapshot = this.snapshotOf(state, context);
    if (!snapshot.can(event as JobEvent)) return null;
    this.collected.length = 0;
    const next = this.machine.transition(snapshot, event as JobEvent, this.scope);
    const actions: KernelAction[] = [];
    const timers: Timer[] = [];
    const cancels: string[] = [];
    for (const action of this.collected) {
      const params = action.params as Record<string, unknown> | undefined;
      if (action.type === 'xstate.raise' && params && typeof params.delay === 'number') {
        timers.push({ id: String(params.id), event: (params.event as { type: string }).type, delayMs: params.delay });
      } else if (action.type === 'xstate.cancel' && params) {
        cancels.push(String(params.sendId));
      } else {
        actions.push({ type: action.type, params });
      }
    }
    this.collected.length = 0;
    // Frozen: a remembered decision's context is shared by every job it is reused for.
    this.answered.add(Object.freeze(next.context));
    return { from: state, to: next.value as JobState, event: event.type, context: next.context, actions, timers, cancels };
  }
}

/** How a step on an event may be remembered: always (it carries nothing but its type), when it assigned nothing (a delayed event), never (a payload). */
const ALWAYS = 0;
const UNASSIGNED = 1;
const NEVER = 2;
type Rememberable = typeof ALWAYS | typeof UNASSIGNED | typeof NEVER;

/** Frozen events (the engine's shared LEASE, SUCCEED...) answered once: a for-in over a frozen object is slow. */
const frozenAnswers = new WeakMap<object, Rememberable>();

function rememberable(event: { type: string }): Rememberable {
  const known = frozenAnswers.get(event);
  if (known !== undefined) return known;
  let kind: Rememberable = event.type.startsWith('xstate.') ? UNASSIGNED : ALWAYS;
  for (const key in event) if (key !== 'type') kind = NEVER;
  if (Object.isFrozen(event)) frozenAnswers.set(event, kind);
  return kind;
}

/** Whether two contexts hold the same values in every field but the id (an object's own fields compared one level down). */
function sameButId(a: JobContext, b: JobContext): boolean {
  return sameFields(a, b, 'id', 1);
}

/** Whether two objects have the same fields with the same values, `skip` aside, objects compared `depth` levels down. */
function sameFields(a: unknown, b: unknown, skip: string | null, depth: number): boolean {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let fields = 0;
  for (const field in x) {
    fields++;
    if (field === skip || x[field] === y[field]) continue;
    if (depth === 0 || !sameFields(x[field], y[field], null, depth - 1)) return false;
  }
  for (const _ in y) fields--;
  return fields === 0;
}

function withId(decision: Decision, id: string): Decision {
  return { ...decision, context: { ...decision.context, id } };
}
