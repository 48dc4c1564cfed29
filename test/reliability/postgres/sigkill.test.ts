import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../../src/index.js';
import type { PostgresStore } from '../../../src/postgres.js';
import { databaseUrl, openStore } from '../../store/postgres/database.js';
import { allJobs } from '../support/all-jobs.js';
import { enqueueCounts, producer } from '../support/producer.js';
import { account, readRuns } from '../support/runs.js';
import type { WorkerSettings } from '../support/worker.js';
import { killAll, killWorker, startWorker, stopWorker, type Worker } from '../support/workers.js';
import { until } from '../../support/until.js';

describe('postgres faults: workers killed with SIGKILL mid-batch', () => {
  let store: PostgresStore;
  let schema: string;
  let cleanup: () => Promise<void>;
  let enqueuer: Dispatcher;
  let dir: string;
  const workers: Worker[] = [];

  beforeEach(async () => {
    ({ store, schema, cleanup } = await openStore({ onError: () => undefined }));
    enqueuer = producer(store);
    dir = await mkdtemp(join(tmpdir(), 'dispatch-sigkill-'));
  });

  afterEach(async () => {
    await killAll(workers);
    await enqueuer.stop();
    await cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('finishes every accepted job; a job runs twice only when a killed worker held it and its lease expired', { timeout: 90_000 }, async () => {
    // Short leases so a dead worker's jobs come back within a second or two.
    const settings = (i: number): WorkerSettings => ({
      store: { kind: 'postgres', url: databaseUrl(), schema },
      log: join(dir, `worker-${i}.log`),
      concurrency: 20,
      workMs: 10,
      lease: '1500ms',
      heartbeat: '300ms',
      reapInterval: '200ms',
    });
    const logs: string[] = [];
    const start = async () => {
      // The index is taken before the await, so workers started together get their own logs.
      const index = logs.push(join(dir, `worker-${logs.length}.log`)) - 1;
      workers[index] = await startWorker(settings(index));
    };
    await Promise.all([start(), start(), start()]);
    // Three rounds: enqueue a thousand jobs, kill a worker with jobs in flight, start another in its place.
    const ids: string[] = [];
    const died = new Set<number>();
    for (let kill = 0; kill < 3; kill++) {
      ids.push(...(await enqueueCounts(enqueuer, 1000)));
      const index = workers.findIndex((w) => w.child.exitCode === null && w.child.signalCode === null);
      const victim = workers[index]!;
      const startedThere = () => [...readRuns([victim.settings.log]).values()].flat();
      // Mid-batch: it has finished some jobs and has handlers running right now.
      await until(() => {
        const runs = startedThere();
        return runs.some((r) => r.outcome === 'done') && runs.some((r) => r.outcome === 'cut');
      }, `worker ${index} to be mid-batch`);
      await killWorker(victim);
      expect((await victim.exited).signal).toBe('SIGKILL');
      died.add(index);
      await start();
    }

    const total = ids.length;
    await until(async () => (await store.counts()).completed === total, `${total} completed jobs`);
    for (const worker of workers) await stopWorker(worker);

    const jobs = await allJobs(store);
    const runs = readRuns(logs);
    const result = account(ids, jobs, runs, died);
    expect(result.lost, 'accepted jobs not in a final state').toEqual([]);
    expect(result.finals).toEqual({ completed: total });
    expect(result.unexplained, 'jobs whose work was done twice with no lease expiry to explain it').toEqual([]);
    // The kills did land mid-run: some handler runs were cut short in a killed worker.
    const cut = [...runs.values()].flat().filter((r) => r.outcome === 'cut');
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.every((r) => died.has(r.worker))).toBe(true);
    for (const job of jobs) {
      const started = runs.get(job.id) ?? [];
      // A job that ran more than once was leased more than once, and only because a lease expired.
      if (job.attempt > 1) expect(job.lastError?.name, `job ${job.id}`).toBe('LeaseExpiredError');
      expect(started.length, `job ${job.id}: runs beyond its attempts`).toBeLessThanOrEqual(job.attempt);
      // Workers that lived on recorded every outcome: none of them did a job's work twice.
      expect(started.filter((r) => !died.has(r.worker) && r.outcome === 'done').length, `job ${job.id}`).toBeLessThanOrEqual(1);
    }
    for (const worker of workers.filter((_, i) => !died.has(i))) expect(worker.output()).toBe('');
  });
});
