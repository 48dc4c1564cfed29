import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { jobRules, type LeasedJob, type LeaseRequest, type LeaseResult } from '../contract.js';
import { SQL } from './queries.js';
import { type QueueLimit, queueLimits } from './queue-limits.js';
import { type JobRow, toStoredJob } from './rows.js';
import type { WorkerRefs } from './worker-refs.js';

interface Lane {
  priority: number;
  queue: string;
  name: string;
}

/**
 * Builds the lease operation: one write transaction (BEGIN IMMEDIATE), so two
 * callers, in this process or another, never take the same job.
 *
 * Leasable rows are walked one lane (priority, queue, name) at a time, lanes
 * in priority order, through the partial index on (priority DESC, queue,
 * name, run_at). Within a lane the due rows come first, so each lane costs an
 * index seek plus the rows taken: neither jobs scheduled for later at a
 * higher priority, nor the backlog of a queue that has no room, nor jobs of a
 * name or queue the caller does not take are read row by row.
 */
export function leaseOperation(db: Database, synchronous: 'full' | 'normal', workers: WorkerRefs): (request: LeaseRequest) => LeaseResult {
  const firstLane = db.prepare<[], Lane>(SQL.firstLane);
  const nextName = db.prepare<[number, string, string], { name: string }>(SQL.nextName);
  const nextQueue = db.prepare<[number, string], { queue: string; name: string }>(SQL.nextQueue);
  const nextPriority = db.prepare<[number], Lane>(SQL.nextPriority);
  const dueInLane = db.prepare<[number, string, string, number, number], JobRow>(SQL.dueInLane);
  const firstLaterInLane = db.prepare<[number, string, string, number], { run_at: number }>(SQL.firstLaterInLane);
  const take = db.prepare<{ token: string; deadline: number; now: number; id: number; worker: number }>(SQL.take);
  const takeBare = db.prepare<{ token: string; deadline: number; now: number; id: number }>(SQL.takeBare);
  const limitsOf = queueLimits(db);

  /** The lane after this one; past the rest of its queue at once when the queue is not served. */
  const laneAfter = (lane: Lane, queueServed: boolean): Lane | undefined => {
    const { priority, queue, name } = lane;
    const sameQueue = queueServed ? nextName.get(priority, queue, name) : undefined;
    if (sameQueue) return { priority, queue, name: sameQueue.name };
    const sibling = nextQueue.get(priority, queue);
    return sibling ? { priority, queue: sibling.queue, name: sibling.name } : nextPriority.get(priority);
  };

  const lease = db.transaction((request: LeaseRequest, worker: number | null): LeaseResult => {
    // Read once the write lock is held: a wait for another process must not age the deadline.
    const now = Date.now();
    const { limit } = request;
    // Queue settings, read under the write lock: a pause or a limit holds for every lease after its commit.
    const limits = limitsOf.read(now);
    const queueRoom = limits ? roomUnder(request.queueRoom, limits) : request.queueRoom;
    const names = new Set(request.names);
    const queues = request.queues ? new Set(request.queues) : null;
    const taken = new Map<string, number>();
    const roomIn = (queue: string) => {
      const room = queueRoom[queue];
      return room === undefined ? Infinity : room - (taken.get(queue) ?? 0);
    };
    const chosen: JobRow[] = [];
    /** The lanes this request may take from, visited so far. */
    const lanes: Lane[] = [];
    let lane = limit > 0 ? firstLane.get() : undefined;
    while (lane && chosen.length < limit) {
      // Every lane of one priority, merged by runAt then enqueue order.
      const priority = lane.priority;
      const candidates: JobRow[] = [];
      while (lane && lane.priority === priority) {
        const queueServed = queues === null || queues.has(lane.queue);
        if (queueServed && names.has(lane.name)) {
          lanes.push(lane);
          const want = Math.min(roomIn(lane.queue), limit - chosen.length);
          // A loop, not a spread: a lease may be as large as the concurrency, too many for function arguments.
          if (want > 0) for (const row of dueInLane.all(lane.priority, lane.queue, lane.name, now, want)) candidates.push(row);
        }
        lane = laneAfter(lane, queueServed);
      }
      candidates.sort((a, b) => a.run_at - b.run_at || a.id - b.id);
      for (const row of candidates) {
        if (chosen.length === limit) break;
        if (roomIn(row.queue) <= 0) continue;
        chosen.push(row);
        taken.set(row.queue, (taken.get(row.queue) ?? 0) + 1);
      }
    }

    if (limits) {
      for (const [queue, { settings, room }] of limits) {
        if (settings.groupConcurrency === null || (queues && !queues.has(queue))) continue;
        const want = Math.min(room, request.queueRoom[queue] ?? Infinity, limit - chosen.length);
        for (const row of limitsOf.pickGrouped(queue, settings.groupConcurrency, want, now, JSON.stringify(request.names))) {
          chosen.push(row);
          taken.set(queue, (taken.get(queue) ?? 0) + 1);
        }
      }
      for (const [queue, { settings }] of limits) if (settings.rateLimit) limitsOf.started(queue, taken.get(queue) ?? 0, now);
    }

    const token = randomUUID();
    const deadline = now + request.leaseMs;
    const jobs = chosen.map((row): LeasedJob => {
      if (worker === null) takeBare.run({ token, deadline, now, id: row.id });
      else take.run({ token, deadline, now, id: row.id, worker });
      const job = toStoredJob(row) as LeasedJob;
      job.leasedFrom = job.state;
      job.state = jobRules.leased;
      job.attempt = row.attempt + jobRules.attemptsPerLease;
      job.leaseToken = token;
      job.leaseExpiresAt = deadline;
      job.updatedAt = now;
      return job;
    });

    if (jobs.length === limit) return { jobs, nextRunAt: null };
    // Short: every lane was visited, so the earliest later job it could take is among their heads.
    let nextRunAt: number | null = null;
    for (const { priority, queue, name } of lanes) {
      const later = firstLaterInLane.get(priority, queue, name, now);
      if (later && (nextRunAt === null || later.run_at < nextRunAt)) nextRunAt = later.run_at;
    }
    // A rate limit holding due jobs back: look again when its window has room.
    if (limits) for (const [queue, l] of limits) if (l.rateOpensAt !== null && (taken.get(queue) ?? 0) >= l.rateLeft) nextRunAt = Math.min(nextRunAt ?? Infinity, l.rateOpensAt);
    return { jobs, nextRunAt };
  }).immediate;

  const run = synchronous === 'normal' ? lease : relaxed(db, lease);
  // Nothing it could take: not even the write lock. The worker is named before the transaction (see worker-refs.ts).
  return (request) => (request.names.length === 0 ? { jobs: [], nextRunAt: null } : run(request, workers.refOf(request.worker)));
}

/** The caller's room per queue, less what each queue's settings leave; a grouped queue is picked apart from the walk. */
function roomUnder(asked: Readonly<Record<string, number>>, limits: ReadonlyMap<string, QueueLimit>): Record<string, number> {
  const room = { ...asked };
  for (const [queue, limit] of limits) {
    room[queue] = Math.min(room[queue] ?? Infinity, limit.settings.groupConcurrency === null ? limit.room : 0);
  }
  return room;
}

/**
 * A lease lost to a power cut only puts its jobs back in the queue (the reaper's work anyway), so
 * its commit need not wait for fsync; enqueues and outcome writes keep synchronous = FULL.
 */
type Lease = (request: LeaseRequest, worker: number | null) => LeaseResult;

function relaxed(db: Database, lease: Lease): Lease {
  const relax = db.prepare('PRAGMA synchronous = NORMAL');
  const restore = db.prepare('PRAGMA synchronous = FULL');
  return (request, worker) => {
    relax.run();
    try {
      return lease(request, worker);
    } finally {
      restore.run();
    }
  };
}
