import { createRequire } from 'node:module';
import pg from 'pg';
import { DATABASE_URL, QUEUE, SCHEMAS } from '../lib/env.js';
import { type Adapter, type JobHandler, type OpenOptions, Unavailable } from '../lib/types.js';

type PgBossClass = typeof import('pg-boss');
type PgBoss = InstanceType<PgBossClass>;

const require = createRequire(import.meta.url);
const CHUNK = 10_000;
/** pg-boss's floor: it refuses a shorter polling interval. */
const POLL_SECONDS = 0.5;

/** Empties the job tables of an installed schema (cheaper than installing it again). */
async function emptyQueue(): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  try {
    await client.connect();
    const { rows } = await client.query(`SELECT to_regclass('${SCHEMAS.pgboss}.job') IS NOT NULL AS installed`);
    if ((rows[0] as { installed: boolean }).installed) await client.query(`TRUNCATE ${SCHEMAS.pgboss}.job, ${SCHEMAS.pgboss}.archive`);
  } catch (error) {
    throw new Unavailable(`PostgreSQL at ${DATABASE_URL}: ${(error as Error).message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `jobs` with at most `limit` in flight. */
async function limited<T>(jobs: readonly T[], limit: number, run: (job: T) => unknown): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) await run(jobs[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
}

/**
 * pg-boss 10 on PostgreSQL. Version 10 has no per-worker concurrency option:
 * one `work()` fetches `batchSize` jobs per poll and hands them over as an
 * array. `batched` false: batchSize = concurrency, the batch run at once.
 * `batched` true: batchSize 1000 (its best throughput here), run with at
 * most `concurrency` in flight.
 */
export async function pgbossAdapter(batched: boolean): Promise<Adapter> {
  const PgBoss = ((await import('pg-boss')) as unknown as { default: PgBossClass }).default;
  const boss: PgBoss = new PgBoss({ connectionString: DATABASE_URL, schema: SCHEMAS.pgboss, schedule: false });
  boss.on('error', (error) => console.error('pg-boss:', error));
  let concurrency = 1;
  let sendOptions: Record<string, unknown> = {};
  const batchSize = () => (batched ? 1000 : concurrency);
  const settings: Record<string, unknown> = {
    version: (require('pg-boss/package.json') as { version: string }).version,
    constructor: `{ connectionString, schema: '${SCHEMAS.pgboss}', schedule: false } (pool max 10, the default)`,
  };

  const rows = (from: number, count: number) =>
    Array.from({ length: count }, (_, k) => ({ name: QUEUE, data: { i: from + k }, ...sendOptions }));

  return {
    settings,
    pollMs: POLL_SECONDS * 1000,
    async open(options: OpenOptions) {
      concurrency = options.concurrency;
      if (options.reset) await emptyQueue();
      try {
        await boss.start();
      } catch (error) {
        throw new Unavailable(`pg-boss could not start on ${DATABASE_URL}: ${(error as Error).message}`);
      }
      if (!(await boss.getQueue(QUEUE))) await boss.createQueue(QUEUE);
      sendOptions = options.retry ? { retryLimit: 1, retryDelay: 0, retryBackoff: false } : {};
      if (options.retry) settings.retry = 'retryLimit: 1, retryDelay: 0';
    },
    async enqueue(i) {
      await boss.send(QUEUE, { i }, sendOptions);
    },
    async enqueueUrgent(i) {
      // Higher runs first (default 0).
      await boss.send(QUEUE, { i }, { ...sendOptions, priority: 2 ** 31 - 1 });
    },
    async enqueueBulk(from, count) {
      await boss.insert(rows(from, count));
    },
    async fill(from, count) {
      for (let done = 0; done < count; done += CHUNK) await boss.insert(rows(from + done, Math.min(CHUNK, count - done)));
    },
    async startWorker(handler: JobHandler) {
      settings.work = batched
        ? `one work(), batchSize 1000, pollingIntervalSeconds ${POLL_SECONDS}; a batch runs ${concurrency} at a time`
        : `one work(), batchSize ${concurrency} (= concurrency), pollingIntervalSeconds ${POLL_SECONDS}; a batch runs at once`;
      // A batch's jobs are completed together when the handler returns; one that throws is failed on its own, as
      // version 10 asks of batch handlers (a throw out of the handler would fail the whole batch).
      const run = async (job: { id: string; data: unknown }) => {
        try {
          await handler((job.data as { i: number }).i);
        } catch (error) {
          await boss.fail(QUEUE, job.id, { message: (error as Error).message });
        }
      };
      await boss.work(QUEUE, { batchSize: batchSize(), pollingIntervalSeconds: POLL_SECONDS }, async (jobs) => {
        if (batched) await limited(jobs, concurrency, run);
        else await Promise.all(jobs.map(run));
      });
    },
    async remaining() {
      return boss.getQueueSize(QUEUE, { before: 'completed' });
    },
    async close() {
      await boss.stop({ graceful: true, wait: true, timeout: 5000 });
    },
  };
}
