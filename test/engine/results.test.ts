import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import {
  CorruptJobError,
  createDispatcher,
  type Dispatcher,
  DispatchError,
  InvalidOptionError,
  InvalidOutputError,
  JobNotFoundError,
  LifecycleError,
  memoryStore,
  sqliteStore,
  type Store,
  TimeoutError,
  WaitTimeoutError,
} from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { checkOutput } from '../../src/job/output.js';
import { STORE_METHODS } from '../../src/store/contract.js';
import { databaseUrl, dropSchema, freshSchema } from '../store/postgres/database.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import { type Child, forkReady } from '../support/child-process.js';
import { until } from '../support/until.js';
import { invoice, type Location } from './results/jobs.js';

/** Far longer than any wait here may take: what resolves in time was told, not polled. */
const POLL_MS = 30_000;
const MiB = 1024 * 1024;

interface Target {
  store: Store;
  /** Where another process finds the same jobs; none for the memory store. */
  location?: Location;
  cleanup: () => Promise<void>;
}

const targets: Record<string, () => Target> = {
  memory: () => ({ store: memoryStore(), cleanup: async () => undefined }),
  sqlite: () => {
    const temp = tempDatabase('dispatch-results-');
    return {
      store: sqliteStore({ path: temp.path, pollInterval: POLL_MS }),
      location: { kind: 'sqlite', path: temp.path },
      cleanup: async () => temp.remove(),
    };
  },
  postgres: () => {
    const schema = freshSchema();
    return {
      store: postgresStore({ connectionString: databaseUrl(), schema, pollInterval: POLL_MS, onError: () => undefined }),
      location: { kind: 'postgres', url: databaseUrl(), schema },
      cleanup: () => dropSchema(schema).then(() => undefined),
    };
  },
};

/** What a settled promise came to, and when, without a rejection going unhandled meanwhile. */
function watch<T>(promise: Promise<T>) {
  const outcome = promise.then(
    (value) => ({ value, error: undefined, at: Date.now() }),
    (error: unknown) => ({ value: undefined, error, at: Date.now() }),
  );
  return outcome;
}

/** A fresh target per test, the dispatchers made on it and the processes started, all stopped after it. */
function useTarget(kind: string) {
  const state = { target: undefined as unknown as Target, dispatchers: [] as Dispatcher[], children: [] as Child[] };

  afterEach(async () => {
    for (const { child } of state.children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const d of state.dispatchers.splice(0).reverse()) await d.stop();
    await state.target.cleanup();
  });

  return {
    get target() {
      return state.target;
    },
    children: state.children,
    fresh(): Target {
      state.target = targets[kind]!();
      return state.target;
    },
    /** A dispatcher on this test's store (or the one given); `start` makes it a worker. */
    async dispatcher(start = false, store: Store = state.target.store): Promise<Dispatcher> {
      const d = createDispatcher({ store, onError: () => undefined }).register(invoice);
      state.dispatchers.push(d);
      if (start) await d.start();
      return d;
    },
  };
}

/** Completes a job as the runner will: lease it, check the handler's value, write the outcome with its JSON. */
async function completeWith(store: Store, id: string, value: unknown): Promise<void> {
  const { jobs } = await store.lease({ limit: 1, queueRoom: {}, leaseMs: 30_000, names: ['invoice'] });
  expect(jobs.map((j) => j.id)).toEqual([id]);
  const resultJson = checkOutput(invoice, value, MiB);
  expect(await store.write([{ id, from: 'running', to: 'completed', token: jobs[0]!.leaseToken, attempt: 1, resultJson }])).toEqual([true]);
}

describe.each(Object.keys(targets))('job results and waitFor: %s store', (kind) => {
  const t = useTarget(kind);
  const fresh = () => t.fresh();
  const dispatcher = (start = false) => t.dispatcher(start);

  it('stores the parsed result of a completion; getJob and waitFor return it, typed', async () => {
    fresh();
    const d = await dispatcher();
    const job = await d.enqueue(invoice, { lines: [5, 7] });
    expect(job.result).toBeNull();
    expectTypeOf(job.result).toEqualTypeOf<{ total: number; currency: string } | null>();
    await completeWith(d.store, job.id, { total: 12 });
    expect(await d.getJob(job.id)).toMatchObject({ state: 'completed', result: { total: 12, currency: 'EUR' } });
    const done = await d.waitFor(job, { timeout: '5s' });
    expectTypeOf(done.result).toEqualTypeOf<{ total: number; currency: string } | null>();
    expect(done.result?.currency).toBe('EUR');
    expect((await d.waitFor(job.id)).result).toEqual({ total: 12, currency: 'EUR' });
  });

  it('refuses a result the schema does not take, naming the field, and stores none', async () => {
    fresh();
    const d = await dispatcher();
    const job = await d.enqueue(invoice, { lines: [1] });
    const refusal = (() => {
      try {
        return checkOutput(invoice, { total: 'one' }, MiB);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(InvalidOutputError);
    expect(refusal).toMatchObject({ field: 'output.total' });
    const { jobs } = await d.store.lease({ limit: 1, queueRoom: {}, leaseMs: 30_000, names: ['invoice'] });
    // The attempt fails: its write carries the error and no result.
    const lastError = { name: 'InvalidOutputError', message: (refusal as Error).message };
    await d.store.write([{ id: job.id, from: 'running', to: 'dlq', token: jobs[0]!.leaseToken, lastError }]);
    expect(await d.waitFor(job.id, { timeout: '5s' })).toMatchObject({ state: 'dlq', result: null, lastError });
  });

  it('waitFor resolves at once for a job already at rest', async () => {
    fresh();
    const d = await dispatcher();
    const job = await d.enqueue(invoice, { lines: [] });
    await d.cancel(job.id);
    const started = Date.now();
    expect(await d.waitFor(job.id, { timeout: 1 })).toMatchObject({ id: job.id, state: 'cancelled', result: null });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('waitFor resolves when another dispatcher on the store completes the job', async () => {
    fresh();
    const producer = await dispatcher();
    const job = await producer.enqueue(invoice, { lines: [1, 2] });
    const waited = watch(producer.waitFor(job, { timeout: '20s' }));
    await dispatcher(true);
    const { value, error } = await waited;
    expect(error).toBeUndefined();
    expect(value).toMatchObject({ id: job.id, state: 'completed' });
  });

  it('waitFor resolves when the job is cancelled meanwhile, from any dispatcher', async () => {
    fresh();
    const producer = await dispatcher();
    const other = await dispatcher();
    const job = await producer.enqueue(invoice, { lines: [] }, { delay: '1h' });
    const waited = watch(producer.waitFor(job.id, { timeout: '20s' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const cancelledAt = Date.now();
    await other.cancel(job.id);
    const { value, at } = await waited;
    expect(value).toMatchObject({ state: 'cancelled' });
    expect(at - cancelledAt).toBeLessThan(1000);
  });

  it('waitFor rejects with a WaitTimeoutError, a TimeoutError, once the timeout has passed', async () => {
    fresh();
    const d = await dispatcher();
    const job = await d.enqueue(invoice, { lines: [] });
    const started = Date.now();
    const { error, at } = await watch(d.waitFor(job.id, { timeout: 150 }));
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toBeInstanceOf(DispatchError);
    expect(error).toMatchObject({ jobId: job.id, timeoutMs: 150, state: 'pending' });
    expect((error as Error).message).toMatch(/did not come to rest within 150 ms/);
    expect(at - started).toBeGreaterThanOrEqual(140);
    expect(at - started).toBeLessThan(3000);
    // Only the wait ended: the job is as it was.
    expect((await d.getJob(job.id))!.state).toBe('pending');
  });

  it('waitFor refuses an unknown job, a bad id and a bad timeout', async () => {
    fresh();
    const d = await dispatcher();
    await expect(d.waitFor('987654321')).rejects.toThrow(JobNotFoundError);
    await expect(d.waitFor('')).rejects.toThrow(InvalidOptionError);
    await expect(d.waitFor(42 as unknown as string)).rejects.toThrow(InvalidOptionError);
    await expect(d.waitFor('1', { timeout: 0 })).rejects.toMatchObject({ field: 'timeout' });
    await expect(d.waitFor('1', { timeout: 'soon' as never })).rejects.toMatchObject({ field: 'timeout' });
  });

  it('waitFor ends with a LifecycleError when its dispatcher stops first', async () => {
    fresh();
    const d = await dispatcher();
    const job = await d.enqueue(invoice, { lines: [] });
    const waited = watch(d.waitFor(job.id));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await d.stop();
    const { error } = await waited;
    expect(error).toBeInstanceOf(LifecycleError);
    await expect(d.waitFor(job.id)).rejects.toThrow(LifecycleError);
  });

  it('waitFor polls, with a growing interval, a store that has no rest signal', async () => {
    fresh();
    const { watchRest: _, ...rest } = Object.fromEntries(
      ['kind', 'maxSleepMs', ...STORE_METHODS].map((key) => {
        const value = (t.target.store as unknown as Record<string, unknown>)[key];
        return [key, typeof value === 'function' ? value.bind(t.target.store) : value];
      }),
    ) as Record<string, unknown>;
    let gets = 0;
    const plain = { ...rest, get: (id: string) => (gets++, t.target.store.get(id)) } as unknown as Store;
    expect(plain.watchRest).toBeUndefined();
    const d = await t.dispatcher(false, plain);
    const job = await d.enqueue(invoice, { lines: [] });
    const waited = watch(d.waitFor(job.id, { timeout: '10s' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // From 10 ms, doubling up to a second: a handful of reads, not one per millisecond.
    expect(gets).toBeGreaterThanOrEqual(3);
    expect(gets).toBeLessThan(12);
    await completeWith(plain, job.id, { total: 0 });
    const { value, error } = await waited;
    expect(error).toBeUndefined();
    expect(value).toMatchObject({ state: 'completed', result: { total: 0, currency: 'EUR' } });
  });
});

describe('a result the store cannot read back', () => {
  it('is a defect of the row: getJob shows no result, waitFor rejects with a CorruptJobError', async () => {
    const temp = tempDatabase('dispatch-results-');
    const d = createDispatcher({ store: sqliteStore({ path: temp.path }) }).register(invoice);
    try {
      const job = await d.enqueue(invoice, { lines: [] });
      const db = new Database(temp.path);
      db.prepare(`UPDATE dispatch_jobs SET state = 'completed', result = '{"total": 1' WHERE id = ?`).run(Number(job.id));
      db.close();
      const stored = await d.store.get(job.id);
      expect(stored).toMatchObject({ state: 'completed', result: null, defect: { field: 'result' } });
      expect(stored!.defect!.reason).toMatch(/is not JSON/);
      expect((await d.getJob(job.id))!.result).toBeNull();
      const error = await d.waitFor(job.id).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CorruptJobError);
      expect(error).toMatchObject({ jobId: job.id, field: 'result' });
    } finally {
      await d.stop();
      temp.remove();
    }
  });
});

describe.each(['sqlite', 'postgres'])('waitFor across processes: %s store', (kind) => {
  const t = useTarget(kind);

  it('resolves soon after another process completes the job, well before any poll', async () => {
    const target = t.fresh();
    const d = await t.dispatcher();
    // Opens the store (and makes the schema) before the worker expects it.
    await d.counts();
    const worker = await forkReady(fileURLToPath(new URL('./results/worker.ts', import.meta.url)), [JSON.stringify(target.location)]);
    t.children.push(worker);
    const completions = new Map<string, number>();
    worker.child.on('message', (m: { completed?: string; at?: number }) => {
      if (m.completed) completions.set(m.completed, m.at!);
    });

    for (let round = 0; round < 3; round++) {
      // Due a little later, so it completes after the wait's own second look (at 100 ms): only the signal can tell it.
      const job = await d.enqueue(invoice, { lines: [round] }, { delay: 300 });
      const { value, error, at } = await watch(d.waitFor(job, { timeout: '20s' }));
      expect(error, worker.output()).toBeUndefined();
      expect(value).toMatchObject({ id: job.id, state: 'completed' });
      // The worker reports after its write is stored; the wait heard of it well within the poll.
      await until(() => completions.has(job.id), `the worker to report job ${job.id}`, 5000, 10);
      if (process.env.SHOW_LATENCY) console.log(kind, 'rest heard', at - completions.get(job.id)!, 'ms after the worker stored it');
      expect(at - completions.get(job.id)!, `round ${round}`).toBeLessThan(1500);
      expect(at - job.createdAt.getTime(), `round ${round}`).toBeLessThan(POLL_MS / 3);
    }
    worker.child.send('stop');
    expect((await worker.exited).code, worker.output()).toBe(0);
  }, 60_000);
});
