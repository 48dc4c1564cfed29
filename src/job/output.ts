import { InvalidOutputError, PayloadTooLargeError } from '../errors.js';
import type { AnyJobDefinition } from './define-job.js';
import { assertJsonSerializable } from './serializable.js';

/**
 * Checks a handler's result and answers the JSON text to store with the job,
 * or undefined when there is no result (the job keeps a null one). With an
 * `output` schema the value must match it, and what the schema answers (its
 * defaults and transforms applied) is what is stored. The stored value must
 * be JSON (a Date or a class instance is refused, not silently changed) and
 * at most `maxBytes` as JSON, like an input.
 *
 * @throws InvalidOutputError naming the field (`output.total`) and the reason
 * @throws NotSerializableError, PayloadTooLargeError
 */
export function checkOutput(def: AnyJobDefinition, value: unknown, maxBytes: number): string | undefined {
  let result = value;
  if (def.output !== undefined) {
    const parsed = def.output.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i: { path: PropertyKey[]; message: string }) => ({
        path: i.path.map(String).join('.'),
        message: i.message,
      }));
      const first = issues[0]!;
      throw new InvalidOutputError(['output', first.path].filter(Boolean).join('.'), first.message, issues);
    }
    result = parsed.data;
  }
  if (result === undefined) return undefined;
  assertJsonSerializable(result, 'output');
  const json = JSON.stringify(result);
  // A UTF-16 length three times under the limit cannot be over it in UTF-8: skip the count.
  if (json.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(json);
    if (bytes > maxBytes) throw new PayloadTooLargeError('output', bytes, maxBytes);
  }
  return json;
}
