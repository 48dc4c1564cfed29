import type { Pool, PoolConfig } from 'pg';
import { z } from 'zod';
import { durationField, type OptionShape, StoreConfigError, strictOptions } from '../contract.js';

export interface PostgresStoreOptions {
  /** A `postgres://` or `postgresql://` URL. Give this or `pool`. */
  connectionString?: string;
  /**
   * Your own `pg` Pool. The store borrows connections from it (one is held
   * for LISTEN while someone subscribes) and never ends it.
   */
  pool?: Pool;
  /** Extra settings for the pool the store creates from `connectionString` (ssl, max, timeouts...). */
  poolConfig?: Omit<PoolConfig, 'connectionString'>;
  /** The schema holding the store's tables. Default `dispatch`. Quoted, so any name up to 58 bytes works. */
  schema?: string;
  /** Apply pending migrations on `open()`. Default true; with false, `open()` only checks the version. */
  migrate?: boolean;
  /**
   * How long an idle worker sleeps at most before looking for jobs anyway:
   * the fallback for a notification lost while the listener reconnected.
   * Milliseconds or `'2s'`. Default 2 s.
   */
  pollInterval?: number | string;
  /** Told of failures in the background (the listener's connection, an idle pooled connection, warming connections at open). Default: console.error. */
  onError?: (error: unknown) => void;
}

export interface ResolvedPostgresOptions {
  connectionString: string | null;
  pool: Pool | null;
  poolConfig: Omit<PoolConfig, 'connectionString'>;
  schema: string;
  migrate: boolean;
  pollIntervalMs: number;
  onError: (error: unknown) => void;
}

/** Postgres names are at most 63 bytes; the channel `<schema>.jobs` must fit too. */
const MAX_SCHEMA_BYTES = 63 - '.jobs'.length;

const connectionString = z
  .string({ error: 'must be a string such as postgres://user@host:5432/db' })
  .min(1, { error: 'must not be empty' })
  .superRefine((value, ctx) => {
    const problem = urlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const schemaName = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .refine((s) => Buffer.byteLength(s) <= MAX_SCHEMA_BYTES, {
    error: `must be at most ${MAX_SCHEMA_BYTES} bytes, so the notification channel "<schema>.jobs" fits Postgres' 63-byte names`,
  })
  .refine((s) => !s.includes('\0'), { error: 'must not contain a NUL character' })
  .refine((s) => !s.startsWith('pg_'), { error: 'must not start with pg_ (Postgres keeps those names for itself)' });

const pool = z.custom<Pool>(
  (p) => typeof p === 'object' && p !== null && typeof (p as Pool).connect === 'function' && typeof (p as Pool).query === 'function',
  { error: 'must be a pg Pool (new pg.Pool(...))' },
);

// A new option in PostgresStoreOptions is a compile error here until it has a schema.
const shape = strictOptions(
  {
    connectionString: connectionString.optional(),
    pool: pool.optional(),
    poolConfig: z.record(z.string(), z.unknown(), { error: 'must be an object of pg PoolConfig settings' }).optional(),
    schema: schemaName.default('dispatch'),
    migrate: z.boolean({ error: 'must be true or false' }).default(true),
    pollInterval: durationField(1).default(2000),
    onError: z.custom<(error: unknown) => void>((f) => typeof f === 'function', { error: 'must be a function' }).optional(),
  } satisfies OptionShape<PostgresStoreOptions>,
  'postgresStore',
);

/** Checks the options' types and ranges, naming the field at fault. */
export function parseOptions(options: unknown): ResolvedPostgresOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new StoreConfigError('options', 'must be an object such as { connectionString: "postgres://localhost/app" }');
  }
  const result = shape.safeParse(options);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') throw new StoreConfigError(String(issue.keys[0]), issue.message);
    throw new StoreConfigError(String(issue.path[0] ?? 'options'), issue.message);
  }
  const o = result.data;
  if (o.connectionString === undefined && o.pool === undefined) {
    throw new StoreConfigError('connectionString', 'is required (or give your own pg Pool as `pool`)');
  }
  if (o.connectionString !== undefined && o.pool !== undefined) {
    throw new StoreConfigError('pool', 'give connectionString or pool, not both');
  }
  if (o.pool !== undefined && o.poolConfig !== undefined) {
    throw new StoreConfigError('poolConfig', 'configures the pool the store creates; with your own pool, configure that pool');
  }
  return {
    connectionString: o.connectionString ?? null,
    pool: o.pool ?? null,
    poolConfig: (o.poolConfig ?? {}) as Omit<PoolConfig, 'connectionString'>,
    schema: o.schema,
    migrate: o.migrate,
    pollIntervalMs: o.pollInterval,
    onError: o.onError ?? ((error) => console.error('dispatch: postgres store:', error)),
  };
}

/** Why `value` is not a Postgres URL, or null when it is one. */
function urlProblem(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL (expected postgres://user:password@host:5432/database)`;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    return `must start with postgres:// or postgresql://, not ${url.protocol}//`;
  }
  if (url.pathname.length > 1) {
    try {
      decodeURIComponent(url.pathname.slice(1));
    } catch {
      return 'has a database name that is not valid percent-encoding';
    }
  }
  return null;
}
