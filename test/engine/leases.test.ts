import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, memoryStore, StoreError } from '../../src/index.js';
import { deferred, harness } from '../support/harness.js';

/** A worker that leased jobs and died: its leases run out with nobody to extend them. */
async function deadWorkerLeases(store: ReturnType<typeof memoryStore>, count: number, name: string) {
  const { jobs } = await store.lease({ limit: count, queueRoom: {}, leaseMs: 1, names: [name] });
  return jobs;
}

describe('leases', () => {
  let stop: () => Promise<void> = async () => {};
  afterEach(() => stop());

  it('returns the jobs of a dead worker to the queue, counting the attempt', async () => {
    const store = memoryStore();
    const attempts: number[] = [];
    const job = defineJob({ name: 'orphan', input: z.object({}), handler: async (_, ctx) => void attempts.push(ctx.attempt) });
    const { dispatcher, reached, events } = harness({ store, reapInterval: 20 });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    const { id } = await dispatcher.enqueue(job, {});
    await deadWorkerLeases(store, 1, job.name);
    await dispatcher.start();
    await reached(id, 'completed');
    expect(attempts).toEqual([2]);
    expect(events.filter((e) => e.jobId === id).map((e) => `${e.from}>${e.to}`)).toEqual([
      'running>pending',
      'pending>running',
      'running>completed',
    ]);
  });

  it('dead-letters a job whose worker died on its last attempt', async () => {
    const store = memoryStore();
    let runs = 0;
    const job = defineJob({ name: 'last', input: z.object({}), maxRetries: 0, handler: async () => void runs++ });
    const { dispatcher, reached } = harness({ store, reapInterval: 20 });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    const { id } = await dispatcher.enqueue(job, {});
    await deadWorkerLeases(store, 1, job.name);
    await dispatcher.start();
    const dead = await reached(id, 'dlq');
    expect(dead.error?.name).toBe('LeaseExpiredError');
    expect(runs).toBe(0);
  });

  it('keeps a long job leased with heartbeats, so it runs once', async () => {
    const store = memoryStore();
    let runs = 0;
    const job = defineJob({
      name: 'long',
      input: z.object({}),
      handler: async () => {
        runs++;
        await new Promise((r) => setTimeout(r, 300));
      },
    });
    const { dispatcher, reached } = harness({ store, lease: 100, heartbeat: 30, reapInterval: 20 });
    stop = () => dispatcher.stop();
    dispatcher.register(job);
    await dispatcher.start();
    const { id } = await dispatcher.enqueue(job, {});
    await reached(id, 'completed');
    expect(runs).toBe(1);
    expect((await dispatcher.getJob(id))!.attempt).toBe(1);
  });

  it('keeps the lease while the outcome write is retried, so a slow store does not run the job twice', async () => {
    const store = memoryStore();
    const write = store.write.bind(store);
    // The first two completion writes fail: the write buffer tries again after 100 and 400 ms, past the 300 ms lease.
    let failures = 0;
    store.write = async (writes) => {
      if (writes.some((w) => w.to === 'completed') && failures < 2) {
        failures++;
        throw new StoreError('the database is busy');
      }
      return write(writes);
    };
    let runs = 0;
    const job = defineJob({ name: 'slow-write', input: z.object({}), handler: async () => void runs++ });
    // Two workers on one store: whichever does not hold the job reaps any lease of it that runs out.
    // Heartbeats every 40 ms hold a 300 ms lease through event-loop stalls of a loaded machine.
    const options = { store, lease: 300, heartbeat: 40, reapInterval: 20 };
    const workers = [harness(options), harness(options)];
    stop = async () => void (await Promise.all(workers.map((w) => w.dispatcher.stop())));
    for (const { dispatcher } of workers) {
      dispatcher.register(job);
      await dispatcher.start();
    }
    const { id } = await workers[0]!.dispatcher.enqueue(job, {});
    // Either worker may lease it; each tells only its own steps.
    await Promise.race(workers.map((w) => w.reached(id, 'completed')));
    expect(failures).toBe(2);
    expect(runs).toBe(1);
    expect((await workers[0]!.dispatcher.getJob(id))!.attempt).toBe(1);
    const steps = workers.flatMap((w) => w.events.filter((e) => e.jobId === id).map((e) => `${e.from}>${e.to}`));
    expect(steps).toEqual(['pending>running', 'running>completed']);
  });

  it('puts the one lease rule of the stores inside the chart: leasing is pending -> running', async () => {
    const { jobMachine } = await import('../../src/index.js');
    const input = { id: '1', name: 'x', queue: 'q', attempt: 0, maxRetries: 1, timeoutMs: 10 };
    const pending = jobMachine.resolveState({ value: 'pending', context: { ...input, retryDelayMs: 0, lastError: null, deadLetter: true } });
    expect(pending.can({ type: 'LEASE' })).toBe(true);
    // A stored `retrying` row whose runAt has passed is a job whose backoff `after` fired: pending.
    const retrying = jobMachine.resolveState({ value: 'retrying', context: { ...input, retryDelayMs: 0, lastError: null, deadLetter: true } });
    expect(retrying.can({ type: 'LEASE' })).toBe(false);
    const backoffDone = jobMachine.getTransitionData(retrying, { type: 'xstate.after.backoff.job.retrying' } as never);
    expect(backoffDone.map((t) => t.target?.[0]?.key)).toEqual(['pending']);
  });
});

describe('a job leased again while its last write is still on its way', () => {
  it('keeps the new run when the old write is finally answered', async () => {
    const store = memoryStore();
    const write = store.write.bind(store);
    const heldWrite = deferred();
    const extend = store.extend.bind(store);
    let holding = true;
    let writeHung = false;
    // The first outcome write hangs, as a write to a database that went away would; until it is
    // answered, the worker's heartbeats fail too, so its lease runs out.
    store.write = async (writes) => {
      if (holding && writes.some((w) => w.to === 'completed')) {
        holding = false;
        writeHung = true;
        await heldWrite.promise;
        writeHung = false;
      }
      return write(writes);
    };
    store.extend = async (leases, leaseMs) => {
      if (writeHung) throw new StoreError('the database went away');
      return extend(leases, leaseMs);
    };
    const secondRun = deferred();
    const secondStarted = deferred();
    const job = defineJob({
      name: 'twice',
      input: z.object({}),
      handler: async (_, ctx) => {
        if (ctx.attempt === 2) {
          secondStarted.resolve();
          await secondRun.promise;
        }
      },
    });
    const worker = harness({ store, lease: 100, heartbeat: 30, reapInterval: 60_000 });
    const admin = harness({ store });
    worker.dispatcher.register(job);
    admin.dispatcher.register(job);
    const { id } = await admin.dispatcher.enqueue(job, {});
    await worker.dispatcher.start();
    // The first run is done, but its write hangs; its lease runs out and another process reaps it.
    await new Promise((r) => setTimeout(r, 200));
    expect(await admin.dispatcher.reap()).toBe(1);
    await secondStarted.promise;
    // The old write lands now and loses its compare-and-set; the second run must not be forgotten.
    heldWrite.resolve();
    await new Promise((r) => setTimeout(r, 20));
    secondRun.resolve();
    await worker.reached(id, 'completed');
    expect(await admin.dispatcher.getJob(id)).toMatchObject({ state: 'completed', attempt: 2 });
    await worker.dispatcher.stop({ grace: '1s' });
    await admin.dispatcher.stop();
  });
});
