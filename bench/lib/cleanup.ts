import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import pg from 'pg';
import { BULLMQ_PREFIX, DATABASE_URL, REDIS, SCHEMAS, SQLITE_DIR } from './env.js';

const require = createRequire(import.meta.url);

interface RedisClient {
  scan(cursor: string, ...args: Array<string | number>): Promise<[string, string[]]>;
  unlink(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
}

/** Deletes the bench's own Redis keys (those under its prefix), and nothing else. */
export async function wipeBenchKeys(redis: Pick<RedisClient, 'scan' | 'unlink'>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${BULLMQ_PREFIX}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

/**
 * Gives back what a run left: a backlog of 200,000 jobs sits in Redis memory
 * and in each schema. Best effort: a service that is not there has nothing to
 * clean.
 */
export async function cleanup(): Promise<string[]> {
  const done: string[] = [];
  rmSync(SQLITE_DIR, { recursive: true, force: true });
  done.push('SQLite files');
  const client = new pg.Client({ connectionString: DATABASE_URL });
  try {
    await client.connect();
    for (const schema of Object.values(SCHEMAS)) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    done.push(`schemas ${Object.values(SCHEMAS).join(', ')}`);
  } catch {
    // No PostgreSQL: nothing was left there.
  } finally {
    await client.end().catch(() => undefined);
  }
  try {
    const Redis = require('ioredis') as new (options: Record<string, unknown>) => RedisClient;
    const redis = new Redis({ ...REDIS, lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
    await wipeBenchKeys(redis);
    await redis.quit();
    done.push(`Redis keys ${BULLMQ_PREFIX}:*`);
  } catch {
    // No ioredis or no Redis: nothing was left there.
  }
  return done;
}
