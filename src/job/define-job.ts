import { z } from 'zod';
import type { BackoffStrategy } from '../backoff/backoff.js';
import { InvalidOptionError } from '../errors.js';
import { optionKeys, refuseUnknownKeys } from '../strict-options.js';
import { fields, type JobOptions, parseJobOptions, parseOrThrow, type ResolvedOptions } from './options.js';

/** What a handler is told about the job it runs. */
export interface JobInfo {
  id: string;
  name: string;
  queue: string;
  priority: number;
  attempt: number;
  maxRetries: number;
  runAt: Date;
  createdAt: Date;
}

export interface HandlerContext {
  /** Aborted on timeout, cancel, shutdown or a lost lease; `signal.reason` says which. */
  signal: AbortSignal;
  /** 1 on the first attempt. */
  attempt: number;
  job: JobInfo;
}

export type Handler<I> = (input: I, ctx: HandlerContext) => unknown;

export interface JobConfig<S extends z.ZodType> extends JobOptions {
  name: string;
  input: S;
  handler: Handler<z.output<S>>;
  backoff?: BackoffStrategy;
  /** False keeps jobs that run out of attempts in `failed` instead of the DLQ. Default true. */
  deadLetter?: boolean;
}

export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly input: S;
  readonly handler: Handler<z.output<S>>;
  readonly options: Readonly<ResolvedOptions>;
  readonly backoff: BackoffStrategy | undefined;
  readonly deadLetter: boolean;
}

/** Any definition, whatever its input. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJobDefinition = JobDefinition<any>;

/** The input `enqueue` accepts for a definition: what its schema takes in. */
export type InputOf<D> = D extends JobDefinition<infer S> ? z.input<S> : never;

// A new field in JobConfig is a compile error here until it is listed.
const configKeys = optionKeys<JobConfig<z.ZodType>>({
  name: true,
  input: true,
  handler: true,
  backoff: true,
  deadLetter: true,
  maxRetries: true,
  timeout: true,
  queue: true,
  priority: true,
});

const definitionShape = z.object({
  name: fields.queue.refine((name) => name.trim() === name, { error: 'must not start or end with white space' }),
  input: z.custom<z.ZodType>((v) => v instanceof z.core.$ZodType, { error: 'must be a zod schema' }),
  handler: z.custom<Handler<unknown>>((v) => typeof v === 'function', { error: 'must be a function' }),
  backoff: z.custom<BackoffStrategy>((v) => typeof v === 'function', { error: 'must be a backoff strategy function' }).optional(),
  deadLetter: z.boolean({ error: 'must be true or false' }).optional(),
});

/** Declares a job: its name, the schema of its input, its handler and its defaults. */
export function defineJob<S extends z.ZodType>(config: JobConfig<S>): JobDefinition<S> {
  if (config === null || typeof config !== 'object') throw new InvalidOptionError('defineJob', 'expects an object');
  const named = typeof config.name === 'string' && config.name !== '' ? `defineJob(${config.name})` : 'defineJob';
  refuseUnknownKeys(config, configKeys, named, 'defineJob');
  const base = parseOrThrow(definitionShape, config, 'defineJob');
  const { maxRetries, timeout, queue, priority } = config;
  const options = parseJobOptions({ maxRetries, timeout, queue, priority }, `defineJob(${base.name})`);
  return Object.freeze({
    name: base.name,
    input: config.input,
    handler: config.handler,
    options: Object.freeze(options),
    backoff: config.backoff,
    deadLetter: config.deadLetter ?? true,
  });
}
