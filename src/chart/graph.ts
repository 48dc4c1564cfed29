import type { AnyStateMachine } from 'xstate';
import { getStateNodes, toDirectedGraph } from 'xstate/graph';

/** A state of a chart, as a drawing needs it. */
export interface ChartState {
  id: string;
  final: boolean;
  tags: string[];
}

/**
 * One transition of a chart: `event` as the chart names it (xstate's
 * `xstate.after...` for a delay), `label` as a person reads it ("after
 * backoff", "always"), and the guard's name when it has one.
 */
export interface ChartTransition {
  from: string;
  to: string;
  event: string;
  label: string;
  kind: 'event' | 'delay' | 'always';
  guard?: string;
}

export interface ChartGraph {
  initial: string;
  states: ChartState[];
  transitions: ChartTransition[];
}

/**
 * The top-level states and transitions of `machine`, read from the machine
 * itself (xstate's graph of it, and its eventless transitions, which that
 * graph leaves out), so whatever draws or prints the chart follows it as it grows.
 */
export function chartGraph(machine: AnyStateMachine): ChartGraph {
  const nodes = getStateNodes(machine).filter((node) => node.parent === machine.root);
  const transitions: ChartTransition[] = [];
  for (const child of toDirectedGraph(machine).children) {
    for (const edge of child.edges) {
      const { transition } = edge;
      const delay = 'delay' in transition ? transition.delay : undefined;
      transitions.push({
        from: edge.source.key,
        to: edge.target.key,
        event: transition.eventType,
        label: delay === undefined ? transition.eventType : `after ${String(delay)}`,
        kind: delay === undefined ? 'event' : 'delay',
        ...guardOf(transition.guard),
      });
    }
  }
  for (const node of nodes) {
    for (const always of node.always ?? []) {
      for (const target of always.target ?? []) {
        transitions.push({ from: node.key, to: target.key, event: '', label: 'always', kind: 'always', ...guardOf(always.guard) });
      }
    }
  }
  const initial = machine.root.initial?.target[0]?.key;
  if (initial === undefined) throw new Error(`chart ${machine.id} has no initial state`);
  return {
    initial,
    states: nodes.map((node) => ({ id: node.key, final: node.type === 'final', tags: [...node.tags] })),
    transitions,
  };
}

/** A guard's name as the chart gives it; xstate's `and`/`or`/`not` name the guards they combine. */
function guardOf(guard: unknown): { guard?: string } {
  if (guard === undefined || guard === null) return {};
  if (typeof guard === 'string') return { guard };
  if (typeof guard === 'object' && 'type' in guard && typeof guard.type === 'string') return { guard: guard.type };
  if (typeof guard === 'function') {
    const inner: unknown = (guard as { guards?: unknown }).guards;
    if (Array.isArray(inner)) {
      const join = guard.name === 'or' ? ' || ' : ' && ';
      const text = inner.map((one) => guardOf(one).guard ?? '?').join(join);
      return { guard: guard.name === 'not' ? `!(${text})` : text };
    }
    if (guard.name) return { guard: guard.name };
  }
  return { guard: '?' };
}
