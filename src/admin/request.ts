import type { Context } from 'hono';
import { httpError } from './http-errors.js';

/**
 * The query parameters of a request, each at most once, none outside
 * `allowed`: a misspelt `?stat=dlq` is a 400 naming it, not a filter
 * silently dropped.
 */
export function queryOf<K extends string>(c: Context, allowed: readonly K[]): Partial<Record<K, string>> {
  const all = c.req.queries();
  const out: Partial<Record<K, string>> = {};
  for (const [key, values] of Object.entries(all)) {
    if (!(allowed as readonly string[]).includes(key)) {
      throw httpError(400, `${key}: not a query parameter of this route${allowed.length ? ` (it takes ${allowed.join(', ')})` : ''}`, key);
    }
    if (values.length > 1) throw httpError(400, `${key}: given more than once`, key);
    out[key as K] = values[0]!;
  }
  return out;
}

/** A whole number from a query parameter; the library checks its range. */
export function integerParam(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw httpError(400, `${field}: must be a whole number, got ${JSON.stringify(value)}`, field);
  return Number(value);
}

/** A time from a body field or query parameter: an ISO 8601 string or milliseconds since 1970. */
export function timeParam(value: unknown, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = typeof value === 'number' ? new Date(value) : typeof value === 'string' && value !== '' ? new Date(/^\d+$/.test(value) ? Number(value) : value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw httpError(400, `${field}: must be an ISO 8601 time such as "2030-01-01T09:00:00Z" or milliseconds since 1970, got ${JSON.stringify(value)}`, field);
  }
  return date;
}

/** The JSON object a request carries; an empty body is `{}`. */
export async function bodyOf(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw httpError(400, 'body: must be JSON', 'body');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw httpError(400, 'body: must be a JSON object', 'body');
  return body as Record<string, unknown>;
}

/** Refuses body fields outside `allowed`, naming the first. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) throw httpError(400, `${key}: not a field of this request${allowed.length ? ` (it takes ${allowed.join(', ')})` : ''}`, key);
  }
}
