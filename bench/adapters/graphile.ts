import { createRequire } from 'node:module';
import { DATABASE_URL, QUEUE, SCHEMAS } from '../lib/env.js';
import { type Adapter, type JobHandler, type OpenOptions, Unavailable } from '../lib/types.js';

type Graphile = typeof import('graphile-worker');

const require = createRequire(import.meta.url);
const CHUNK = 10_000;

/**
 * Graphile Worker 0.17 on PostgreSQL. `batched` turns on the options its
 * performance page uses: a local queue of 500, and completions and
 * failures batched with a delay of 0.
 */
export async function graphileAdapter(batched: boolean): Promise<Adapter> {
  const gw = (await import('graphile-worker')) as Graphile;
  // Its docs' own advice for speed: no log line per successful job.
  process.env.NO_LOG_SUCCESS = '1';
  const logger = new gw.Logger(() => (level, message) => {
    // A failed attempt is logged as an error; the retry scenario fails every job once on purpose.
    if (message.startsWith('Failed task')) return;
    if ((level as string) === 'error' || (level as string) === 'warning') console.error(`graphile-worker: ${message}`);
  });
  let utils: Awaited<ReturnType<Graphile['makeWorkerUtils']>>;
  try {
    utils = await gw.makeWorkerUtils({ connectionString: DATABASE_URL, schema: SCHEMAS.graphile, logger });
    await utils.migrate();
  } catch (error) {
    throw new Unavailable(`graphile-worker could not reach or migrate ${DATABASE_URL}: ${(error as Error).message}`);
  }
  let runner: Awaited<ReturnType<Graphile['run']>> | null = null;
  let concurrency = 1;
  let maxAttempts = 25;
  const settings: Record<string, unknown> = {
    version: (require('graphile-worker/package.json') as { version: string }).version,
    schema: SCHEMAS.graphile,
    enqueue: 'WorkerUtils.addJob / addJobs',
    logging: 'NO_LOG_SUCCESS=1, a logger that keeps warnings and errors',
  };

  const specs = (from: number, count: number) =>
    Array.from({ length: count }, (_, k) => ({ identifier: QUEUE, payload: { i: from + k }, maxAttempts }));

  return {
    settings,
    async open(options: OpenOptions) {
      concurrency = options.concurrency;
      if (options.reset) {
        await utils.withPgClient((client) =>
          client.query(`TRUNCATE ${SCHEMAS.graphile}._private_jobs, ${SCHEMAS.graphile}._private_job_queues CASCADE`),
        );
      }
      if (options.retry) {
        maxAttempts = 2;
        settings.retry = 'maxAttempts: 2; the delay before a retry is fixed by Graphile Worker at exp(attempts) s (~2.7 s)';
      }
    },
    async enqueue(i) {
      await utils.addJob(QUEUE, { i }, { maxAttempts });
    },
    async enqueueUrgent(i) {
      // Smaller runs first (default 0); the column is a smallint.
      await utils.addJob(QUEUE, { i }, { maxAttempts, priority: -32768 });
    },
    async enqueueBulk(from, count) {
      await utils.addJobs(specs(from, count));
    },
    async fill(from, count) {
      for (let done = 0; done < count; done += CHUNK) await utils.addJobs(specs(from + done, Math.min(CHUNK, count - done)));
    },
    async startWorker(handler: JobHandler) {
      // Its docs advise max(10, concurrency + 2); capped so 100 handlers in flight stay within a shared server's 100 connections.
      const pool = Math.min(Math.max(10, concurrency + 2), 52);
      settings.worker = batched
        ? `concurrentJobs ${concurrency}, maxPoolSize ${pool}, localQueue { size: 500 }, completeJobBatchDelay 0, failJobBatchDelay 0 (its performance page's settings)`
        : `concurrentJobs ${concurrency}, maxPoolSize ${pool} (max(10, concurrency + 2) as its docs advise, at most 52), pollInterval 2000 (default)`;
      const worker: Record<string, unknown> = {
        connectionString: DATABASE_URL,
        schema: SCHEMAS.graphile,
        concurrentJobs: concurrency,
        maxPoolSize: pool,
      };
      if (batched) Object.assign(worker, { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 });
      runner = await gw.run({
        noHandleSignals: true,
        logger,
        taskList: { [QUEUE]: async (payload) => void (await handler((payload as { i: number }).i)) },
        preset: { worker },
      });
    },
    async remaining() {
      // Graphile Worker deletes a job once it completes.
      const result = await utils.withPgClient((client) => client.query(`SELECT count(*)::int AS n FROM ${SCHEMAS.graphile}._private_jobs`));
      return (result.rows[0] as { n: number }).n;
    },
    async close() {
      await runner?.stop();
      await utils.release();
    },
  };
}
