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
  /**
   * Reports how far the job got (a number or small JSON, at most 4 KiB):
   * stored with the running job, read back by `getJob`, sent on `events$`.
   * Reports coalesce, the latest winning; resolves once this value or a
   * later one is stored, or dropped because the job is no longer running here.
   */
  progress(value: unknown): Promise<void>;
}

/** A handler: `R` is what it must return (or resolve with); anything, for a job that declares no output. */
export type Handler<I, R = unknown> = (input: I, ctx: HandlerContext) => R | Promise<R>;

/** What a handler returns for an output schema `O`: what the schema takes in (it is parsed before it is stored). */
export type HandlerResult<O> = O extends z.ZodType ? z.input<O> : unknown;

export interface JobConfig<S extends z.ZodType, O extends z.ZodType | undefined = undefined> extends JobOptions {
  name: string;
  input: S;
  /** The schema of the handler's result; the parsed result is stored with the job. Optional. */
  output?: O;
  handler: Handler<z.output<S>, HandlerResult<O>>;
  backoff?: BackoffStrategy;
  /** False keeps jobs that run out of attempts in `failed` instead of the DLQ. Default true. */
  deadLetter?: boolean;
}

export interface JobDefinition<S extends z.ZodType = z.ZodType, O extends z.ZodType | undefined = z.ZodType | undefined> {
  readonly name: string;
  readonly input: S;
  /** The schema of the result; undefined when the job declares none. */
  readonly output: O;
  readonly handler: Handler<z.output<S>, HandlerResult<O>>;
  readonly options: Readonly<ResolvedOptions>;
  readonly backoff: BackoffStrategy | undefined;
  readonly deadLetter: boolean;
}

/** Any definition, whatever its input and output. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyJobDefinition = JobDefinition<any, any>;

/** The input `enqueue` accepts for a definition: what its schema takes in. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InputOf<D> = D extends JobDefinition<infer S, any> ? z.input<S> : never;

/** The result a definition's jobs keep: what its output schema gives; unknown when it declares none. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OutputOf<D> = D extends JobDefinition<any, infer O> ? (O extends z.ZodType ? z.output<O> : unknown) : never;

// A new field in JobConfig is a compile error here until it is listed.
const configKeys = optionKeys<JobConfig<z.ZodType>>({
  name: true,
  input: true,
  output: true,
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
  output: z.custom<z.ZodType>((v) => v instanceof z.core.$ZodType, { error: 'must be a zod schema' }).optional(),
  handler: z.custom<Handler<unknown>>((v) => typeof v === 'function', { error: 'must be a function' }),
  backoff: z.custom<BackoffStrategy>((v) => typeof v === 'function', { error: 'must be a backoff strategy function' }).optional(),
  deadLetter: z.boolean({ error: 'must be true or false' }).optional(),
});

/** Declares a job: its name, the schemas of its input and (optionally) its result, its handler and its defaults. */
export function defineJob<S extends z.ZodType, O extends z.ZodType | undefined = undefined>(config: JobConfig<S, O>): JobDefinition<S, O> {
  if (config === null || typeof config !== 'object') throw new InvalidOptionError('defineJob', 'expects an object');
  const named = typeof config.name === 'string' && config.name !== '' ? `defineJob(${config.name})` : 'defineJob';
  refuseUnknownKeys(config, configKeys, named, 'defineJob');
  const base = parseOrThrow(definitionShape, config, 'defineJob');
  const { maxRetries, timeout, queue, priority } = config;
  const options = parseJobOptions({ maxRetries, timeout, queue, priority }, `defineJob(${base.name})`);
  return Object.freeze({
    name: base.name,
    input: config.input,
    output: config.output as O,
    handler: config.handler,
    options: Object.freeze(options),
    backoff: config.backoff,
    deadLetter: config.deadLetter ?? true,
  });
}
