import type { JobMachine, JobState } from '../../machines/job.machine.js';

/** One step the chart took, as the kernel decided it. */
export interface ChartStep {
  from: JobState;
  to: JobState;
  event: string;
}

type StepObserver = (step: ChartStep, machine: JobMachine) => void;

const observers = new Set<StepObserver>();

/**
 * Tells `observer` of every step any kernel in this process decides, so a
 * test suite can hold each one against the chart's graph. Costs one size
 * check per step when nobody observes.
 */
export function observeChartSteps(observer: StepObserver): () => void {
  observers.add(observer);
  return () => {
    observers.delete(observer);
  };
}

export function notifyTransition(step: ChartStep, machine: JobMachine): void {
  if (observers.size === 0) return;
  for (const observer of observers) observer({ from: step.from, to: step.to, event: step.event }, machine);
}
