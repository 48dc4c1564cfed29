import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { BackoffStrategy } from '../backoff/backoff.js';
import { defaultBackoff } from '../backoff/backoff.js';
import { type Duration, describe, toMs } from '../duration.js';
import { InvalidOptionError, StoreConfigError } from '../errors.js';
import { fields, type JobOptions, parseJobOptions, parseOrThrow, type ResolvedOptions } from '../job/options.js';
import { STORE_METHODS, type Store } from '../store/contract.js';
import { memoryStore } from '../store/memory/memory-store.js';
import { optionKeys, refuseUnknownKeys } from '../strict-options.js';
import type { Inspect } from '../worker/mirror.js';
import { parseServe } from './serve.js';
import { parseRetention, type ResolvedRetention, type RetentionOptions } from '../maintenance/retention.js';
import { type Clock, systemClock } from '../clock.js';
import { type Meter, type MeterProvider, metrics, type Tracer, type TracerProvider, trace } from '@opentelemetry/api';
import { defaultLogger, engineLogger, isLogger, type Logger, silentLogger } from '../observability/logger.js';

export interface DispatcherOptions extends JobOptions {
  /** Where jobs live. Default: an in-memory store (nothing survives the process). */
  store?: Store;
  /** Jobs run at once by this process. Default 10. */
  concurrency?: number;
  /**
   * Jobs leased beyond `concurrency`, waiting here for a free handler, so the
   * next lease overlaps the running jobs instead of following them. Worth it
   * for short jobs on a store a round trip away (Postgres). A prefetched job
   * counts an attempt when leased and is `running` in the store while it
   * waits; its timeout starts when its handler does. Default 0.
   */
  prefetch?: number;
  /** Per-queue limits inside `concurrency`, e.g. `{ mail: { concurrency: 2 } }`. */
  queues?: Record<string, QueueOptions>;
  /**
   * The queues this worker leases from, e.g. `['mail']`. Default: every queue.
   * Either way it leases only jobs it has a registered definition for; others
   * wait in `pending` for a worker that has.
   */
  serve?: readonly string[];
  /** Backoff for definitions that name none. Default: exponential, full jitter, 1s up to 60s. */
  backoff?: BackoffStrategy;
  /** How long a lease lasts without a heartbeat. Default 30s. */
  lease?: Duration;
  /** How often held leases are extended. Default a third of `lease`. */
  heartbeat?: Duration;
  /** How often expired leases (of dead workers) are looked for. Default half of `lease`. */
  reapInterval?: Duration;
  /** The largest input (and result) accepted, in bytes of JSON. Default 1 MiB. */
  maxPayloadBytes?: number;
  /**
   * An inspection observer, as xstate's `createActor` takes (for example
   * `createBrowserInspector().inspect` from @statelyai/inspect): the
   * supervisor and every job this process runs are shown as live actors,
   * from lease to rest. Without it, jobs have no actors and cost nothing more.
   */
  inspect?: Inspect;
  /**
   * How long finished jobs are kept: completed and cancelled 3 days, failed
   * and dead-lettered 30 days by default; `false` keeps everything. See
   * docs/retention.md.
   */
  retention?: RetentionOptions | false;
  /**
   * Told of failures outside any job (a lease or write the store refused),
   * beside the logger. Given without a `logger`, it replaces the console's
   * error lines, as before there was a logger.
   */
  onError?: (error: unknown, context: string) => void;
  /**
   * Where the engine logs: errors outside any job, and lines on start, stop
   * and drain. A pino logger fits. Default: errors to the console, nothing
   * under a test runner (NODE_ENV=test); nothing at all when `onError` is given.
   */
  logger?: Logger;
  /** Where metrics are recorded (see docs/observability.md). Default: OpenTelemetry's global one, a no-op until an SDK registers one. */
  meterProvider?: MeterProvider;
  /** Where each attempt's span goes. Default: OpenTelemetry's global one, a no-op until an SDK registers one. */
  tracerProvider?: TracerProvider;
  /**
   * Where the engine reads the time and sets its timers. The system's by
   * default; `createTestDispatcher` from `dispatch-ts/testing` gives a fake
   * one, so tests move time instead of waiting for it.
   */
  clock?: Clock;
  /**
   * This process's id in job histories: each step its worker (or reaper)
   * takes is kept with it. Default `${hostname}:${pid}:${6 random hex}`; at
   * most 200 characters.
   */
  workerId?: string;
  /**
   * Whether job steps are kept in the store, for `jobs.history(id)` (see
   * docs/history.md). Default true; false writes no entry, and
   * `jobs.history` answers [].
   */
  history?: boolean;
}

export interface QueueOptions {
  /** Jobs of this queue run at once by this process, within the dispatcher's `concurrency`. */
  concurrency?: number;
}

export interface StopOptions {
  /** How long running jobs may take to finish before they are aborted and given back. Default 10s. */
  grace?: Duration;
}

// Unknown keys are refused. A new option in one of these interfaces is a compile error here until it is listed.
const dispatcherKeys = optionKeys<DispatcherOptions>({
  store: true,
  concurrency: true,
  prefetch: true,
  queues: true,
  backoff: true,
  lease: true,
  heartbeat: true,
  reapInterval: true,
  maxPayloadBytes: true,
  onError: true,
  logger: true,
  meterProvider: true,
  tracerProvider: true,
  inspect: true,
  clock: true,
  serve: true,
  retention: true,
  workerId: true,
  history: true,
  maxRetries: true,
  timeout: true,
  queue: true,
  priority: true,
});
const queueKeys = optionKeys<QueueOptions>({ concurrency: true });
const stopKeys = optionKeys<StopOptions>({ grace: true });

const DEFAULTS = { maxRetries: 3, queue: 'default', priority: 0, timeoutMs: 5 * 60_000 };

/** A dispatcher's options, checked, with every default filled in. */
export interface Settings {
  store: Store;
  concurrency: number;
  prefetch: number;
  queueLimits: Record<string, number>;
  serve: readonly string[] | undefined;
  /** Job options for definitions and enqueues that give none. */
  defaults: Required<ResolvedOptions>;
  backoff: BackoffStrategy;
  leaseMs: number;
  heartbeatMs: number;
  reapMs: number;
  maxPayloadBytes: number;
  /** Null: retention is off. */
  retention: ResolvedRetention | null;
  inspect: Inspect | undefined;
  onError: ((error: unknown, context: string) => void) | null;
  logger: Logger;
  meter: Meter;
  tracer: Tracer;
  clock: Clock;
  workerId: string;
  /** Whether steps are kept in job histories. */
  history: boolean;
}

/** The instrumentation scope metrics and spans are recorded under. */
export const INSTRUMENTATION_SCOPE = 'dispatch-ts';
/** The longest worker id taken: it is stored with every step. */
export const MAX_WORKER_ID = 200;

/** Checks `createDispatcher`'s options; throws an InvalidOptionError naming the first that is wrong. */
export function parseSettings(options: DispatcherOptions): Settings {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'must be an object');
  refuseUnknownKeys(options, dispatcherKeys, 'options', 'createDispatcher');
  const concurrency = parseOrThrow(fields.count, options.concurrency ?? 10, 'concurrency');
  const prefetch = options.prefetch === undefined ? 0 : parseOrThrow(fields.maxRetries, options.prefetch, 'prefetch');
  const queueLimits: Record<string, number> = {};
  if (options.queues !== undefined && (options.queues === null || typeof options.queues !== 'object')) {
    throw new InvalidOptionError('options.queues', 'must be an object such as { mail: { concurrency: 2 } }');
  }
  for (const [queue, config] of Object.entries(options.queues ?? {})) {
    if (config !== undefined && (config === null || typeof config !== 'object')) {
      throw new InvalidOptionError(`options.queues.${queue}`, 'must be an object such as { concurrency: 2 }');
    }
    refuseUnknownKeys(config, queueKeys, `options.queues.${queue}`, 'a queue in createDispatcher');
    if (config?.concurrency === undefined) continue;
    queueLimits[queue] = parseOrThrow(fields.count, config.concurrency, `queues.${queue}.concurrency`);
  }
  const serve = parseServe(options.serve);
  const { maxRetries, timeout, queue, priority } = options;
  const parsed = parseJobOptions({ maxRetries, timeout, queue, priority }, 'options');
  if (options.backoff !== undefined && typeof options.backoff !== 'function') {
    throw new InvalidOptionError('backoff', 'must be a backoff strategy function');
  }
  const leaseMs = positive(options.lease ?? '30s', 'lease');
  const heartbeatMs = positive(options.heartbeat ?? Math.max(1, Math.floor(leaseMs / 3)), 'heartbeat');
  if (heartbeatMs >= leaseMs) throw new InvalidOptionError('heartbeat', 'must be shorter than lease');
  const reapMs = positive(options.reapInterval ?? Math.max(1, Math.floor(leaseMs / 2)), 'reapInterval');
  const maxPayloadBytes = parseOrThrow(fields.bytes, options.maxPayloadBytes ?? 1024 * 1024, 'maxPayloadBytes');
  if (options.inspect !== undefined && typeof options.inspect !== 'function' && (options.inspect === null || typeof options.inspect !== 'object')) {
    throw new InvalidOptionError('inspect', 'must be an inspection observer: a function of an inspection event, or an object with next()');
  }
  const clock = options.clock ?? systemClock;
  if (!hasMethods(clock, ['now', 'setTimeout', 'clearTimeout'])) {
    throw new InvalidOptionError('clock', 'must be an object with now(), setTimeout(run, ms) and clearTimeout(handle)');
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new InvalidOptionError('onError', 'must be a function (error, context) => void');
  }
  if (options.logger !== undefined && !isLogger(options.logger)) {
    throw new InvalidOptionError('logger', 'must have error, warn, info and debug methods, as a pino logger has');
  }
  if (options.meterProvider !== undefined && !hasMethods(options.meterProvider, ['getMeter'])) {
    throw new InvalidOptionError('meterProvider', 'must be an OpenTelemetry MeterProvider, with getMeter()');
  }
  if (options.tracerProvider !== undefined && !hasMethods(options.tracerProvider, ['getTracer'])) {
    throw new InvalidOptionError('tracerProvider', 'must be an OpenTelemetry TracerProvider, with getTracer()');
  }
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  if (typeof workerId !== 'string' || workerId.length === 0 || workerId.length > MAX_WORKER_ID) {
    throw new InvalidOptionError('workerId', `must be a non-empty string of at most ${MAX_WORKER_ID} characters`);
  }
  if (options.history !== undefined && typeof options.history !== 'boolean') throw new InvalidOptionError('history', 'must be true or false');
  if (options.store !== undefined && !isStore(options.store)) {
    throw new StoreConfigError(
      'store',
      `must be a store, such as sqliteStore({ path }) or postgresStore({ connectionString }); got ${describe(options.store)}`,
    );
  }
  return {
    store: options.store ?? memoryStore(),
    concurrency,
    prefetch,
    queueLimits,
    serve,
    defaults: {
      maxRetries: parsed.maxRetries ?? DEFAULTS.maxRetries,
      timeoutMs: parsed.timeoutMs ?? DEFAULTS.timeoutMs,
      queue: parsed.queue ?? DEFAULTS.queue,
      priority: parsed.priority ?? DEFAULTS.priority,
    },
    backoff: options.backoff ?? defaultBackoff,
    leaseMs,
    heartbeatMs,
    reapMs,
    maxPayloadBytes,
    retention: parseRetention(options.retention),
    inspect: options.inspect,
    onError: options.onError ?? null,
    logger: engineLogger(options.logger ?? (options.onError ? silentLogger : defaultLogger())),
    meter: (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE),
    tracer: (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE),
    clock,
    workerId,
    history: options.history ?? true,
  };
}

/** Checks `stop()`'s options; answers the grace in ms. */
export function parseStop(options: StopOptions): number {
  refuseUnknownKeys(options, stopKeys, 'options', 'stop');
  return toMs(options.grace ?? '10s', 'grace');
}

/** Whether `value` has the store contract's methods: a URL or a path given in its place is caught here, not at the first enqueue. */
function isStore(value: unknown): value is Store {
  return hasMethods(value, STORE_METHODS);
}

/** Whether `value` is an object with a function under each of `names`. */
function hasMethods(value: unknown, names: readonly string[]): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const methods = value as Record<string, unknown>;
  return names.every((name) => typeof methods[name] === 'function');
}

function positive(value: Duration, field: string): number {
  const ms = toMs(value, field);
  if (ms <= 0) throw new InvalidOptionError(field, 'must be longer than 0 ms');
  return ms;
}
