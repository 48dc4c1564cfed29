import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOB_STATES, sqliteStore } from '../../../src/index.js';
import { tempDatabase } from '../../store/sqlite/temp-file.js';
import { allJobs } from '../support/all-jobs.js';
import { enqueueCounts, producer } from '../support/producer.js';
import { account, readRuns } from '../support/runs.js';
import type { WorkerSettings } from '../support/worker.js';
import { killAll, killWorker, startWorker, type Worker } from '../support/workers.js';
import { until } from '../../support/until.js';

describe('sqlite faults: a worker killed in the middle of its writes', () => {
  let temp: ReturnType<typeof tempDatabase>;
  const workers: Worker[] = [];

  beforeEach(() => {
    temp = tempDatabase('dispatch-sqlite-kill-');
  });

  afterEach(async () => {
    await killAll(workers);
    temp.remove();
  });

  /** Opens the file as a fresh process would and checks it: intact, every accepted job there, in a state of the chart. */
  async function reopenAndCheck(ids: readonly string[]): Promise<void> {
    const raw = new Database(temp.path);
    try {
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      // A running job always has its lease: no write was torn in half.
      expect(raw.prepare(`SELECT count(*) AS n FROM dispatch_jobs WHERE state = 'running' AND (lease_token IS NULL OR lease_expires_at IS NULL)`).get()).toEqual({ n: 0 });
    } finally {
      raw.close();
    }
    const store = sqliteStore({ path: temp.path });
    await store.open();
    try {
      const jobs = await allJobs(store);
      expect(jobs.map((j) => j.id).sort()).toEqual([...ids].sort());
      expect(jobs.filter((j) => !JOB_STATES.includes(j.state))).toEqual([]);
    } finally {
      await store.close();
    }
  }

  it('leaves a consistent file every time; the jobs it held come back and every job completes', { timeout: 90_000 }, async () => {
    const enqueuer = producer(sqliteStore({ path: temp.path }));
    // Four kills, and heartbeats late on a loaded machine (a 1 s lease), may each cost a job an attempt:
    // attempts enough for all of them, as this test is about the file and the jobs, not the DLQ rule.
    const ids = await enqueueCounts(enqueuer, 6000, 1000, { maxRetries: 20 });
    await enqueuer.stop();
    const settings = (log: string, exitWhenIdle = false): WorkerSettings => ({
      store: { kind: 'sqlite', path: temp.path },
      log,
      concurrency: 20,
      workMs: 2,
      lease: '1s',
      heartbeat: '300ms',
      reapInterval: '200ms',
      exitWhenIdle,
    });

    // A worker's writes (leases, outcomes, heartbeats, reaps) follow each other without pause:
    // killed once it has done some work, it dies with handlers running and, often, a transaction open.
    const logs: string[] = [];
    const died = new Set<number>();
    for (let kill = 0; kill < 4; kill++) {
      const log = join(temp.dir, `killed-${kill}.log`);
      const worker = await startWorker(settings(log));
      workers.push(worker);
      logs.push(log);
      await until(() => {
        const runs = [...readRuns([log]).values()].flat();
        return runs.filter((r) => r.outcome === 'done').length >= 200 && runs.some((r) => r.outcome === 'cut');
      }, `worker ${kill} to be busy`);
      await killWorker(worker);
      died.add(kill);
      await reopenAndCheck(ids);
    }

    // One more worker finishes the file and exits once nothing is left.
    const last = join(temp.dir, 'last.log');
    logs.push(last);
    const finisher = await startWorker(settings(last, true));
    workers.push(finisher);
    expect(await finisher.exited, finisher.output()).toEqual({ code: 0, signal: null });
    await reopenAndCheck(ids);

    const store = sqliteStore({ path: temp.path });
    await store.open();
    const jobs = await allJobs(store);
    await store.close();
    const runs = readRuns(logs);
    const result = account(ids, jobs, runs, died);
    expect(result.lost, 'accepted jobs not in a final state').toEqual([]);
    expect(result.finals).toEqual({ completed: ids.length });
    expect(result.unexplained, 'jobs whose work was done twice with no lease expiry to explain it').toEqual([]);
    const cut = [...runs.values()].flat().filter((r) => r.outcome === 'cut');
    expect(cut.length).toBeGreaterThanOrEqual(4);
    for (const job of jobs) {
      if (job.attempt > 1) expect(job.lastError?.name, `job ${job.id}`).toBe('LeaseExpiredError');
      expect((runs.get(job.id) ?? []).length, `job ${job.id}: runs beyond its attempts`).toBeLessThanOrEqual(job.attempt);
    }
  });
});
