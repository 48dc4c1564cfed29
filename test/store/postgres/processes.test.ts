import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Dispatcher } from '../../../src/index.js';
import { type PostgresStore } from '../../../src/postgres.js';
import { databaseUrl, openStore } from './database.js';
import type { WorkerSettings } from './worker.js';
import { startWorker, stopWorker, type Worker } from './workers.js';
import { loggedIds } from '../../support/logged-ids.js';
import { until } from '../../support/until.js';

// The parent only enqueues; the handler runs in the workers.
const count = defineJob({ name: 'count', input: z.object({ n: z.number() }), handler: () => undefined });

describe('postgres store: many worker processes on one database', () => {
  let store: PostgresStore;
  let schema: string;
  let cleanup: () => Promise<void>;
  let enqueuer: Dispatcher;
  let dir: string;
  let workers: Worker[] = [];

  beforeEach(async () => {
    ({ store, schema, cleanup } = await openStore({ onError: () => undefined }));
    enqueuer = createDispatcher({ store }).register(count);
    dir = await mkdtemp(join(tmpdir(), 'dispatch-pg-workers-'));
  });

  afterEach(async () => {
    for (const worker of workers) if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    workers = [];
    await enqueuer.stop();
    await cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const start = (n: number, settings: Parameters<typeof startWorker>[3]) =>
    Promise.all(Array.from({ length: n }, (_, i) => startWorker(databaseUrl(), schema, join(dir, `worker-${i}.log`), settings)));

  const enqueue = async (total: number) => {
    const ids: string[] = [];
    // In chunks, so the workers are woken again and again while they work.
    for (let from = 0; from < total; from += 1000) {
      const inputs = Array.from({ length: Math.min(1000, total - from) }, (_, i) => ({ n: from + i }));
      ids.push(...(await enqueuer.enqueueMany(count, inputs)).map((j) => j.id));
    }
    return ids;
  };

  const runsById = () => {
    const runs = new Map<string, number[]>();
    workers.forEach((worker, w) => {
      for (const id of loggedIds(worker.log)) runs.set(id, [...(runs.get(id) ?? []), w]);
    });
    return runs;
  };

  it('completes every one of 20,000 jobs exactly once across 4 processes', { timeout: 90_000 }, async () => {
    workers = await start(4, { concurrency: 50, workMs: 0 });
    const total = 20_000;
    const ids = await enqueue(total);
    await until(async () => (await store.counts()).completed === total, `${total} completed jobs`);
    await Promise.all(workers.map(stopWorker));

    const runs = runsById();
    expect(runs.size).toBe(total);
    expect([...runs.values()].filter((by) => by.length !== 1)).toEqual([]);
    expect(new Set(runs.keys())).toEqual(new Set(ids));
    expect(await store.counts()).toEqual({ pending: 0, running: 0, retrying: 0, completed: total, failed: 0, dlq: 0, cancelled: 0 });
    for (const worker of workers) {
      // Woken by notifications, every process took a share, and none reported a failure.
      expect(loggedIds(worker.log).length).toBeGreaterThan(0);
      expect(worker.output()).not.toContain('worker ');
    }
  });

  it('finishes every job after a worker is killed with SIGKILL mid-run; only its jobs in flight run twice', { timeout: 90_000 }, async () => {
    const settings: WorkerSettings = { concurrency: 10, workMs: 20, lease: '1s', heartbeat: '300ms', reapInterval: '200ms' };
    // The victim finishes its first jobs, then hangs on every later one: when it dies, those are in flight.
    const hangAfter = 30;
    const victim = await startWorker(databaseUrl(), schema, join(dir, 'victim.log'), { ...settings, hangAfter });
    workers = [victim, ...(await start(2, settings))];
    const total = 1500;
    const ids = await enqueue(total);
    await until(() => loggedIds(victim.log).length > hangAfter, 'the victim to hang on a job');
    const finishedThere = loggedIds(victim.log).slice(0, hangAfter);
    await until(async () => {
      const jobs = await Promise.all(finishedThere.map((id) => store.get(id)));
      return jobs.every((job) => job?.state === 'completed');
    }, "the victim's first jobs to be completed");
    victim.child.kill('SIGKILL');
    expect((await victim.exited).signal).toBe('SIGKILL');
    const inFlight = loggedIds(victim.log).slice(hangAfter);

    await until(async () => (await store.counts()).completed === total, `${total} completed jobs`);
    await Promise.all(workers.slice(1).map(stopWorker));
    for (const survivor of workers.slice(1)) expect(survivor.output()).not.toContain('worker ');

    expect(await store.counts()).toEqual({ pending: 0, running: 0, retrying: 0, completed: total, failed: 0, dlq: 0, cancelled: 0 });
    const runs = runsById();
    expect(new Set(runs.keys())).toEqual(new Set(ids));
    const twice = [...runs].filter(([, by]) => by.length > 1).map(([id]) => id);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(new Set(twice)).toEqual(new Set(inFlight));
    for (const id of inFlight) {
      // Once in the victim, once more in a survivor after the lease ran out and a reaper returned it.
      expect(runs.get(id)!.filter((w) => w === 0)).toHaveLength(1);
      expect(runs.get(id)).toHaveLength(2);
      expect(await store.get(id)).toMatchObject({ state: 'completed', attempt: 2 });
    }
  });
});
