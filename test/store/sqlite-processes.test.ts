import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, sqliteStore, type StoredJob } from '../../src/index.js';
import { allJobs as allJobsIn } from '../reliability/support/all-jobs.js';
import { spawnScript } from './sqlite/processes.js';
import { loggedIds } from '../support/logged-ids.js';
import { until } from '../support/until.js';
import { tempDatabase } from './sqlite/temp-file.js';
import type { WorkerSettings } from './sqlite/worker.js';

// The same definition the workers register; here it only enqueues.
const count = defineJob({ name: 'count', input: z.object({ n: z.number() }), handler: () => {} });

async function enqueueCountJobs(path: string, total: number): Promise<void> {
  const dispatcher = createDispatcher({ store: sqliteStore({ path }) });
  dispatcher.register(count);
  for (let n = 0; n < total; n += 1000) {
    await dispatcher.enqueueMany(count, Array.from({ length: Math.min(1000, total - n) }, (_, i) => ({ n: n + i })));
  }
  await dispatcher.stop();
}

/**
 * Waits until the worker's first `hangAfter` runs are stored as completed. A
 * finished handler's write can still be on its way; once every one has
 * landed, the jobs the worker holds are exactly the hung ones.
 */
async function untilFinishedRunsStored(path: string, log: string): Promise<void> {
  const finished = loggedIds(log).slice(0, victimSettings.hangAfter);
  const store = sqliteStore({ path });
  await store.open();
  try {
    await until(async () => {
      const jobs = await Promise.all(finished.map((id) => store.get(id)));
      return jobs.every((job) => job?.state === 'completed');
    }, "the worker's finished runs to be stored as completed");
  } finally {
    await store.close();
  }
}

async function allJobs(path: string): Promise<StoredJob[]> {
  const store = sqliteStore({ path });
  await store.open();
  const jobs = await allJobsIn(store);
  await store.close();
  return jobs;
}

function tally(ids: string[]): Map<string, number> {
  const runs = new Map<string, number>();
  for (const id of ids) runs.set(id, (runs.get(id) ?? 0) + 1);
  return runs;
}

/**
 * Settings for crash runs. Short leases, so a dead worker's jobs come back
 * within seconds, yet long enough that a survivor stalled by a busy machine
 * keeps its own leases. The victim's handlers hang after `hangAfter` runs, so
 * when it is killed it holds exactly `concurrency` jobs, all mid-handler.
 */
const crashSettings: WorkerSettings = { concurrency: 10, workMs: 5, lease: '3s', heartbeat: '500ms', reapInterval: '250ms' };
const victimSettings: WorkerSettings = { ...crashSettings, hangAfter: 300 };
const victimHolds = victimSettings.hangAfter! + victimSettings.concurrency;

/**
 * After a worker was killed: every job completed; the jobs that ran twice are
 * exactly the ones it held when it died, each reaped once (attempt 2, lease
 * expired) and run once more elsewhere; every other job ran once.
 */
function expectRecoveredFromKill(jobs: StoredJob[], total: number, victimLog: string[], otherLogs: string[][]): void {
  expect(jobs).toHaveLength(total);
  expect(jobs.filter((j) => j.state !== 'completed').map((j) => `${j.id}: ${j.state}`)).toEqual([]);
  const heldAtDeath = new Set(victimLog.slice(victimSettings.hangAfter));
  expect(heldAtDeath.size).toBe(victimSettings.concurrency);

  const runs = tally([...victimLog, ...otherLogs.flat()]);
  const story = (job: StoredJob) => ({ id: job.id, runs: runs.get(job.id) ?? 0, attempt: job.attempt, lastError: job.lastError?.name ?? null });
  const held = jobs.filter((j) => heldAtDeath.has(j.id));
  expect(held.map(story)).toEqual(held.map((j) => ({ id: j.id, runs: 2, attempt: 2, lastError: 'LeaseExpiredError' })));
  const unusual = jobs.filter((j) => !heldAtDeath.has(j.id)).map(story).filter((s) => s.runs !== 1 || s.attempt !== 1);
  expect(unusual, 'jobs the victim did not hold that ran other than once').toEqual([]);
}

describe('sqlite store: many processes on one file', () => {
  let temp: ReturnType<typeof tempDatabase>;
  const children: Array<ReturnType<typeof spawnScript>> = [];

  beforeEach(() => {
    temp = tempDatabase();
  });

  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    temp.remove();
  });

  function worker(name: string, settings: WorkerSettings) {
    const log = join(temp.dir, `${name}.log`);
    const child = spawnScript('worker.ts', [temp.path, log, JSON.stringify(settings)]);
    children.push(child);
    return { child, log };
  }

  async function expectExitedCleanly(child: ReturnType<typeof spawnScript>): Promise<void> {
    const code = await child.exited;
    expect(code, child.output()).toBe(0);
  }

  it('four workers complete 20,000 jobs, each exactly once', async () => {
    const total = 20_000;
    await enqueueCountJobs(temp.path, total);
    const settings: WorkerSettings = { concurrency: 20, workMs: 0, lease: '30s', heartbeat: '10s', reapInterval: '15s' };
    const workers = Array.from({ length: 4 }, (_, i) => worker(`w${i}`, settings));
    for (const { child } of workers) await expectExitedCleanly(child);

    const logs = workers.map(({ log }) => loggedIds(log));
    const runs = tally(logs.flat());
    const jobs = await allJobs(temp.path);
    expect(jobs).toHaveLength(total);
    expect(jobs.filter((j) => j.state === 'completed')).toHaveLength(total);
    expect(jobs.every((j) => j.attempt === 1 && runs.get(j.id) === 1)).toBe(true);
    expect(runs.size).toBe(total);
    // Every worker took part: the file was shared, not drained by whoever started first.
    for (const log of logs) expect(log.length).toBeGreaterThan(0);
  }, 60_000);

  it('survivors reap the leases of a worker killed mid-run, and only its jobs in flight run twice', async () => {
    const total = 4000;
    await enqueueCountJobs(temp.path, total);
    const victim = worker('victim', victimSettings);
    const survivors = Array.from({ length: 3 }, (_, i) => worker(`survivor${i}`, crashSettings));
    await until(() => loggedIds(victim.log).length >= victimHolds, `the victim to hold ${victimSettings.concurrency} jobs`);
    await untilFinishedRunsStored(temp.path, victim.log);
    victim.child.kill('SIGKILL');
    expect(await victim.child.exited).toBeNull();
    for (const { child } of survivors) await expectExitedCleanly(child);

    const jobs = await allJobs(temp.path);
    expectRecoveredFromKill(jobs, total, loggedIds(victim.log), survivors.map(({ log }) => loggedIds(log)));
    for (const { log } of survivors) expect(loggedIds(log).length).toBeGreaterThan(0);
  }, 60_000);

  it('a single worker killed mid-run and started again on the same file finishes every job', async () => {
    const total = 1500;
    await enqueueCountJobs(temp.path, total);
    const first = worker('first', victimSettings);
    await until(() => loggedIds(first.log).length >= victimHolds, `the worker to hold ${victimSettings.concurrency} jobs`);
    await untilFinishedRunsStored(temp.path, first.log);
    first.child.kill('SIGKILL');
    expect(await first.child.exited).toBeNull();
    const again = worker('again', crashSettings);
    await expectExitedCleanly(again.child);

    const jobs = await allJobs(temp.path);
    expectRecoveredFromKill(jobs, total, loggedIds(first.log), [loggedIds(again.log)]);
  }, 60_000);

  it('a process killed while enqueueing leaves a consistent file holding every enqueue that resolved', async () => {
    const enqueuer = spawnScript('enqueuer.ts', [temp.path]);
    children.push(enqueuer);
    const resolved = () => enqueuer.output().split('\n').filter((l) => l.startsWith('resolved '));
    await until(() => resolved().length >= 40, '40 enqueues to resolve');
    enqueuer.kill('SIGKILL');
    expect(await enqueuer.exited).toBeNull();

    const db = new Database(temp.path);
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const sizes = new Map(
        (db.prepare(`SELECT input ->> '$.batch' AS batch, count(*) AS n FROM dispatch_jobs GROUP BY 1`).all() as Array<{ batch: number; n: number }>).map(
          (r) => [r.batch, r.n],
        ),
      );
      const reported = resolved().map((line) => line.split(' ').map(Number));
      for (const [, batch, size] of reported) expect(sizes.get(batch!), `batch ${batch}`).toBe(size);
      // All or nothing: a batch in the file is whole, whether or not its promise had resolved.
      for (const [batch, n] of sizes) expect(n, `batch ${batch}`).toBe(batchSize(batch));
    } finally {
      db.close();
    }
    const store = sqliteStore({ path: temp.path });
    await store.open();
    expect((await store.counts()).pending).toBeGreaterThan(0);
    await store.close();
  }, 60_000);
});

/** Mirrors the enqueuer: batches of varying size, so a kill often lands inside a large one. */
function batchSize(batch: number): number {
  return 1 + (batch % 7) * 300;
}
