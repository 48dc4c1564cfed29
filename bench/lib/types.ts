/** What a bench handler is told: which job (its index). */
export type JobHandler = (i: number) => unknown;

export interface OpenOptions {
  /** Concurrency of the worker this adapter will start (some engines fix it at creation). */
  concurrency: number;
  /** Jobs get the engine's minimal retry settings: one retry, no backoff (or the least it allows). */
  retry: boolean;
  /** Wipe the queue first; false keeps a backlog left by an earlier run. */
  reset: boolean;
  /** A rate limit on the queue, enforced across workers: at most `max` starts in any `perMs`. */
  rateLimit?: { max: number; perMs: number };
}

/**
 * One engine on one store, behind the few verbs the scenarios need. Every
 * verb uses the engine's public API as its docs show it.
 */
export interface Adapter {
  /** The settings this engine runs with, written into the results. */
  readonly settings: Record<string, unknown>;
  /** A worker that finds new jobs by polling says how often, so pickup samples can land anywhere in its cycle. */
  readonly pollMs?: number;
  open(options: OpenOptions): Promise<void>;
  /** One job, awaited: a single enqueue call. */
  enqueue(i: number): Promise<void>;
  /** One job with a unique key (the engine's deduplication), awaited; absent where not wired. */
  enqueueKeyed?(i: number, key: string): Promise<void>;
  /**
   * One job ahead of everything waiting, awaited: the engine's highest
   * priority in its own terms (see docs/performance.md for each).
   */
  enqueueUrgent(i: number): Promise<void>;
  /** Jobs from..from+count-1 in one bulk call. */
  enqueueBulk(from: number, count: number): Promise<void>;
  /** The quickest way to put `count` jobs in the queue before a timed run (chunks of bulk calls). */
  fill(from: number, count: number): Promise<void>;
  /** Starts one worker in this process; `handler` runs for every job attempt. */
  startWorker(handler: JobHandler): Promise<void>;
  /** Jobs in the queue not yet completed (waiting, running or waiting to retry). */
  remaining(): Promise<number>;
  /** Stops the worker (if any) and closes connections. */
  close(): Promise<void>;
}

/** Thrown when a target cannot run here; the reason goes into the report. */
export class Unavailable extends Error {
  override name = 'Unavailable';
}

export type TargetId =
  | 'memory'
  | 'sqlite'
  | 'postgres'
  | 'bullmq'
  | 'pgboss'
  | 'pgboss-batch'
  | 'graphile'
  | 'graphile-batch'
  | 'xstate';

export type StoreKind = 'memory' | 'sqlite' | 'postgres' | 'redis' | 'none';

export interface MeasureSpec {
  target: TargetId;
  scenario: string;
  /** Scenario parameters: counts, concurrency, time caps. */
  params: Record<string, number>;
  run: number;
  /** For backlog runs: whether to wipe the queue before topping it up. */
  reset: boolean;
  /**
   * A helper process the measuring one forks: a producer only enqueues when
   * told to (remote pickup latency); a worker runs jobs when told to and
   * reports which (scale-out).
   */
  role?: 'producer' | 'worker';
}

export type ChildResult =
  | { ok: true; metrics: Record<string, number>; settings: Record<string, unknown>; notes?: string[] }
  | { ok: false; unavailable?: string; error?: string; settings?: Record<string, unknown> };
