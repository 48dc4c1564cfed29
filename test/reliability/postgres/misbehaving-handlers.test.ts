import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CancelledError, defineJob, ShutdownError, TimeoutError } from '../../../src/index.js';
import { type PostgresStore, postgresStore } from '../../../src/postgres.js';
import { databaseUrl, openStore } from '../../store/postgres/database.js';
import { deferred, harness } from '../../support/harness.js';
import { until } from '../../support/until.js';

/** Handlers that break the rules, on the Postgres store: none of them may lose a job, hold a slot for good or stop the worker. */
describe('postgres faults: misbehaving handlers', () => {
  let store: PostgresStore;
  let schema: string;
  let cleanup: () => Promise<void>;
  let stop: () => Promise<void> = async () => {};

  beforeEach(async () => {
    ({ store, schema, cleanup } = await openStore());
  });

  /** A store for one dispatcher, as its own process would have: a dispatcher closes its store when it stops. */
  const own = () => postgresStore({ connectionString: databaseUrl(), schema, migrate: false });

  afterEach(async () => {
    await stop();
    stop = async () => {};
    await cleanup();
  });

  /** A handler that looks at its signal, then never settles: it ignores the abort. */
  const reasons: unknown[] = [];
  const hang = (name: string, options: { timeout?: number; maxRetries?: number } = {}) =>
    defineJob({
      name,
      input: z.object({}),
      backoff: () => 10,
      ...options,
      handler: (_input, ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
        return new Promise(() => undefined);
      },
    });
  const quick = defineJob({ name: 'quick', input: z.object({ n: z.number() }), handler: () => undefined });

  beforeEach(() => {
    reasons.length = 0;
  });

  it('a handler that ignores its signal and hangs times out into the DLQ and gives its slot back each time', async () => {
    const stuck = hang('stuck', { timeout: 150, maxRetries: 1 });
    const { dispatcher, errors, reached } = harness({ store: own(), concurrency: 2 });
    stop = () => dispatcher.stop({ grace: 0 });
    dispatcher.register(stuck).register(quick);
    const hung = await Promise.all([dispatcher.enqueue(stuck, {}), dispatcher.enqueue(stuck, {})]);
    const quicks = await dispatcher.enqueueMany(quick, Array.from({ length: 20 }, (_, n) => ({ n })));
    await dispatcher.start();
    // Both slots start hung; every quick job still runs, as each timeout frees its slot.
    await Promise.all(quicks.map((j) => reached(j.id, 'completed')));
    for (const { id } of hung) {
      const dead = await reached(id, 'dlq');
      expect(dead).toMatchObject({ attempt: 2, error: { name: 'TimeoutError' } });
    }
    expect(reasons).toHaveLength(4);
    expect(reasons.every((r) => r instanceof TimeoutError)).toBe(true);
    await until(() => dispatcher.supervisorActor.getSnapshot().context.inFlight === 0, 'every slot to be free');
    const t = Date.now();
    await dispatcher.stop({ grace: '10s' });
    // Nothing is held: the four handlers still pending forever do not keep stop() waiting.
    expect(Date.now() - t).toBeLessThan(1000);
    expect(errors).toEqual([]);
  });

  it('stop() gives a hung handler back to the queue once the grace runs out, and another worker runs it', async () => {
    const started = deferred();
    const stuck = defineJob({
      name: 'stuck',
      input: z.object({}),
      handler: (_input, ctx) => {
        ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
        started.resolve();
        return new Promise(() => undefined);
      },
    });
    const first = harness({ store: own() });
    first.dispatcher.register(stuck);
    const { id } = await first.dispatcher.enqueue(stuck, {});
    await first.dispatcher.start();
    await started.promise;
    const t = Date.now();
    await first.dispatcher.stop({ grace: 100 });
    expect(Date.now() - t).toBeLessThan(1000);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(ShutdownError);
    expect(await store.get(id)).toMatchObject({ state: 'pending', attempt: 0, leaseToken: null });

    const healed = defineJob({ name: 'stuck', input: z.object({}), handler: () => undefined });
    const second = harness({ store: own() });
    stop = () => second.dispatcher.stop();
    second.dispatcher.register(healed);
    await second.dispatcher.start();
    await second.reached(id, 'completed');
    expect(await store.get(id)).toMatchObject({ state: 'completed', attempt: 1 });
  });

  it('cancel() of a hung handler answers at once and frees its slot', async () => {
    const stuck = hang('stuck');
    const { dispatcher, reached } = harness({ store: own(), concurrency: 1 });
    stop = () => dispatcher.stop({ grace: 0 });
    dispatcher.register(stuck).register(quick);
    const { id } = await dispatcher.enqueue(stuck, {});
    const next = await dispatcher.enqueue(quick, { n: 1 });
    await dispatcher.start();
    await reached(id, 'running');
    expect(await dispatcher.cancel(id)).toMatchObject({ state: 'cancelled' });
    expect(reasons[0]).toBeInstanceOf(CancelledError);
    await reached(next.id, 'completed');
  });

  it('a handler that throws a value that is not an Error fails its job with that value described, whatever it is', async () => {
    const cyclic: Record<string, unknown> = Object.create(null);
    cyclic.self = cyclic;
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    const thrown: Record<string, () => unknown> = {
      string: () => 'out of paper',
      number: () => 42,
      null: () => null,
      undefined: () => undefined,
      symbol: () => Symbol('odd'),
      bigint: () => 10n,
      object: () => ({ code: 'E42' }),
      cyclic: () => cyclic,
      unprintable: () => ({ toJSON: () => { throw new Error('no JSON'); }, toString: () => { throw new Error('no text'); } }),
      'revoked proxy': () => revoked.proxy,
    };
    const kinds = Object.keys(thrown);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const thrower = defineJob({
        name: 'thrower',
        input: z.object({ kind: z.string(), async: z.boolean() }),
        maxRetries: 0,
        handler: async ({ kind, async }) => {
          if (async) await new Promise((resolve) => setTimeout(resolve, 1));
          throw thrown[kind]!();
        },
      });
      const syncThrower = defineJob({
        name: 'sync-thrower',
        input: z.object({ kind: z.string() }),
        maxRetries: 0,
        // Throws before returning anything: not even a rejected promise.
        handler: ({ kind }) => {
          throw thrown[kind]!();
        },
      });
      const { dispatcher, errors, reached } = harness({ store: own(), concurrency: 4 });
      stop = () => dispatcher.stop();
      dispatcher.register(thrower).register(syncThrower).register(quick);
      const jobs = [
        ...(await dispatcher.enqueueMany(thrower, kinds.map((kind) => ({ kind, async: true })))),
        ...(await dispatcher.enqueueMany(thrower, kinds.map((kind) => ({ kind, async: false })))),
        ...(await dispatcher.enqueueMany(syncThrower, kinds.map((kind) => ({ kind })))),
      ];
      const after = await dispatcher.enqueue(quick, { n: 0 });
      await dispatcher.start();
      for (const job of jobs) {
        const dead = await reached(job.id, 'dlq');
        expect(dead.error, `${job.name} throwing ${(job.input as { kind: string }).kind}`).toMatchObject({
          name: 'NonErrorThrown',
          message: expect.stringMatching(/^the handler threw a non-Error value: ./),
        });
      }
      const described = (kind: string) => jobs.find((j) => (j.input as { kind: string }).kind === kind)!.id;
      expect((await store.get(described('string')))!.lastError!.message).toMatch(/out of paper/);
      expect((await store.get(described('object')))!.lastError!.message).toMatch(/"code":"E42"/);
      expect((await store.get(described('symbol')))!.lastError!.message).toMatch(/Symbol\(odd\)/);
      await reached(after.id, 'completed');
      expect(errors).toEqual([]);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
