import { getStateNodes, toDirectedGraph } from 'xstate/graph';
import { observeChartSteps } from '../../src/kernel/observe.js';
import type { JobMachine } from '../../machines/job.machine.js';

const key = (from: string, event: string, to: string) => `${from} --${event}--> ${to}`;

/**
 * Every step the chart can take, as `from --event--> to`: its graph's edges,
 * and where an edge ends in a state that moves on by itself (`always`, as
 * failed -> dlq), the whole macrostep as one step too.
 */
export function chartSteps(machine: JobMachine): Set<string> {
  const eventless = new Map<string, string[]>();
  for (const node of getStateNodes(machine)) {
    const targets = node.always?.flatMap((t) => t.target?.map((n) => n.key) ?? []) ?? [];
    if (targets.length > 0) eventless.set(node.key, targets);
  }
  const steps = new Set<string>();
  for (const child of toDirectedGraph(machine).children) {
    for (const edge of child.edges) {
      const from = edge.source.key;
      const to = edge.target.key;
      steps.add(key(from, edge.label.text, to));
      for (const further of eventless.get(to) ?? []) steps.add(key(from, edge.label.text, further));
    }
  }
  return steps;
}

export function stepKey(step: { from: string; event: string; to: string }): string {
  return key(step.from, step.event, step.to);
}

/** Collects the steps decided for `machine`'s chart that are not among its steps, until taken. */
export function watchForStrays(machine: JobMachine, onStray?: (step: string) => void): { take(): string[]; stop(): void } {
  const steps = chartSteps(machine);
  const strays: string[] = [];
  const stop = observeChartSteps((step, decidedBy) => {
    if (decidedBy.config !== machine.config) return;
    const key = stepKey(step);
    if (steps.has(key)) return;
    strays.push(key);
    onStray?.(key);
  });
  return { take: () => strays.splice(0), stop };
}
