import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
// The compiled engine when the bench runs compiled (bench/results/dist/src), as users run it.
import * as engine from '../../src/index.js';
import { DATABASE_URL, QUEUE, SCHEMAS, SQLITE_DIR } from '../lib/env.js';
import { type Adapter, type JobHandler, type OpenOptions, Unavailable } from '../lib/types.js';

type Kind = 'memory' | 'sqlite' | 'postgres';
type StoreFactory = (options: Record<string, unknown>) => engine.Store;

// Loaded, not imported: an older engine measured with --against may have no such entry.
const postgresEntry: Record<string, unknown> = await import('../../src/postgres.js').catch((error: { code?: string }) => {
  if (error.code === 'ERR_MODULE_NOT_FOUND') return {};
  throw error;
});

/** Stores other than memory are looked up at run time: the bench runs before they land, and picks them up after. */
function factory(name: string): StoreFactory {
  const found = ({ ...engine, ...postgresEntry } as unknown as Record<string, unknown>)[name];
  if (typeof found !== 'function') throw new Unavailable(`${name}() is not exported by this build of the engine`);
  return found as StoreFactory;
}

const CHUNK = 10_000;
const URGENT = 2 ** 31 - 1;

/**
 * Jobs leased ahead of free handlers, on the durable stores only: there a
 * lease is a commit (an fsync, and for Postgres a round trip), and prefetch
 * lets one lease and one outcome write carry many jobs. Postgres takes 500,
 * the local queue of Graphile's batched setup; SQLite 200, the best of 100,
 * 200 and 500 measured here (see docs/performance.md).
 */
const PREFETCH: Record<Kind, number> = { memory: 0, sqlite: 200, postgres: prefetchOverride() ?? 500 };

/** BENCH_PREFETCH=N: another prefetch for the Postgres rows, to measure what it changes (docs/performance.md). */
function prefetchOverride(): number | null {
  const value = process.env.BENCH_PREFETCH;
  if (value === undefined) return null;
  if (!/^\d+$/.test(value)) throw new Error(`BENCH_PREFETCH must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Our engine on one of its stores, through its public API only. */
const HISTORY_OFF = process.env.BENCH_HISTORY === 'off';

export function dispatchAdapter(kind: Kind, scenario: string): Adapter {
  const sqlitePath = join(SQLITE_DIR, `${scenario}.db`);
  let dispatcher: engine.Dispatcher | null = null;
  let onJob: JobHandler = () => {};
  let concurrency = 1;
  const job = engine.defineJob({
    name: QUEUE,
    input: z.object({ i: z.number() }),
    // An async function, as the peers' handlers are.
    handler: async (input) => onJob(input.i),
  });
  const settings: Record<string, unknown> = {
    store: kind,
    build: 'compiled JS (the compiler options of npm run build)',
    leasing: 'engine defaults (lease 30s)',
  };

  async function storeFor(reset: boolean): Promise<engine.Store> {
    if (kind === 'memory') return engine.memoryStore();
    if (kind === 'sqlite') {
      const make = factory('sqliteStore');
      mkdirSync(SQLITE_DIR, { recursive: true });
      if (reset) for (const suffix of ['', '-wal', '-shm']) rmSync(sqlitePath + suffix, { force: true });
      settings.sqlite = 'sqliteStore({ path }) with its defaults (WAL, synchronous full)';
      return make({ path: sqlitePath });
    }
    const make = factory('postgresStore');
    if (reset) {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      try {
        await client.connect();
      } catch (error) {
        throw new Unavailable(`PostgreSQL at ${DATABASE_URL}: ${(error as Error).message}`);
      }
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${SCHEMAS.dispatch} CASCADE`);
      } finally {
        await client.end();
      }
    }
    settings.postgres = `postgresStore({ connectionString, schema: '${SCHEMAS.dispatch}' }) with its defaults`;
    return make({ connectionString: DATABASE_URL, schema: SCHEMAS.dispatch });
  }

  const inputs = (from: number, count: number) => Array.from({ length: count }, (_, k) => ({ i: from + k }));

  return {
    settings,
    async open(options: OpenOptions) {
      concurrency = options.concurrency;
      const store = await storeFor(options.reset);
      dispatcher = engine.createDispatcher({
        store,
        concurrency: options.concurrency,
        prefetch: PREFETCH[kind],
        // Minimal backoff: the retry is due at once.
        backoff: engine.backoff.constant(0),
        // BENCH_HISTORY=off measures what keeping each job's history costs (docs/history.md).
        ...(HISTORY_OFF ? { history: false } : {}),
      });
      if (HISTORY_OFF) settings.history = 'createDispatcher({ history: false })';
      if (options.retry) settings.retry = 'maxRetries 3 (default), backoff.constant(0)';
      dispatcher.register(job);
      // Opens (and migrates) the store before anything is timed.
      await dispatcher.counts();
      if (options.rateLimit) {
        // Kept in the store, enforced by every lease: the queue's jobs all go through the limited path.
        await dispatcher.queues.configure('default', { rateLimit: { max: options.rateLimit.max, per: options.rateLimit.perMs } });
        settings.rateLimit = `queues.configure('default', { rateLimit: { max: ${options.rateLimit.max}, per: ${options.rateLimit.perMs} } })`;
      }
    },
    async enqueue(i) {
      await dispatcher!.enqueue(job, { i });
    },
    async enqueueUrgent(i) {
      // Higher runs first; the largest a store keeps (a Postgres integer).
      await dispatcher!.enqueue(job, { i }, { priority: URGENT });
    },
    async enqueueKeyed(i, key) {
      await dispatcher!.enqueue(job, { i }, { key });
    },
    async enqueueBulk(from, count) {
      await dispatcher!.enqueueMany(job, inputs(from, count));
    },
    async fill(from, count) {
      for (let done = 0; done < count; done += CHUNK) {
        await dispatcher!.enqueueMany(job, inputs(from + done, Math.min(CHUNK, count - done)));
      }
    },
    async startWorker(handler) {
      onJob = handler;
      settings.worker = `createDispatcher({ store, concurrency: ${concurrency}, prefetch: ${PREFETCH[kind]} }).start()`;
      await dispatcher!.start();
    },
    async remaining() {
      const c = await dispatcher!.counts();
      return c.pending + c.running + c.retrying;
    },
    async close() {
      await dispatcher?.stop({ grace: 2000 });
    },
  };
}
