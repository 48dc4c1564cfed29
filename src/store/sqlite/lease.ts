import { randomUUID } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { LeasedJob, LeaseRequest, LeaseResult } from '../contract.js';
import { SQL } from './queries.js';
import { type JobRow, toStoredJob } from './rows.js';

interface Lane {
  priority: number;
  queue: string;
}

/**
 * Builds the lease operation: one write transaction (BEGIN IMMEDIATE), so two
 * callers, in this process or another, never take the same job.
 *
 * Leasable rows are walked one lane (priority, queue) at a time, lanes in
 * priority order, through the partial index on (priority DESC, queue, run_at).
 * Within a lane the due rows come first, so each lane costs an index seek
 * plus the rows taken: neither jobs scheduled for later at a higher priority
 * nor the backlog of a queue that has no room are read row by row.
 */
export function leaseOperation(db: Database, synchronous: 'full' | 'normal'): (request: LeaseRequest) => LeaseResult {
  const firstLane = db.prepare<[], Lane>(SQL.firstLane);
  const nextQueue = db.prepare<[number, string], { queue: string }>(SQL.nextQueue);
  const nextPriority = db.prepare<[number], Lane>(SQL.nextPriority);
  const dueInLane = db.prepare<[number, string, number, number], JobRow>(SQL.dueInLane);
  const firstLaterInLane = db.prepare<[number, string, number], { run_at: number }>(SQL.firstLaterInLane);
  const take = db.prepare<[string, number, number, number]>(SQL.take);

  const laneAfter = (lane: Lane): Lane | undefined => {
    const sibling = nextQueue.get(lane.priority, lane.queue);
    return sibling ? { priority: lane.priority, queue: sibling.queue } : nextPriority.get(lane.priority);
  };

  const lease = db.transaction((request: LeaseRequest): LeaseResult => {
    // Read once the write lock is held: a wait for another process must not age the deadline.
    const now = Date.now();
    const { limit, queueRoom } = request;
    const taken = new Map<string, number>();
    const roomIn = (queue: string) => {
      const room = queueRoom[queue];
      return room === undefined ? Infinity : room - (taken.get(queue) ?? 0);
    };
    const chosen: JobRow[] = [];
    const lanes: Lane[] = [];
    let lane = limit > 0 ? firstLane.get() : undefined;
    while (lane && chosen.length < limit) {
      // Every lane of one priority, merged by runAt then enqueue order.
      const priority = lane.priority;
      const candidates: JobRow[] = [];
      for (; lane && lane.priority === priority; lane = laneAfter(lane)) {
        lanes.push(lane);
        const want = Math.min(roomIn(lane.queue), limit - chosen.length);
        if (want <= 0) continue;
        // A loop, not a spread: a lease may be as large as the concurrency, too many for function arguments.
        for (const row of dueInLane.all(lane.priority, lane.queue, now, want)) candidates.push(row);
      }
      candidates.sort((a, b) => a.run_at - b.run_at || a.id - b.id);
      for (const row of candidates) {
        if (chosen.length === limit) break;
        if (roomIn(row.queue) <= 0) continue;
        chosen.push(row);
        taken.set(row.queue, (taken.get(row.queue) ?? 0) + 1);
      }
    }

    const token = randomUUID();
    const deadline = now + request.leaseMs;
    const jobs = chosen.map((row): LeasedJob => {
      take.run(token, deadline, now, row.id);
      const job = toStoredJob(row) as LeasedJob;
      job.leasedFrom = job.state;
      job.state = 'running';
      job.attempt = row.attempt + 1;
      job.leaseToken = token;
      job.leaseExpiresAt = deadline;
      job.updatedAt = now;
      return job;
    });

    if (jobs.length === limit) return { jobs, nextRunAt: null };
    // Short: every lane was visited, so the earliest later job is among their heads.
    let nextRunAt: number | null = null;
    for (const { priority, queue } of lanes) {
      const later = firstLaterInLane.get(priority, queue, now);
      if (later && (nextRunAt === null || later.run_at < nextRunAt)) nextRunAt = later.run_at;
    }
    return { jobs, nextRunAt };
  }).immediate;

  if (synchronous === 'normal') return lease;
  // A lease lost to a power cut only puts its jobs back in the queue (the reaper's work anyway), so
  // its commit need not wait for fsync; enqueues and outcome writes keep synchronous = FULL.
  const relax = db.prepare('PRAGMA synchronous = NORMAL');
  const restore = db.prepare('PRAGMA synchronous = FULL');
  return (request) => {
    relax.run();
    try {
      return lease(request);
    } finally {
      restore.run();
    }
  };
}
