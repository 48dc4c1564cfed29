import type { Database } from 'better-sqlite3';
import {
  changedSettings,
  jobRules,
  NO_QUEUE_SETTINGS,
  type QueueSettings,
  type QueueSettingsChange,
  type QueueStateCounts,
  type StoredQueue,
} from '../contract.js';

/** A dispatch_queues row. */
export interface QueueRow {
  name: string;
  paused: number;
  concurrency: number | null;
  rate_max: number | null;
  rate_per_ms: number | null;
  group_concurrency: number | null;
  updated_at: number;
}

export function toStoredQueue(row: QueueRow): StoredQueue {
  return {
    name: row.name,
    paused: row.paused === 1,
    concurrency: row.concurrency,
    rateLimit: row.rate_max === null || row.rate_per_ms === null ? null : { max: row.rate_max, perMs: row.rate_per_ms },
    groupConcurrency: row.group_concurrency,
    updatedAt: row.updated_at,
  };
}

export const QUEUE_SQL = {
  all: `SELECT * FROM dispatch_queues ORDER BY name`,
  one: `SELECT * FROM dispatch_queues WHERE name = ?`,
  upsert: `INSERT INTO dispatch_queues (name, paused, concurrency, rate_max, rate_per_ms, group_concurrency, updated_at)
    VALUES (@name, @paused, @concurrency, @rateMax, @ratePerMs, @groupConcurrency, @updatedAt)
    ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, concurrency = excluded.concurrency, rate_max = excluded.rate_max,
      rate_per_ms = excluded.rate_per_ms, group_concurrency = excluded.group_concurrency, updated_at = excluded.updated_at`,
  // A rate limit dropped or changed starts a fresh log only for a queue that no longer has one.
  forgetStarts: `DELETE FROM dispatch_queue_starts WHERE queue = ?`,
  countsByQueue: `SELECT queue, state, count(*) AS n FROM dispatch_jobs GROUP BY queue, state`,
  /** What another process's commit may have changed: told apart by this. */
  version: `SELECT count(*) || ':' || total(updated_at) AS version FROM dispatch_queues`,
} as const;

/** Queue settings on one connection: change, list, count. */
export function queueSettingsOperations(db: Database) {
  const all = db.prepare<[], QueueRow>(QUEUE_SQL.all);
  const one = db.prepare<[string], QueueRow>(QUEUE_SQL.one);
  const upsert = db.prepare(QUEUE_SQL.upsert);
  const forgetStarts = db.prepare<[string]>(QUEUE_SQL.forgetStarts);
  const countsByQueue = db.prepare<[], { queue: string; state: string; n: number }>(QUEUE_SQL.countsByQueue);
  const version = db.prepare<[], { version: string }>(QUEUE_SQL.version);
  const states = new Set<string>(jobRules.states);

  return {
    // One write transaction: two processes changing one queue at once each see the other's change.
    configure: db.transaction((name: string, change: QueueSettingsChange): StoredQueue => {
      const row = one.get(name);
      const before: QueueSettings = row ? toStoredQueue(row) : NO_QUEUE_SETTINGS;
      const after = changedSettings(before, change);
      // A later updated_at than any before, so another process's watch sees the change.
      const updatedAt = Math.max(Date.now(), (row?.updated_at ?? 0) + 1);
      upsert.run({
        name,
        paused: after.paused ? 1 : 0,
        concurrency: after.concurrency,
        rateMax: after.rateLimit?.max ?? null,
        ratePerMs: after.rateLimit?.perMs ?? null,
        groupConcurrency: after.groupConcurrency,
        updatedAt,
      });
      if (after.rateLimit === null) forgetStarts.run(name);
      return { name, ...after, updatedAt };
    }).immediate,
    list: (): StoredQueue[] => all.all().map(toStoredQueue),
    counts: (): QueueStateCounts => {
      const out: QueueStateCounts = {};
      for (const { queue, state, n } of countsByQueue.all()) {
        if (!states.has(state)) continue;
        const counts = (out[queue] ??= Object.fromEntries(jobRules.states.map((s) => [s, 0])) as QueueStateCounts[string]);
        counts[state as keyof typeof counts] = n;
      }
      return out;
    },
    version: (): string => version.get()!.version,
  };
}
