import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineJob, memoryStore, sqliteStore, type Store } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { databaseUrl, dropSchema, freshSchema } from '../store/postgres/database.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import { harness } from '../support/harness.js';
import { type HoldMode, withHeldWrites } from '../support/held-writes.js';
import { until } from '../support/until.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fresh store of each kind, and what removes it afterwards. */
const stores: Record<string, () => { store: Store; cleanup: () => Promise<unknown> }> = {
  memory: () => ({ store: memoryStore(), cleanup: async () => undefined }),
  sqlite: () => {
    const temp = tempDatabase();
    return { store: sqliteStore({ path: temp.path }), cleanup: async () => temp.remove() };
  },
  postgres: () => {
    const schema = freshSchema();
    return { store: postgresStore({ connectionString: databaseUrl(), schema, onError: () => undefined }), cleanup: () => dropSchema(schema) };
  },
};

/**
 * A crash re-runs every job that started in the dead worker and whose outcome
 * the store did not have: those running and those whose outcome write was
 * still unanswered. The engine keeps that number within `concurrency +
 * prefetch` by starting nothing while that many are unstored; the jobs it
 * leased meanwhile never ran, and it stops leasing once its room is full.
 */
describe.each(Object.keys(stores))('backpressure on outcome writes: %s', (kind) => {
  let teardown: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of teardown.reverse()) await step();
    teardown = [];
  });

  function setUp(mode: HoldMode, options: { concurrency: number; prefetch: number }) {
    const made = stores[kind]!();
    teardown.push(made.cleanup);
    const held = withHeldWrites(made.store, mode);
    const started = new Set<string>();
    let worst = 0;
    const quick = defineJob({
      name: 'quick',
      input: z.object({ n: z.number() }),
      handler: async (_input, ctx) => {
        started.add(ctx.job.id);
        held.log.push(`start:${ctx.job.id}`);
        // Jobs that ran and whose outcome the store does not have: what a crash now would run again.
        worst = Math.max(worst, started.size - held.stored.size);
      },
    });
    const { dispatcher, reached, errors } = harness({ store: held.store, ...options });
    dispatcher.register(quick);
    teardown.push(async () => {
      held.release();
      await dispatcher.stop();
    });
    return { held, started, worst: () => worst, dispatcher, reached, errors, quick };
  }

  it.each<HoldMode>(['hang', 'fail'])(
    'runs no more than concurrency + prefetch jobs beyond those stored while writes %s, and finishes them all once writes flow',
    async (mode) => {
      const options = { concurrency: 3, prefetch: 2 };
      const bound = options.concurrency + options.prefetch;
      const { held, started, worst, dispatcher, reached, errors, quick } = setUp(mode, options);
      const jobs = await dispatcher.enqueueMany(quick, Array.from({ length: 40 }, (_, n) => ({ n })));
      held.hold();
      await dispatcher.start();
      await until(() => started.size >= bound, `${bound} jobs to start`, 10_000, 5);
      // Handlers finish at once: a worker that went on leasing would run the whole backlog meanwhile.
      await sleep(300);
      expect(held.stored.size).toBe(0);
      expect(started.size).toBe(bound);
      // Leased: the unstored ones, and a full room of prefetched ones that wait; the backlog stays queued.
      const counts = await held.store.counts();
      expect(counts.running).toBeLessThanOrEqual(2 * bound);
      expect(counts.pending).toBeGreaterThanOrEqual(jobs.length - 2 * bound);
      held.release();
      await Promise.all(jobs.map((job) => reached(job.id, 'completed')));
      expect(held.stored.size).toBe(jobs.length);
      expect(worst()).toBeLessThanOrEqual(bound);
      expect(errors).toEqual([]);
    },
  );

  it('leases nothing while a batch of writes is being retried, though slots are free, and leases again once it lands', async () => {
    const { held, dispatcher, reached, errors, quick } = setUp('fail', { concurrency: 4, prefetch: 0 });
    const [first] = await dispatcher.enqueueMany(quick, [{ n: 0 }]);
    held.hold();
    await dispatcher.start();
    // Once the worker knows its writes fail, and a lease it had already sent (when slots came free) is back.
    const stalled = () => {
      const supervisor = dispatcher.supervisorActor.getSnapshot();
      return supervisor.context.writesStalled && !supervisor.matches({ running: 'leasing' });
    };
    await until(() => held.refused() >= 1 && stalled(), 'the worker to know its writes fail, with no lease in flight', 10_000, 5);
    const later = await dispatcher.enqueueMany(quick, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    // The write is tried again 0.1 s after its failure (and fails), then 0.4 s later.
    await sleep(150);
    held.release();
    await Promise.all([first!, ...later].map((job) => reached(job.id, 'completed')));
    const landed = held.log.indexOf(`stored:${first!.id}`);
    for (const job of later) expect(held.log.indexOf(`start:${job.id}`), held.log.join(' ')).toBeGreaterThan(landed);
    expect(errors).toEqual([]);
  });
});
