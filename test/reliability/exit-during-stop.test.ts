import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Dispatcher, sqliteStore, type Store } from '../../src/index.js';
import { databaseUrl, openStore } from '../store/postgres/database.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import { allJobs } from './support/all-jobs.js';
import { enqueueCounts, producer } from './support/producer.js';
import { account, readRuns } from './support/runs.js';
import type { WorkerSettings, WorkerStore } from './support/worker.js';
import { exitDuringStop, killAll, startWorker, stopWorker, type Worker } from './support/workers.js';
import { until } from '../support/until.js';

/** The store the test reads, where the workers find it, and how to remove it. */
const STORES: Record<string, () => Promise<{ store: Store; where: WorkerStore; cleanup: () => Promise<void> }>> = {
  postgres: async () => {
    const { store, schema, cleanup } = await openStore({ onError: () => undefined });
    return { store, where: { kind: 'postgres', url: databaseUrl(), schema }, cleanup };
  },
  sqlite: async () => {
    const temp = tempDatabase('dispatch-exit-');
    return { store: sqliteStore({ path: temp.path }), where: { kind: 'sqlite', path: temp.path }, cleanup: async () => temp.remove() };
  },
};

describe.each(Object.keys(STORES))('%s faults: a process that exits in the middle of stop()', (kind) => {
  let store: Store;
  let where: WorkerStore;
  let cleanup: () => Promise<void>;
  let enqueuer: Dispatcher;
  let dir: string;
  const workers: Worker[] = [];

  beforeEach(async () => {
    ({ store, where, cleanup } = await STORES[kind]!());
    enqueuer = producer(store);
    dir = await mkdtemp(join(tmpdir(), 'dispatch-exit-'));
  });

  afterEach(async () => {
    await killAll(workers);
    await enqueuer.stop();
    await store.close();
    await cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('loses no job whether it exits while draining or while giving jobs back', { timeout: 90_000 }, async () => {
    const logs = ['survivor', 'draining', 'giving-back'].map((name) => join(dir, `${name}.log`));
    const settings = (log: string): WorkerSettings => ({
      store: where,
      log,
      concurrency: 10,
      workMs: 100,
      steadyWork: true,
      lease: '1500ms',
      heartbeat: '300ms',
      reapInterval: '200ms',
    });
    const runsIn = (log: string) => [...readRuns([log]).values()].flat();
    const busy = (log: string) => until(() => runsIn(log).filter((r) => r.outcome === 'cut').length >= 5, `${log} to have jobs in flight`);

    const survivor = await startWorker(settings(logs[0]!));
    const draining = await startWorker(settings(logs[1]!));
    workers.push(survivor, draining);
    const ids = await enqueueCounts(enqueuer, 400);

    // Exits 60 ms into a stop with a long grace: its handlers are still running, their leases held.
    await busy(logs[1]!);
    await exitDuringStop(draining, '5s', 60);
    expect((await draining.exited).code).toBe(7);

    // Exits 80 ms into a stop whose grace ran out at 30: its handlers were aborted and given back.
    const givingBack = await startWorker(settings(logs[2]!));
    workers.push(givingBack);
    await busy(logs[2]!);
    await exitDuringStop(givingBack, 30, 80);
    expect((await givingBack.exited).code).toBe(7);
    expect(runsIn(logs[2]!).some((r) => r.outcome === 'aborted')).toBe(true);

    await until(async () => (await store.counts()).completed === ids.length, `${ids.length} completed jobs`);
    await stopWorker(survivor);
    expect(survivor.output()).toBe('');

    const jobs = await allJobs(store);
    const runs = readRuns(logs);
    const result = account(ids, jobs, runs, new Set([1, 2]));
    expect(result.lost, 'accepted jobs not in a final state').toEqual([]);
    expect(result.finals).toEqual({ completed: ids.length });
    expect(result.unexplained, 'jobs whose work was done twice with no lease expiry to explain it').toEqual([]);
    for (const job of jobs) {
      const list = runs.get(job.id) ?? [];
      // Beyond the first, a run follows a lease that expired or a run the shutdown aborted and gave back.
      const givenBack = list.filter((r) => r.outcome === 'aborted').length;
      expect(list.length, `job ${job.id}: ${JSON.stringify(list)}, attempt ${job.attempt}`).toBeLessThanOrEqual(job.attempt + givenBack);
      if (job.attempt > 1) expect(job.lastError?.name, `job ${job.id}`).toBe('LeaseExpiredError');
    }
  });
});
