import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Dispatcher, type TransitionEvent } from '../../../src/index.js';
import { deferred } from '../../support/harness.js';
import { until } from '../../support/until.js';
import { databaseUrl, openStore, sql } from './database.js';

describe('postgres: a job enqueued beside an idle worker is leased by its own insert', () => {
  const ends: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (ends.length > 0) await ends.pop()!();
  });

  /** A dispatcher with one job on a fresh schema; `leased` holds the ids each lease statement answered. */
  async function setUp(options: { concurrency?: number; pool?: pg.Pool; handler?: (n: number) => Promise<void> } = {}) {
    const { store, schema, cleanup } = await openStore({ onError: () => undefined, ...(options.pool ? { pool: options.pool } : {}) });
    ends.push(cleanup);
    const leased: string[] = [];
    const lease = store.lease.bind(store);
    store.lease = async (request) => {
      const result = await lease(request);
      leased.push(...result.jobs.map((j) => j.id));
      return result;
    };
    let offers = 0;
    const offer = store.offer.bind(store);
    store.offer = (request, handed) => {
      offers++;
      return offer(request, handed);
    };
    const ran: number[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const job = defineJob({
      name: 'handed',
      input: z.object({ n: z.number() }),
      handler: async ({ n }) => {
        mostAtOnce = Math.max(mostAtOnce, ++running);
        ran.push(n);
        await (options.handler?.(n) ?? Promise.resolve());
        running--;
      },
    });
    const dispatcher: Dispatcher = createDispatcher({ store, concurrency: options.concurrency ?? 4 });
    dispatcher.register(job);
    const events: TransitionEvent[] = [];
    dispatcher.events$.subscribe({ next: (e) => void events.push(e) });
    await dispatcher.start();
    ends.push(() => dispatcher.stop({ grace: 5_000 }));
    // The supervisor's first lease has come back empty: it waits, its room offered.
    await until(async () => offers > 0, 'the worker to offer its room');
    return { store, schema, dispatcher, job, leased, ran, events, mostAtOnce: () => mostAtOnce };
  }

  it("runs it with no lease statement between the insert and the handler, its history and events as a leased job's", async () => {
    const { dispatcher, job, leased, ran, events } = await setUp();
    const { id } = await dispatcher.enqueue(job, { n: 1 });
    await until(async () => (await dispatcher.getJob(id))?.state === 'completed', 'the job to complete');
    expect(ran).toEqual([1]);
    expect(leased).not.toContain(id);
    const history = await dispatcher.jobs.history(id);
    expect(history.map((e) => [e.from, e.to, e.event, e.attempt])).toEqual([
      [null, 'pending', 'xstate.init', 0],
      ['pending', 'running', 'LEASE', 1],
      ['running', 'completed', 'SUCCEED', 1],
    ]);
    expect(events.filter((e) => e.jobId === id).map((e) => e.event)).toEqual(['LEASE', 'SUCCEED']);
  });

  it('keeps to the concurrency: jobs enqueued one after another while one runs wait for its slot', async () => {
    const release = deferred();
    const { dispatcher, job, ran, mostAtOnce } = await setUp({ concurrency: 1, handler: (n) => (n === 1 ? release.promise : Promise.resolve()) });
    const { id: first } = await dispatcher.enqueue(job, { n: 1 });
    await until(async () => ran.includes(1), 'the first job to start');
    const ids = [first];
    for (const n of [2, 3]) ids.push((await dispatcher.enqueue(job, { n })).id);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ran).toEqual([1]);
    release.resolve();
    await until(async () => (await Promise.all(ids.map((id) => dispatcher.getJob(id)))).every((j) => j?.state === 'completed'), 'every job to complete');
    expect(ran).toEqual([1, 2, 3]);
    expect(mostAtOnce()).toBe(1);
  });

  it('runs a job whose insert was on its way when the worker stopped, rather than leave it leased', async () => {
    // A pool whose insert that may lease is held back until the test lets it go.
    const pool = new pg.Pool({ connectionString: databaseUrl() });
    ends.push(() => pool.end());
    const sent = deferred();
    const letGo = deferred();
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as { query: unknown }).query = (...args: unknown[]) => {
        const config = args[0] as { name?: string } | undefined;
        if (config?.name?.endsWith('_insertHanded')) {
          sent.resolve();
          return letGo.promise.then(() => query(...args));
        }
        return query(...args);
      };
    });
    const { dispatcher, job, ran, schema } = await setUp({ pool });
    const enqueued = dispatcher.enqueue(job, { n: 7 });
    await sent.promise;
    const stopped = dispatcher.stop({ grace: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    letGo.resolve();
    const { id } = await enqueued;
    await stopped;
    expect(ran).toEqual([7]);
    expect(await sql(`SELECT state FROM ${pg.escapeIdentifier(schema)}.jobs WHERE id = $1`, [id])).toEqual([{ state: 'completed' }]);
  });
});
