import { LATEST_TIME_MS } from '../duration.js';
import { InvalidInputError, InvalidOptionError, PayloadTooLargeError } from '../errors.js';
import type { AnyJobDefinition } from '../job/define-job.js';
import type { parseEnqueueOptions, ResolvedOptions } from '../job/options.js';
import { assertJsonSerializable } from '../job/serializable.js';
import type { NewJob } from '../store/contract.js';

/**
 * A job to store, from a definition, its input and the enqueue options:
 * the input checked against the schema and the payload limit, options
 * taken from the call, then the definition, then the dispatcher's defaults.
 */
export function newJob(
  def: AnyJobDefinition,
  input: unknown,
  options: ReturnType<typeof parseEnqueueOptions>,
  defaults: Required<ResolvedOptions>,
  maxPayloadBytes: number,
  now: number,
  field = 'input',
): NewJob {
  const checked = def.input.safeParse(input);
  if (!checked.success) {
    const issues = checked.error.issues.map((i: { path: PropertyKey[]; message: string }) => ({ path: i.path.map(String).join('.'), message: i.message }));
    const first = issues[0]!;
    throw new InvalidInputError([field, first.path].filter(Boolean).join('.'), first.message, issues);
  }
  assertJsonSerializable(input, field);
  const inputJson = JSON.stringify(input);
  // A UTF-16 length three times under the limit cannot be over it in UTF-8: skip the count.
  if (inputJson.length * 3 > maxPayloadBytes) {
    const bytes = Buffer.byteLength(inputJson);
    if (bytes > maxPayloadBytes) throw new PayloadTooLargeError(field, bytes, maxPayloadBytes);
  }
  const runAt = options.runAt ?? (options.delayMs ? now + options.delayMs : options.debounceMs ? now + options.debounceMs : now);
  if (runAt > LATEST_TIME_MS) throw new InvalidOptionError('delay', `must end by the end of the year 9999, as runAt must; ends ${runAt - LATEST_TIME_MS} ms after it`);
  const job: NewJob = {
    name: def.name,
    queue: options.queue ?? def.options.queue ?? defaults.queue,
    input,
    inputJson,
    priority: options.priority ?? def.options.priority ?? defaults.priority,
    runAt,
    maxRetries: options.maxRetries ?? def.options.maxRetries ?? defaults.maxRetries,
    timeoutMs: options.timeoutMs ?? def.options.timeoutMs ?? defaults.timeoutMs,
    // Only when given: a job without a group is the common case, and NewJob leaves it out.
    ...(options.group === undefined ? {} : { group: options.group }),
  };
  if (options.unique) job.unique = options.unique;
  return job;
}
