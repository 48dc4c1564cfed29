import { NotSerializableError } from '../errors.js';

/**
 * Refuses what JSON would silently change or drop: functions, symbols,
 * BigInts, non-finite numbers, cycles, and objects other than plain ones and
 * arrays (a Date, a Map, a class instance). `undefined` object properties are
 * allowed, as JSON leaves them out.
 */
export function assertJsonSerializable(value: unknown, path: string): void {
  walk(value, path, new Set());
}

function walk(value: unknown, path: string, seen: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(path, `${value} has no JSON form`);
      return;
    case 'undefined':
      fail(path, 'undefined has no JSON form');
      return;
    case 'object':
      break;
    default:
      fail(path, `a ${typeof value} is not JSON-serialisable`);
  }
  if (value === null) return;
  const obj = value as object;
  if (seen.has(obj)) fail(path, 'refers back to itself (a cycle)');
  seen.add(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) walk(obj[i], `${path}[${i}]`, seen);
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      fail(path, `a ${proto?.constructor?.name ?? 'non-plain object'} is not JSON-serialisable; pass plain objects and arrays`);
    }
    for (const key of Object.keys(obj)) {
      const child = (obj as Record<string, unknown>)[key];
      if (child !== undefined) walk(child, `${path}.${key}`, seen);
    }
  }
  seen.delete(obj);
}

function fail(path: string, reason: string): never {
  throw new NotSerializableError(path, reason);
}
