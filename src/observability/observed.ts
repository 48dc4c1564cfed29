import type { Store } from '../store/contract.js';
import type { JobMetrics } from './job-metrics.js';
import type { Logger } from './logger.js';

/** What a metrics exporter needs of a dispatcher, which the public interface does not show. */
export interface Observed {
  metrics: JobMetrics;
  store: Store;
  logger: Logger;
  /** Runs `fn` once the dispatcher has stopped. */
  onStop(fn: () => void): void;
}

const byDispatcher = new WeakMap<object, Observed>();

/** Called by each dispatcher as it is made. */
export function attachObserved(dispatcher: object, observed: Observed): void {
  byDispatcher.set(dispatcher, observed);
}

/** The parts of a dispatcher made by createDispatcher; undefined for anything else. */
export function observedOf(dispatcher: unknown): Observed | undefined {
  return typeof dispatcher === 'object' && dispatcher !== null ? byDispatcher.get(dispatcher) : undefined;
}
