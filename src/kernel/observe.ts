import type { JobState } from '../../machines/job.machine.js';

/** One step the chart took, as the kernel decided it. */
export interface ChartStep {
  from: JobState;
  to: JobState;
  event: string;
}

const observers = new Set<(step: ChartStep) => void>();

/**
 * Tells `observer` of every step any kernel in this process decides, so a
 * test suite can hold each one against the chart's graph. Costs one size
 * check per step when nobody observes.
 */
export function observeChartSteps(observer: (step: ChartStep) => void): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

export function notifyTransition(step: ChartStep): void {
  if (observers.size === 0) return;
  for (const observer of observers) observer({ from: step.from, to: step.to, event: step.event });
}
