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

/** Decisions remembered per kernel; cleared whole when full (they are cheap to make again). */
const MEMO_LIMIT = 4096;
/** A context whose key would be longer than this (a long last error) is not remembered. */
const KEY_LIMIT = 512;

/**
 * The chart as the engine runs it: an event in, the next state, context and
 * named actions out, computed by xstate itself (`machine.transition` through
 * the public ActorLogic interface), with no live actor per job.
 *
 * A transition costs microseconds, a job's whole path on the memory store
 * only a few, so decisions on events that carry nothing but their type are
 * remembered, keyed by the state, the event and every context field but the
 * job's id. That is exact because xstate requires guards and assigns to be
 * pure functions of context and event, and the job chart never reads the id
 * (a test walks the chart to check it). Events with a payload (FAIL) and
 * xstate's own delayed events (whose steps may plan a jittered backoff) are
 * always computed afresh. Nothing here reads the chart's structure: a new
 * state, action or guard is decided the same way.
 */
export class JobKernel {
  private readonly scope: Parameters<JobMachine['transition']>[2];
  private readonly collected: Array<{ type: string; params?: unknown }> = [];
  private readonly memo = new Map<string, Decision | null>();

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
    const key = rememberable(event) ? keyOf(state, event.type, context) : null;
    let decision: Decision | null | undefined;
    if (key !== null) {
      decision = this.memo.get(key);
      if (decision !== undefined) {
        decision = decision && (decision.context.id === context.id ? decision : withId(decision, context.id));
      }
    }
    if (decision === undefined) {
      decision = this.compute(state, context, event);
      if (key !== null) {
        if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
        this.memo.set(key, decision);
      }
    }
    if (decision) notifyTransition(decision, this.machine);
    return decision;
  }

  private compute(state: JobState, context: JobContext, event: JobEvent | { type: string }): Decision | null {
    const snapshot = this.machine.resolveState({ value: state, context });
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
    return { from: state, to: next.value as JobState, event: event.type, context: next.context, actions, timers, cancels };
  }
}

function rememberable(event: { type: string }): boolean {
  if (event.type.startsWith('xstate.')) return false;
  for (const key in event) if (key !== 'type') return false;
  return true;
}

/** The decision's inputs but the id, as one string; null when too long to be worth remembering. */
function keyOf(state: string, type: string, context: JobContext): string | null {
  let key = `${state}\u0001${type}`;
  for (const field in context) {
    if (field === 'id') continue;
    const value = (context as unknown as Record<string, unknown>)[field];
    key += `\u0001${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`;
  }
  return key.length > KEY_LIMIT ? null : key;
}

function withId(decision: Decision, id: string): Decision {
  return { ...decision, context: { ...decision.context, id } };
}
