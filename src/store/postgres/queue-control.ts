import pg from 'pg';
import type { JobState } from '../../../machines/job.machine.js';
import type { LeasedJob, LeaseRequest, QueueSettingsChange, QueueStateCounts, StoredQueue } from '../contract.js';
import { jobRules } from '../contract.js';
import { type JobRow, toLeasedJobs } from './rows.js';
import type { Named } from './statements.js';
import type { QueueStatements } from './queue-statements.js';

/** A queues row as the statements read it. */
interface QueueRow {
  name: string;
  paused: boolean;
  concurrency: number | null;
  rate_max: number | null;
  rate_per_ms: number | null;
  group_concurrency: number | null;
  updated_at: number;
}

function toStoredQueue(row: QueueRow): StoredQueue {
  return {
    name: row.name,
    paused: row.paused,
    concurrency: row.concurrency,
    rateLimit: row.rate_max === null || row.rate_per_ms === null ? null : { max: row.rate_max, perMs: row.rate_per_ms },
    groupConcurrency: row.group_concurrency,
    updatedAt: row.updated_at,
  };
}

export interface QueueControlParts {
  pool: () => pg.Pool;
  sql: { [K in keyof QueueStatements]: Named };
  /** The store's statement runner: errors become StoreErrors. */
  query: <R extends pg.QueryResultRow>(via: pg.Pool | pg.PoolClient, what: string, statement: Named, values: unknown[]) => Promise<R[]>;
  /** The store's plain lease statement, run on `client` for one limited queue whose lock it holds. */
  lease: (client: pg.PoolClient, request: LeaseRequest, queue: string, limit: number) => Promise<LeasedJob[]>;
  /** How long the list of limited queues may be trusted without a notification. */
  refreshMs: number;
}

export interface LimitedLease {
  jobs: LeasedJob[];
  /** When a rate limit held due jobs back: when its window next has room. */
  rateOpensAt: number | null;
}

/**
 * Queue settings on Postgres. A lease's main statement passes over paused
 * queues, and limited ones, reading the queues table in its own snapshot.
 * A limited queue is leased here instead, in a transaction that first locks
 * its row (so leases of that queue run one at a time, and leases of other
 * queues never wait), then counts its running jobs and its starts in the
 * rate window with a fresh statement, whose snapshot sees every lease that
 * committed before the lock was granted, and leases what the limits leave.
 */
export class QueueControl {
  /** The limited queues, as last read: which queues need the locked path. */
  private limited: ReadonlySet<string> = new Set();
  private readAt = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(private readonly parts: QueueControlParts) {}

  /** Another process changed settings (or this one may have missed it): read them at the next lease. */
  changed(): void {
    this.readAt = -Infinity;
  }

  async configure(name: string, change: QueueSettingsChange): Promise<StoredQueue> {
    const has = (key: keyof QueueSettingsChange) => change[key] !== undefined;
    const [row] = await this.parts.query<QueueRow>(this.parts.pool(), 'configuring a queue', this.parts.sql.configure, [
      name,
      has('paused'),
      change.paused ?? null,
      has('concurrency'),
      change.concurrency ?? null,
      has('rateLimit'),
      change.rateLimit?.max ?? null,
      change.rateLimit?.perMs ?? null,
      has('groupConcurrency'),
      change.groupConcurrency ?? null,
    ]);
    this.changed();
    return toStoredQueue(row!);
  }

  async list(): Promise<StoredQueue[]> {
    const rows = await this.parts.query<QueueRow>(this.parts.pool(), 'reading queue settings', this.parts.sql.all, []);
    return rows.map(toStoredQueue);
  }

  async counts(): Promise<QueueStateCounts> {
    const rows = await this.parts.query<{ queue: string; state: string; n: number }>(this.parts.pool(), 'counting jobs by queue', this.parts.sql.countsByQueue, []);
    const out: QueueStateCounts = {};
    for (const { queue, state, n } of rows) {
      if (!(jobRules.states as readonly string[]).includes(state)) continue;
      const counts = (out[queue] ??= Object.fromEntries(jobRules.states.map((s) => [s, 0])) as QueueStateCounts[string]);
      counts[state as JobState] = n;
    }
    return out;
  }

  /** The limited queues this request may take from; empty (no round trip) while the list is fresh and has none. */
  async limitedFor(request: LeaseRequest): Promise<string[]> {
    if (Date.now() - this.readAt > this.parts.refreshMs) {
      this.reading ??= this.readLimited().finally(() => (this.reading = null));
      await this.reading;
    }
    if (this.limited.size === 0) return [];
    const served = request.queues ? new Set(request.queues) : null;
    return [...this.limited].filter((q) => (served === null || served.has(q)) && (request.queueRoom[q] ?? Infinity) > 0);
  }

  /** Leases up to `limit` jobs of limited queue `queue`, under its lock. */
  async lease(request: LeaseRequest, queue: string, limit: number): Promise<LimitedLease> {
    const { pool, sql, query } = this.parts;
    const client = await pool().connect();
    let failed = false;
    try {
      await client.query('BEGIN');
      const [row] = await query<QueueRow>(client, 'locking a queue', sql.lock, [queue]);
      const settings = row && toStoredQueue(row);
      if (!settings || settings.paused || (settings.concurrency === null && settings.rateLimit === null && settings.groupConcurrency === null)) {
        await client.query('COMMIT');
        if (!settings || settings.concurrency === null) this.changed();
        return { jobs: [], rateOpensAt: null };
      }
      const perMs = settings.rateLimit?.perMs ?? null;
      const [now] = await query<{ running: number; starts: number; oldest: number | null; now: number }>(client, 'counting a queue', sql.state, [queue, perMs]);
      let room = Math.min(limit, request.queueRoom[queue] ?? Infinity);
      if (settings.concurrency !== null) room = Math.min(room, settings.concurrency - now!.running);
      const rateLeft = settings.rateLimit ? settings.rateLimit.max - now!.starts : Infinity;
      room = Math.max(0, Math.min(room, rateLeft));
      let jobs: LeasedJob[] = [];
      if (room > 0) {
        jobs =
          settings.groupConcurrency === null
            ? await this.parts.lease(client, request, queue, room)
            : await query<JobRow & { leased_from: JobState }>(client, 'leasing jobs of a grouped queue', sql.leaseGrouped, [
                queue,
                request.names,
                room,
                settings.groupConcurrency,
                request.leaseMs,
              ]).then(toLeasedJobs);
        if (settings.rateLimit && jobs.length > 0) await query(client, 'logging starts', sql.recordStarts, [queue, jobs.length, now!.now]);
      }
      await client.query('COMMIT');
      const rateBound = settings.rateLimit !== null && jobs.length >= rateLeft;
      return { jobs, rateOpensAt: rateBound ? (now!.oldest ?? now!.now) + settings.rateLimit!.perMs : null };
    } catch (error) {
      failed = true;
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release(failed);
    }
  }

  private async readLimited(): Promise<void> {
    const startedAt = Date.now();
    const rows = await this.parts.query<{ name: string }>(this.parts.pool(), 'reading limited queues', this.parts.sql.limited, []);
    this.limited = new Set(rows.map((r) => r.name));
    this.readAt = startedAt;
  }
}
