/**
 * Array parameters as PostgreSQL array literals, made here in one pass. `pg`
 * would make the same text, but through two regular expressions and a type
 * test for every element; the outcome write sends twelve arrays a batch and
 * the insert nine, so that was a measurable part of a worker's time per job.
 * The statement casts each parameter (`$1::bigint[]`), so text is what it takes.
 */

/** An element as the literal holds it: quoted, with `"` and `\` escaped. */
function quoted(value: string): string {
  return value.indexOf('"') < 0 && value.indexOf('\\') < 0 ? `"${value}"` : `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/**
 * Strings (and nulls) as an array literal. Runs of the same string, common in a
 * batch (its states, event, worker), are quoted once.
 */
export function textArray(values: ReadonlyArray<string | null | undefined>): string {
  let out = '{';
  let last: string | undefined;
  let lastQuoted = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value == null) out += 'NULL';
    else {
      if (value !== last) {
        last = value;
        lastQuoted = quoted(value);
      }
      out += lastQuoted;
    }
  }
  return out + '}';
}

/**
 * Numbers (and nulls) as an array literal, written as `pg` writes a number
 * (`String`): a value the column cannot take is refused by the server, as before.
 */
export function numberArray(values: ReadonlyArray<number | null | undefined>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const value = values[i];
    out += value == null ? 'NULL' : String(value);
  }
  return out + '}';
}

/** Booleans as an array literal. */
export function boolArray(values: readonly boolean[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) out += i > 0 ? (values[i] ? ',t' : ',f') : values[i] ? 't' : 'f';
  return out + '}';
}
