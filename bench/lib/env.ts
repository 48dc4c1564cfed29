import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PostgreSQL for our store and the Postgres peers; DATABASE_URL wins. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Redis for BullMQ. */
export const REDIS = {
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.REDIS_PORT ?? 6379),
};

/**
 * BENCH_ID (letters, digits, underscores) gives a run schemas, keys and files
 * of its own, so two runs on one machine (two work trees) cannot wipe each
 * other's queues. Empty by default: the names below as they are.
 */
const id = process.env.BENCH_ID ?? '';
if (!/^[a-z0-9_]*$/i.test(id)) throw new Error(`BENCH_ID must be letters, digits and underscores, got ${JSON.stringify(id)}`);
const suffix = id ? `_${id.toLowerCase()}` : '';

/** Schemas of their own, so nothing collides with test schemas in the same database. */
export const SCHEMAS = {
  dispatch: `dispatch_bench${suffix}`,
  pgboss: `pgboss_bench${suffix}`,
  graphile: `graphile_worker_bench${suffix}`,
} as const;

/** Where SQLite bench files live; outside the work tree. */
export const SQLITE_DIR = join(tmpdir(), `dispatch-bench${suffix}`);

/** The queue (or task) name every engine uses here. */
export const QUEUE = 'bench';

/** A key prefix for BullMQ, so the bench never touches other keys in Redis. */
export const BULLMQ_PREFIX = `dispatchbench${suffix}`;
