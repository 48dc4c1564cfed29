import { z } from 'zod';
import { type Duration, durationField } from '../duration.js';
import { InvalidOptionError } from '../errors.js';
import { type OptionShape, strictOptions } from '../strict-options.js';
import type { JobKey } from '../store/contract.js';
import { refineUnique, uniqueOf, uniqueOptionShape } from './unique-options.js';

/** Postgres `integer`, so every store can keep it. */
const MAX_PRIORITY = 2 ** 31 - 1;

export const fields = {
  priority: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must not be negative (higher runs first; 0 is the lowest)' })
    .max(MAX_PRIORITY, { error: `must be at most ${MAX_PRIORITY}` }),
  maxRetries: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must not be negative' })
    .max(1_000_000, { error: 'must be at most 1000000' }),
  /** A positive whole number: concurrency, page sizes. */
  count: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(1_000_000, { error: 'must be at most 1000000' }),
  /** A size in bytes, up to 1 GiB. */
  bytes: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .max(2 ** 30, { error: 'must be at most 1 GiB' }),
  queue: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' }),
  /** A group within a queue, for its groupConcurrency: a tenant, a user. */
  group: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' }),
  timeout: durationField(1),
  // Becomes the job's runAt: a time in the store, not a timer.
  delay: durationField(0, 'stored'),
  // Every store can keep it: from 1970 to the end of year 9999.
  runAt: z
    .date({ error: 'must be a valid Date' })
    .min(new Date(0), { error: 'must not be before 1970' })
    .max(new Date(253402300799999), { error: 'must not be after the year 9999' }),
};

/** Options a definition or an enqueue call may set; the narrower one wins. */
export interface JobOptions {
  maxRetries?: number;
  timeout?: Duration;
  queue?: string;
  priority?: number;
}

export interface EnqueueOptions extends JobOptions {
  /** When to run; a Date in the past means now. */
  runAt?: Date;
  /** Run this long from now; not together with `runAt`. */
  delay?: Duration;
  /** A store-specific handle to enqueue through, such as a `pg` client inside the caller's transaction. */
  client?: unknown;
  /**
   * A unique key within the job's name: while a job of that name with this
   * key is waiting or running, another enqueue with it makes no second job
   * (see docs/unique-jobs.md).
   */
  key?: string;
  /** With `key`, when the key is held: answer the holder (`ignore`, the default), replace a waiting holder's input, runAt and priority (`replace`), or throw a JobKeyConflictError (`error`). */
  onConflict?: 'ignore' | 'replace' | 'error';
  /** With `key`: the key stays held this long after its job comes to rest. Default 0. */
  keepFor?: Duration;
  /** With `key`: run once, this long after the last enqueue with the key, with the last input. */
  debounce?: Duration;
  /** The group within its queue (a tenant, a user): the queue's `groupConcurrency` caps each group's running jobs. */
  group?: string;
}

/** Options after parsing: durations in ms, nothing left to check. */
export interface ResolvedOptions {
  maxRetries?: number;
  timeoutMs?: number;
  queue?: string;
  priority?: number;
}

// A new option in JobOptions or EnqueueOptions is a compile error here until it has a schema.
const jobOptionShape = {
  maxRetries: fields.maxRetries.optional(),
  timeout: fields.timeout.optional(),
  queue: fields.queue.optional(),
  priority: fields.priority.optional(),
} satisfies OptionShape<JobOptions>;

const enqueueOptionShape = {
  ...jobOptionShape,
  runAt: fields.runAt.optional(),
  delay: fields.delay.optional(),
  client: z.unknown().optional(),
  ...uniqueOptionShape,
  group: fields.group.optional(),
} satisfies OptionShape<EnqueueOptions>;

const enqueueOptionsSchema = strictOptions(enqueueOptionShape, 'enqueue')
  .refine((o) => o.runAt === undefined || o.delay === undefined, {
    message: 'give runAt or delay, not both',
    path: ['delay'],
  })
  .superRefine(refineUnique);

export const jobOptionsSchema = z.object(jobOptionShape);

/** Parses with zod and turns the first problem into an InvalidOptionError naming its field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // An unknown key's issue sits on the object holding it; the key itself completes the path.
  const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
  const path = [...issue.path, ...keys.slice(0, 1)].map(String);
  const field = [prefix, ...path].filter(Boolean).join('.');
  throw new InvalidOptionError(field || prefix, issue.message);
}

export interface ParsedEnqueueOptions extends ResolvedOptions {
  runAt?: number;
  delayMs?: number;
  client?: unknown;
  unique?: JobKey;
  /** With `unique`: runAt is now plus this. */
  debounceMs?: number;
  group?: string;
}

export function parseEnqueueOptions(options: EnqueueOptions | undefined): ParsedEnqueueOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', 'must be an object');
  }
  const parsed = parseOrThrow(enqueueOptionsSchema, options, 'options');
  return {
    maxRetries: parsed.maxRetries,
    timeoutMs: parsed.timeout,
    queue: parsed.queue,
    priority: parsed.priority,
    runAt: parsed.runAt?.getTime(),
    delayMs: parsed.delay,
    client: parsed.client,
    ...(parsed.key === undefined ? {} : uniqueOf({ ...parsed, key: parsed.key })),
    group: parsed.group,
  };
}

export function parseJobOptions(options: JobOptions, prefix: string): ResolvedOptions {
  const parsed = parseOrThrow(jobOptionsSchema, options, prefix);
  return {
    maxRetries: parsed.maxRetries,
    timeoutMs: parsed.timeout,
    queue: parsed.queue,
    priority: parsed.priority,
  };
}
