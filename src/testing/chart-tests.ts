import { describe, it } from 'vitest';
import { type AnyMachineSnapshot, type AnyStateMachine, type EventObject, transition } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';

/** A path through a chart: the events that walk it from the start, each accepted where it is sent. */
export interface ChartPath<E extends EventObject = EventObject> {
  /** The events' labels joined by ` > `, as a test's name. */
  name: string;
  events: E[];
  /** The snapshot the chart says the path ends in. */
  state: AnyMachineSnapshot;
}

export interface ChartPathOptions<E extends EventObject = EventObject> {
  /** The events to try in every state (one of each kind, each guard outcome once). */
  events: readonly E[];
  /**
   * Which paths: `transitions` (the default) takes the shortest way to each
   * state and then each event accepted there, so every transition is walked
   * once; `shortest` is the shortest way to each state; `simple` every way to
   * each state that visits no state twice (many more, for small charts).
   */
  paths?: 'transitions' | 'shortest' | 'simple';
  /** The machine's input, for a machine that takes one. */
  input?: unknown;
  /** What makes two snapshots one state for the walk; by default the value and the whole context. */
  serializeState?: (snapshot: AnyMachineSnapshot) => string;
  /** An event's name in a path's name; by default its type. */
  label?: (event: E) => string;
}

/**
 * The paths through `machine` that the options ask for, generated with
 * xstate's own graph tools: the model-based tests of a chart. Pure: replay
 * each against what implements the chart (the engine, a store, your own
 * machine's service) and check it ends where `state` says.
 */
export function chartPaths<E extends EventObject>(machine: AnyStateMachine, options: ChartPathOptions<E>): ChartPath<E>[] {
  const label = options.label ?? ((e: E) => e.type);
  const serializeState = options.serializeState ?? ((s: AnyMachineSnapshot) => `${JSON.stringify(s.value)}|${JSON.stringify(s.context)}`);
  const walk = { events: options.events, input: options.input, serializeState } as never;
  const kind = options.paths ?? 'transitions';
  const found = kind === 'simple' ? getSimplePaths(machine, walk) : getShortestPaths(machine, walk);
  const paths: ChartPath<E>[] = [];
  const add = (events: E[], state: AnyMachineSnapshot) => paths.push({ name: events.map(label).join(' > ') || '(start)', events, state });
  for (const path of found) {
    const events = path.steps.slice(1).map((step) => step.event as E);
    const state = path.state as AnyMachineSnapshot;
    if (kind !== 'transitions') {
      add(events, state);
      continue;
    }
    for (const event of options.events) {
      if (!state.can(event)) continue;
      add([...events, event], transition(machine, state, event)[0] as AnyMachineSnapshot);
    }
  }
  return paths;
}

/**
 * A vitest test per path of `chartPaths(machine, options)`, in a suite named
 * `name`: `run` replays the path against what you test and throws if it
 * went elsewhere. Call it at the top of a test file.
 */
export function chartTests<E extends EventObject>(
  machine: AnyStateMachine,
  options: ChartPathOptions<E> & { name?: string },
  run: (path: ChartPath<E>) => Promise<void> | void,
): ChartPath<E>[] {
  const paths = chartPaths(machine, options);
  describe(options.name ?? `paths of ${machine.id}`, () => {
    it.each(paths.map((path) => [path.name, path] as const))('%s', async (_, path) => {
      await run(path);
    });
  });
  return paths;
}
