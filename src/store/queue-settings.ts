import type { JobState } from '../../machines/job.machine.js';

/** At most `max` jobs of a queue start in any window of `perMs` milliseconds, across every worker. */
export interface RateLimit {
  max: number;
  perMs: number;
}

/**
 * A queue's cluster-wide settings, kept in the store so every worker sharing
 * it obeys the same ones. A queue no one configured has none: not paused, no
 * limits, and it leases exactly as it did before queues had settings.
 */
export interface QueueSettings {
  /** Its jobs wait without being leased; jobs already running are not touched. */
  paused: boolean;
  /** The most jobs of the queue running at once, across all workers; null: no cap. */
  concurrency: number | null;
  /** The most starts in any window of `perMs`, across all workers; null: no limit. */
  rateLimit: RateLimit | null;
  /** The most jobs of one group (see `NewJob.group`) running at once; null: no cap. */
  groupConcurrency: number | null;
}

/** A change to a queue's settings: a field left out keeps its value, null clears a limit. */
export type QueueSettingsChange = Partial<QueueSettings>;

/** A queue's settings as a store keeps them. */
export interface StoredQueue extends QueueSettings {
  name: string;
  /** When they last changed, epoch ms. */
  updatedAt: number;
}

export const NO_QUEUE_SETTINGS: QueueSettings = Object.freeze({ paused: false, concurrency: null, rateLimit: null, groupConcurrency: null });

/** Settings after `change`: what a store writes. */
export function changedSettings(current: QueueSettings, change: QueueSettingsChange): QueueSettings {
  return {
    paused: change.paused ?? current.paused,
    concurrency: change.concurrency === undefined ? current.concurrency : change.concurrency,
    rateLimit: change.rateLimit === undefined ? current.rateLimit : change.rateLimit,
    groupConcurrency: change.groupConcurrency === undefined ? current.groupConcurrency : change.groupConcurrency,
  };
}

/** Whether settings are all defaults: leases of the queue need not read them. */
export function isDefault(settings: QueueSettings): boolean {
  return !settings.paused && settings.concurrency === null && settings.rateLimit === null && settings.groupConcurrency === null;
}

/** Whether a lease of the queue must count what runs and starts: any limit set. */
export function isLimited(settings: QueueSettings): boolean {
  return settings.concurrency !== null || settings.rateLimit !== null || settings.groupConcurrency !== null;
}

/** Counts by state of each queue that has jobs. */
export type QueueStateCounts = Record<string, Record<JobState, number>>;
