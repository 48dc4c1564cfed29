import type { JobState } from '../../machines/job.machine.js';
import type { Clock } from '../clock.js';
import { type Duration, toMs } from '../duration.js';
import { InvalidOptionError } from '../errors.js';
import { fields, parseOrThrow } from '../job/options.js';
import type { Store } from '../store/contract.js';
import { optionKeys, refuseUnknownKeys } from '../strict-options.js';
import type { MaintenanceService } from './service.js';

/** How long finished jobs are kept, and how the deleting is paced. `false` keeps a state's jobs for good. */
export interface RetentionOptions {
  /** Completed jobs, from when they completed. Default 3 days. */
  completed?: Duration | false;
  /** Cancelled jobs, from when they were cancelled. Default 3 days. */
  cancelled?: Duration | false;
  /** Failed jobs (of definitions with `deadLetter: false`), from when they failed. Default 30 days. */
  failed?: Duration | false;
  /** Dead-lettered jobs, from when they were dead-lettered. Default 30 days. */
  dlq?: Duration | false;
  /** How often a pass runs, in one process at a time. Default 1 minute. */
  interval?: Duration;
  /** Jobs looked at (and so at most deleted) by one statement. Default 1000. */
  batchSize?: number;
  /** The pause between two batches, so other writers get the table in between. Default 50 ms. */
  pause?: Duration;
}

export const RETENTION_DEFAULTS = {
  completed: '3d',
  cancelled: '3d',
  failed: '30d',
  dlq: '30d',
  interval: '1m',
  batchSize: 1000,
  pause: '50ms',
} as const satisfies Required<RetentionOptions>;

export interface ResolvedRetention {
  /** The states retention deletes from, each with how long its jobs are kept, in ms. */
  keep: ReadonlyArray<{ state: JobState; ms: number }>;
  everyMs: number;
  batchSize: number;
  pauseMs: number;
}

const retentionKeys = optionKeys<RetentionOptions>({
  completed: true,
  cancelled: true,
  failed: true,
  dlq: true,
  interval: true,
  batchSize: true,
  pause: true,
});
const KEPT_STATES = ['completed', 'cancelled', 'failed', 'dlq'] as const;

/** Checks `createDispatcher`'s `retention`; null when it is `false` (no retention at all). */
export function parseRetention(options: RetentionOptions | false | undefined): ResolvedRetention | null {
  if (options === false) return null;
  const given = options ?? {};
  if (given === null || typeof given !== 'object') {
    throw new InvalidOptionError('retention', "must be an object such as { completed: '1d' }, or false");
  }
  refuseUnknownKeys(given, retentionKeys, 'options.retention', 'retention in createDispatcher');
  const keep: Array<{ state: JobState; ms: number }> = [];
  for (const state of KEPT_STATES) {
    const value = given[state] === undefined ? RETENTION_DEFAULTS[state] : given[state];
    if (value === false) continue;
    // A time in the store, not a timer: it may be longer than a timer may wait.
    keep.push({ state, ms: toMs(value, `retention.${state}`, 'stored') });
  }
  const everyMs = toMs(given.interval ?? RETENTION_DEFAULTS.interval, 'retention.interval');
  if (everyMs <= 0) throw new InvalidOptionError('retention.interval', 'must be longer than 0 ms');
  const batchSize = parseOrThrow(fields.count.max(100_000, { error: 'must be at most 100000' }), given.batchSize ?? RETENTION_DEFAULTS.batchSize, 'retention.batchSize');
  const pauseMs = toMs(given.pause ?? RETENTION_DEFAULTS.pause, 'retention.pause');
  return { keep, everyMs, batchSize, pauseMs };
}

export interface RetentionParts {
  store: Store;
  clock: Clock;
  settings: ResolvedRetention;
}

/**
 * Deletes finished jobs older than their state's retention, in bounded
 * batches (each one statement over at most `batchSize` jobs, found through an
 * index or a range of the primary key), pausing between them. Answers how
 * many jobs it deleted. Runs under its leader duty, one process at a time.
 */
export function retention(parts: RetentionParts): MaintenanceService {
  const { store, clock, settings } = parts;
  const pause = () => new Promise<void>((resolve) => clock.setTimeout(resolve, settings.pauseMs));
  return {
    name: 'retention',
    everyMs: settings.everyMs,
    async run() {
      let deleted = 0;
      for (const { state, ms } of settings.keep) {
        const before = clock.now() - ms;
        let cursor: string | null = null;
        do {
          const batch = await store.expire({ state, before, limit: settings.batchSize, cursor });
          deleted += batch.deleted;
          cursor = batch.cursor;
          if (cursor !== null && settings.pauseMs > 0) await pause();
        } while (cursor !== null);
      }
      return deleted;
    },
  };
}
