import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PostgreSQL for our store and the Postgres peers; DATABASE_URL wins. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Redis for BullMQ. */
export const REDIS = {
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: Number(process.env.REDIS_PORT ?? 6379),
};

/** Schemas of their own, so nothing collides with test schemas in the same database. */
export const SCHEMAS = {
  dispatch: 'dispatch_bench',
  pgboss: 'pgboss_bench',
  graphile: 'graphile_worker_bench',
} as const;

/** Where SQLite bench files live; outside the work tree. */
export const SQLITE_DIR = join(tmpdir(), 'dispatch-bench');

/** The queue (or task) name every engine uses here. */
export const QUEUE = 'bench';

/** A key prefix for BullMQ, so the bench never touches other keys in Redis. */
export const BULLMQ_PREFIX = 'dispatchbench';
