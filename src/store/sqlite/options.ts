import { accessSync, constants, type Stats, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { durationField, type OptionShape, StoreConfigError, strictOptions } from '../contract.js';

export interface SqliteStoreOptions {
  /** The database file, created if missing. Its folder must exist and be writable (WAL keeps two files beside it). */
  path: string;
  /**
   * When a commit counts as done.
   * - `'full'` (default): the WAL is fsynced at every commit, so a resolved
   *   enqueue survives a process crash, an OS crash and a power loss.
   * - `'normal'`: fsync only at checkpoints. Faster; a resolved enqueue still
   *   survives a process crash, but an OS crash or power loss may roll back
   *   the last commits (the file stays consistent).
   */
  synchronous?: 'full' | 'normal';
  /** How long a write waits for another process that holds the file's write lock. Milliseconds or `'5s'`. Default `'5s'`. */
  busyTimeout?: number | string;
  /**
   * How long an idle worker sleeps at most before looking for jobs. Enqueues
   * by other processes wake it at once through a watch on the WAL file; the
   * poll covers what a watch misses (jobs another process put back in the
   * queue, file systems that cannot be watched). Milliseconds or `'250ms'`.
   * Default 250 ms.
   */
  pollInterval?: number | string;
  /**
   * How long a leader duty (the reaper's turn) stays claimed by a process
   * that stopped renewing it, as a killed one does; a live holder renews its
   * claim every third of this. Milliseconds or `'10s'`. Default 10 s.
   */
  dutyExpiry?: number | string;
}

export interface ResolvedSqliteOptions {
  path: string;
  synchronous: 'full' | 'normal';
  busyTimeoutMs: number;
  pollIntervalMs: number;
  dutyExpiryMs: number;
}

// A new option in SqliteStoreOptions is a compile error here until it has a schema.
const shape = strictOptions(
  {
    path: z
      .string({ error: 'must be a string naming the database file' })
      .min(1, { error: 'must not be empty' })
      .refine((p) => p !== ':memory:', { error: 'must name a file; for a store that keeps nothing use memoryStore()' }),
    synchronous: z.enum(['full', 'normal'], { error: "must be 'full' or 'normal'" }).default('full'),
    busyTimeout: durationField(0).default(5000),
    pollInterval: durationField(1).default(250),
    dutyExpiry: durationField(100).default(10_000),
  } satisfies OptionShape<SqliteStoreOptions>,
  'sqliteStore',
);

/** Checks the options' types and ranges, naming the field at fault. */
export function parseOptions(options: unknown): ResolvedSqliteOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new StoreConfigError('options', 'must be an object such as { path: "jobs.db" }');
  }
  const result = shape.safeParse(options);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') throw new StoreConfigError(String(issue.keys[0]), issue.message);
    // A missing path reads better as "required" than as a type mismatch.
    const field = String(issue.path[0] ?? 'options');
    const absent = (options as Record<string, unknown>)[field] === undefined;
    throw new StoreConfigError(field, absent ? 'is required' : issue.message);
  }
  const { path, synchronous, busyTimeout, pollInterval, dutyExpiry } = result.data;
  return { path, synchronous, busyTimeoutMs: busyTimeout, pollIntervalMs: pollInterval, dutyExpiryMs: dutyExpiry };
}

/** Refuses a path SQLite could not keep a database at, before SQLite gives a vaguer error. */
export function checkLocation(path: string): void {
  const full = resolve(path);
  const file = statIfAny(full);
  if (file?.isDirectory()) {
    throw new StoreConfigError('path', `${path} is a directory; name a file inside it, such as ${join(path, 'dispatch.db')}`);
  }
  const folder = dirname(full);
  const parent = statIfAny(folder);
  if (!parent) throw new StoreConfigError('path', `the folder ${folder} does not exist`);
  if (!parent.isDirectory()) throw new StoreConfigError('path', `${folder} is not a folder`);
  if (!writable(folder)) throw new StoreConfigError('path', `the folder ${folder} is not writable (WAL mode writes files beside the database)`);
  if (file && !writable(full)) throw new StoreConfigError('path', `${path} is not writable`);
}

/** The file's status, or undefined when there is none (a missing entry, or a file where a folder should be). */
function statIfAny(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new StoreConfigError('path', `${path} cannot be examined: ${(error as Error).message}`);
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
