import type { Database } from 'better-sqlite3';
import { isDefault, sqlList, jobRules, type StoredQueue } from '../contract.js';
import { type QueueRow, toStoredQueue } from './queue-settings.js';
import type { JobRow } from './rows.js';

const LEASABLE = `state IN (${sqlList(jobRules.leaseFrom)})`;
const LEASED = `'${jobRules.leased}'`;
/** Running rows only: counting a queue's running jobs reads no waiting or finished row. */
const RUNNING = 'dispatch_jobs INDEXED BY dispatch_jobs_lease_deadline';
const GROUPS = 'dispatch_jobs INDEXED BY dispatch_jobs_groups';

const SQL = {
  binding: `SELECT * FROM dispatch_queues WHERE paused = 1 OR concurrency IS NOT NULL OR rate_max IS NOT NULL OR group_concurrency IS NOT NULL`,
  running: `SELECT count(*) AS n FROM ${RUNNING} WHERE state = ${LEASED} AND queue = ?`,
  runningByGroup: `SELECT "group", count(*) AS n FROM ${RUNNING} WHERE state = ${LEASED} AND queue = ? AND "group" IS NOT NULL GROUP BY "group"`,
  pruneStarts: `DELETE FROM dispatch_queue_starts WHERE queue = ? AND started_at <= ?`,
  starts: `SELECT coalesce(sum(n), 0) AS n, min(started_at) AS oldest FROM dispatch_queue_starts WHERE queue = ?`,
  recordStart: `INSERT INTO dispatch_queue_starts (queue, started_at, n) VALUES (?, ?, ?)`,
  // The groups with waiting jobs, one index seek each.
  nextGroup: `SELECT "group" FROM ${GROUPS} WHERE ${LEASABLE} AND "group" IS NOT NULL AND queue = ? AND "group" > ? ORDER BY "group" LIMIT 1`,
  dueInGroup: `SELECT * FROM ${GROUPS} WHERE ${LEASABLE} AND "group" IS NOT NULL AND queue = ? AND "group" = ? AND run_at <= ?
    AND name IN (SELECT value FROM json_each(?)) ORDER BY priority DESC, run_at, id LIMIT ?`,
  dueUngrouped: `SELECT * FROM dispatch_jobs WHERE ${LEASABLE} AND queue = ? AND "group" IS NULL AND run_at <= ?
    AND name IN (SELECT value FROM json_each(?)) ORDER BY priority DESC, run_at, id LIMIT ?`,
} as const;

/** What the settings leave a lease of one queue, read inside the lease's write transaction. */
export interface QueueLimit {
  settings: StoredQueue;
  /** Jobs it may start now (Infinity: no cap); 0 while paused. */
  room: number;
  /** Starts the rate limit leaves; Infinity without one. */
  rateLeft: number;
  /** With a rate limit: when its window next has room once this lease's starts are in it. */
  rateOpensAt: number | null;
}

/**
 * The lease's side of queue settings on SQLite. The lease runs in one
 * BEGIN IMMEDIATE transaction, so what is counted here (running jobs, starts
 * in the rate window) is exact: no other writer, in any process, runs
 * between the count and the lease that acts on it.
 */
export function queueLimits(db: Database) {
  const binding = db.prepare<[], QueueRow>(SQL.binding);
  const running = db.prepare<[string], { n: number }>(SQL.running);
  const runningByGroup = db.prepare<[string], { group: string; n: number }>(SQL.runningByGroup);
  const pruneStarts = db.prepare<[string, number]>(SQL.pruneStarts);
  const starts = db.prepare<[string], { n: number; oldest: number | null }>(SQL.starts);
  const recordStart = db.prepare<[string, number, number]>(SQL.recordStart);
  const nextGroup = db.prepare<[string, string], { group: string }>(SQL.nextGroup);
  const dueInGroup = db.prepare<[string, string, number, string, number], JobRow>(SQL.dueInGroup);
  const dueUngrouped = db.prepare<[string, number, string, number], JobRow>(SQL.dueUngrouped);

  return {
    /** The queues paused or limited now, with their room; null when there are none (the common case). */
    read(now: number): Map<string, QueueLimit> | null {
      const rows = binding.all();
      if (rows.length === 0) return null;
      const out = new Map<string, QueueLimit>();
      for (const row of rows) {
        const settings = toStoredQueue(row);
        if (isDefault(settings)) continue;
        let room = settings.paused ? 0 : Infinity;
        let rateLeft = Infinity;
        let rateOpensAt: number | null = null;
        if (!settings.paused && settings.concurrency !== null) room = Math.max(0, settings.concurrency - running.get(row.name)!.n);
        if (!settings.paused && settings.rateLimit) {
          pruneStarts.run(row.name, now - settings.rateLimit.perMs);
          const window = starts.get(row.name)!;
          rateLeft = Math.max(0, settings.rateLimit.max - window.n);
          rateOpensAt = (window.oldest ?? now) + settings.rateLimit.perMs;
          room = Math.min(room, rateLeft);
        }
        out.set(row.name, { settings, room, rateLeft, rateOpensAt });
      }
      return out;
    },

    /**
     * Up to `want` due jobs of a queue with a group concurrency, the groups
     * taking turns: every group's first job in the one order, then every
     * group's second, and so on, each group within its own room. Jobs
     * without a group take their turns as one more group, with no cap.
     */
    pickGrouped(queue: string, groupConcurrency: number, want: number, now: number, names: string): JobRow[] {
      if (want <= 0) return [];
      const busy = new Map(runningByGroup.all(queue).map((r) => [r.group, r.n]));
      const turns: JobRow[][] = [];
      const take = (rows: JobRow[]) => rows.forEach((row, turn) => (turns[turn] ??= []).push(row));
      for (let g = nextGroup.get(queue, ''); g; g = nextGroup.get(queue, g.group)) {
        const room = Math.min(want, groupConcurrency - (busy.get(g.group) ?? 0));
        if (room > 0) take(dueInGroup.all(queue, g.group, now, names, room));
      }
      take(dueUngrouped.all(queue, now, names, want));
      const out: JobRow[] = [];
      for (const turn of turns) {
        turn.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id);
        for (const row of turn) {
          if (out.length === want) return out;
          out.push(row);
        }
      }
      return out;
    },

    /** Logs starts of a rate-limited queue, for later leases' windows. */
    started(queue: string, count: number, now: number): void {
      if (count > 0) recordStart.run(queue, now, count);
    },
  };
}

export type QueueLimits = ReturnType<typeof queueLimits>;
