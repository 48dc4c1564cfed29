import type { JobEvent } from '../../machines/job.machine.js';
import { isPermanent, toJobError } from '../engine/records.js';
import { CorruptJobError, InvalidInputError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { Registry } from '../job/registry.js';
import type { LeasedJob } from '../store/contract.js';
import { LazyHandlerContext } from './handler-context.js';
import { type Middleware, runThrough } from './middleware.js';
import type { ProgressReporter } from './progress.js';

/** What one attempt came to: the chart's event for it, and the result to keep when it succeeded. */
export interface Outcome {
  event: JobEvent;
  resultJson?: string;
}

export interface AttemptParts {
  registry: Registry;
  middleware: readonly Middleware[];
  /** The handler's value, checked, as JSON to keep; undefined for none. Throws to fail the attempt. */
  output(def: AnyJobDefinition, value: unknown): string | undefined;
  /** Where `ctx.progress` reports go, named by the attempt's token. */
  progress?: ProgressReporter;
}

const SUCCEED: JobEvent = Object.freeze({ type: 'SUCCEED' });
const ABANDON: JobEvent = Object.freeze({ type: 'ABANDON' });
/** Most attempts: shared, as it carries nothing of its own. */
const SUCCEEDED: Outcome = Object.freeze({ event: SUCCEED });

/** Where an attempt reports: the handler's context when it starts, the outcome when it ends. */
export interface AttemptSink<T> {
  attemptStarted(token: T, ctx: LazyHandlerContext): void;
  attemptDone(token: T, outcome: Outcome): void;
}

/**
 * Runs one attempt of a leased job: reads its input through the definition's
 * schema, calls the handler through the middleware, checks what it returns,
 * and tells `sink` the outcome, with `token` (no closures: this is every
 * job's path). The sink hears of the handler's context first, so it can abort it.
 */
export function runAttempt<T>(job: LeasedJob, parts: AttemptParts, sink: AttemptSink<T>, token: T): void {
  const { defect } = job;
  if (defect) {
    // A row the store could not read: the DLQ, not a run with half its data, nor a retry that cannot help.
    sink.attemptDone(token, { event: failure(new CorruptJobError(job.id, defect.field, defect.reason), false) });
    return;
  }
  const def = parts.registry.find(job.name);
  if (!def) {
    // Leases name only registered jobs, so this is not reached; were it, the job goes back uncounted.
    sink.attemptDone(token, { event: ABANDON });
    return;
  }
  const parsed = def.input.safeParse(job.input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = ['input', ...(issue?.path ?? []).map(String)].join('.');
    const error = new InvalidInputError(field, `the stored input no longer fits the schema: ${issue?.message}`, []);
    sink.attemptDone(token, { event: failure(error, false) });
    return;
  }
  const ctx = new LazyHandlerContext(job, parsed.data, parts.progress ?? null, token);
  sink.attemptStarted(token, ctx);
  let result: unknown;
  try {
    result =
      parts.middleware.length === 0 ? def.handler(parsed.data, ctx) : runThrough(parts.middleware, ctx, () => def.handler(parsed.data, ctx));
  } catch (error) {
    sink.attemptDone(token, { event: failure(error) });
    return;
  }
  Promise.resolve(result).then(
    (value: unknown) => sink.attemptDone(token, succeeded(def, value, parts)),
    (error: unknown) => sink.attemptDone(token, { event: failure(error) }),
  );
}

function succeeded(def: AnyJobDefinition, value: unknown, parts: AttemptParts): Outcome {
  if (value === undefined && !def.output) return SUCCEEDED;
  try {
    const resultJson = parts.output(def, value);
    return resultJson === undefined ? SUCCEEDED : { event: SUCCEED, resultJson };
  } catch (error) {
    // A result that does not fit the definition is the handler's bug: running it again returns the same.
    return { event: failure(error, false) };
  }
}

function failure(thrown: unknown, retryable = !isPermanent(thrown)): JobEvent {
  return { type: 'FAIL', error: toJobError(thrown), retryable };
}
