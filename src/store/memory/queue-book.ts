import {
  changedSettings,
  isDefault,
  isLimited,
  jobRules,
  NO_QUEUE_SETTINGS,
  type QueueSettingsChange,
  type QueueStateCounts,
  type StoredJob,
  type StoredQueue,
} from '../contract.js';

/** A group's key in the counts: jobs without a group are counted under this. */
const NO_GROUP = '\u0000';
const groupKey = (group: string | null) => group ?? NO_GROUP;

/** What a lease may take from one queue under its settings, worked out when the lease begins. */
export interface QueueRoom {
  /** Jobs the queue may start now: Infinity when uncapped, 0 when paused or full. */
  room: number;
  /** Starts the rate limit leaves: Infinity without one. */
  rateLeft: number;
  /** With a rate limit: when its window next has room once this lease's starts are in it. */
  rateOpensAt: number | null;
  /** Room per group, when the queue has a groupConcurrency. */
  groupRoom: ((group: string | null) => number) | null;
}

const OPEN: QueueRoom = Object.freeze({ room: Infinity, rateLeft: Infinity, rateOpensAt: null, groupRoom: null });

/**
 * The memory store's queue settings, and what they need kept: running jobs
 * per queue and per group, and start times for a rate limit, for queues
 * that have a limit only, so queues without settings cost nothing.
 */
export class QueueBook {
  private readonly settings = new Map<string, StoredQueue>();
  private readonly running = new Map<string, Map<string, number>>();
  private readonly starts = new Map<string, StartLog>();

  /** Queues paused or limited now. */
  private binding = 0;

  /** Whether no queue is paused or limited: then leases take the path they always took. */
  get empty(): boolean {
    return this.binding === 0;
  }

  list(): StoredQueue[] {
    return [...this.settings.values()].map((q) => ({ ...q, rateLimit: q.rateLimit && { ...q.rateLimit } }));
  }

  /** Applies a change; `jobs` are read to count the running ones of a queue that becomes limited. */
  configure(name: string, change: QueueSettingsChange, now: number, jobs: Iterable<StoredJob>): StoredQueue {
    const before = this.settings.get(name);
    const settings = changedSettings(before ?? NO_QUEUE_SETTINGS, change);
    const stored: StoredQueue = { name, ...settings, rateLimit: settings.rateLimit && { ...settings.rateLimit }, updatedAt: now };
    // Kept even when all defaults: a queue once configured stays listed with what it has.
    this.settings.set(name, stored);
    this.binding += (isDefault(settings) ? 0 : 1) - (before && !isDefault(before) ? 1 : 0);
    if (!isLimited(settings)) {
      this.running.delete(name);
      this.starts.delete(name);
    } else if (!this.running.has(name)) {
      const counts = new Map<string, number>();
      for (const job of jobs) if (job.queue === name && job.state === jobRules.leased) bump(counts, job.group, 1);
      this.running.set(name, counts);
    }
    if (settings.rateLimit === null) this.starts.delete(name);
    else if (!this.starts.has(name)) this.starts.set(name, { times: [], head: 0 });
    return { ...stored, rateLimit: stored.rateLimit && { ...stored.rateLimit } };
  }

  /** What a lease may take from `queue` now. */
  roomOf(queue: string, now: number): QueueRoom {
    const settings = this.settings.get(queue);
    if (!settings) return OPEN;
    if (settings.paused) return { room: 0, rateLeft: Infinity, rateOpensAt: null, groupRoom: null };
    let room = Infinity;
    let rateLeft = Infinity;
    let rateOpensAt: number | null = null;
    const running = this.running.get(queue);
    if (settings.concurrency !== null) room = Math.max(0, settings.concurrency - total(running));
    const { rateLimit, groupConcurrency } = settings;
    if (rateLimit) {
      const log = this.starts.get(queue)!;
      // Starts older than the window no longer count; the array is cut down only now and then, as a
      // splice per lease would move the whole window each time.
      while (log.head < log.times.length && log.times[log.head]! <= now - rateLimit.perMs) log.head++;
      if (log.head > 1024 && log.head * 2 > log.times.length) {
        log.times = log.times.slice(log.head);
        log.head = 0;
      }
      rateLeft = Math.max(0, rateLimit.max - (log.times.length - log.head));
      room = Math.min(room, rateLeft);
      rateOpensAt = (log.times[log.head] ?? now) + rateLimit.perMs;
    }
    const groupRoom =
      groupConcurrency === null ? null : (group: string | null) => (group === null ? Infinity : Math.max(0, groupConcurrency - (running?.get(group) ?? 0)));
    return { room, rateLeft, rateOpensAt, groupRoom };
  }

  /** Whether leases and outcomes of `queue`'s jobs must be counted. */
  tracks(queue: string): boolean {
    return this.running.has(queue);
  }

  started(queue: string, group: string | null, now: number): void {
    const running = this.running.get(queue);
    if (running) bump(running, group, 1);
    this.starts.get(queue)?.times.push(now);
  }

  /** A job of a tracked queue left running. */
  stopped(queue: string, group: string | null): void {
    const running = this.running.get(queue);
    if (running) bump(running, group, -1);
  }

  /** Whether a job of `queue` leaving running may make room another worker waits for. */
  capsRunning(queue: string): boolean {
    const settings = this.settings.get(queue);
    return settings !== undefined && (settings.concurrency !== null || settings.groupConcurrency !== null);
  }
}

/** A rate-limited queue's start times in order; those before `head` have left the window. */
interface StartLog {
  times: number[];
  head: number;
}

function bump(counts: Map<string, number>, group: string | null, by: number): void {
  const key = groupKey(group);
  const n = (counts.get(key) ?? 0) + by;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}

function total(counts: Map<string, number> | undefined): number {
  let n = 0;
  if (counts) for (const c of counts.values()) n += c;
  return n;
}

/** Counts by state of each queue that has jobs. */
export function countByQueue(jobs: Iterable<StoredJob>): QueueStateCounts {
  const out: QueueStateCounts = {};
  for (const job of jobs) {
    const counts = (out[job.queue] ??= Object.fromEntries(jobRules.states.map((s) => [s, 0])) as QueueStateCounts[string]);
    counts[job.state]++;
  }
  return out;
}
