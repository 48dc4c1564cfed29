import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createDispatcher,
  defineJob,
  type Dispatcher,
  memoryStore,
  sqliteStore,
  type Store,
} from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { databaseUrl, dropSchema, freshSchema } from '../store/postgres/database.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';

const stores: Record<string, () => { store: Store; cleanup: () => Promise<void> }> = {
  memory: () => ({ store: memoryStore(), cleanup: async () => undefined }),
  sqlite: () => {
    const temp = tempDatabase('dispatch-results-e2e-');
    return { store: sqliteStore({ path: temp.path }), cleanup: async () => temp.remove() };
  },
  postgres: () => {
    const schema = freshSchema();
    return {
      store: postgresStore({ connectionString: databaseUrl(), schema, onError: () => undefined }),
      cleanup: () => dropSchema(schema).then(() => undefined),
    };
  },
};

const invoice = defineJob({
  name: 'invoice',
  input: z.object({ lines: z.array(z.number()), wrong: z.boolean().default(false) }),
  output: z.object({ total: z.number(), currency: z.string().default('EUR') }),
  maxRetries: 0,
  // The cast stands for a handler whose value is wrong at run time (typed code cannot return it).
  handler: ({ lines, wrong }) => (wrong ? ({ total: 'many' } as unknown as { total: number }) : { total: lines.reduce((a, b) => a + b, 0) }),
});
/** No output schema: returns what it is asked to. */
const untyped = defineJob({
  name: 'untyped',
  input: z.object({ give: z.enum(['object', 'nothing', 'date', 'text']), size: z.number().default(1) }),
  maxRetries: 0,
  handler: ({ give, size }) =>
    give === 'object' ? { a: [1, 'two'] } : give === 'date' ? new Date(0) : give === 'text' ? 'y'.repeat(size) : undefined,
});
let failuresLeft = 0;
const flaky = defineJob({
  name: 'flaky',
  input: z.object({}),
  output: z.number(),
  maxRetries: 2,
  backoff: () => 1,
  handler: async () => {
    if (failuresLeft-- > 0) throw new Error('not yet');
    return 42;
  },
});

describe.each(Object.keys(stores))('handler results end to end: %s store', (kind) => {
  let d: Dispatcher;
  let cleanup: () => Promise<void>;

  async function worker(options: { maxPayloadBytes?: number } = {}): Promise<Dispatcher> {
    const made = stores[kind]!();
    cleanup = made.cleanup;
    d = createDispatcher({ store: made.store, onError: () => undefined, ...options }).registerAll([invoice, untyped, flaky]);
    await d.start();
    return d;
  }

  afterEach(async () => {
    await d.stop();
    await cleanup();
  });

  it("stores the handler's parsed result; waitFor and getJob return it, typed", async () => {
    await worker();
    const job = await d.enqueue(invoice, { lines: [5, 7] });
    const done = await d.waitFor(job, { timeout: '10s' });
    expect(done).toMatchObject({ state: 'completed', result: { total: 12, currency: 'EUR' }, lastError: null });
    expectTypeOf(done.result).toEqualTypeOf<{ total: number; currency: string } | null>();
    expect((await d.getJob(job.id))!.result).toEqual({ total: 12, currency: 'EUR' });
  });

  it('fails the attempt with an InvalidOutputError naming the field, and stores no result', async () => {
    await worker();
    const job = await d.enqueue(invoice, { lines: [1], wrong: true });
    const done = await d.waitFor(job, { timeout: '10s' });
    expect(done).toMatchObject({ state: 'dlq', result: null, lastError: { name: 'InvalidOutputError' } });
    expect(done.lastError!.message).toMatch(/^output\.total: /);
  });

  it('fails a result JSON cannot keep, or one over maxPayloadBytes', async () => {
    await worker({ maxPayloadBytes: 100 });
    const dated = await d.waitFor(await d.enqueue(untyped, { give: 'date' }), { timeout: '10s' });
    expect(dated).toMatchObject({ state: 'dlq', result: null, lastError: { name: 'NotSerializableError' } });
    expect(dated.lastError!.message).toMatch(/^output: a Date is not JSON-serialisable/);
    const fits = await d.waitFor(await d.enqueue(untyped, { give: 'text', size: 98 }), { timeout: '10s' });
    expect(fits).toMatchObject({ state: 'completed', result: 'y'.repeat(98) });
    const tooBig = await d.waitFor(await d.enqueue(untyped, { give: 'text', size: 99 }), { timeout: '10s' });
    expect(tooBig).toMatchObject({ state: 'dlq', result: null, lastError: { name: 'PayloadTooLargeError' } });
    expect(tooBig.lastError!.message).toMatch(/^output: is 101 bytes as JSON, over the limit of 100/);
  });

  it('keeps what a job without an output schema returns, and nothing when it returns nothing', async () => {
    await worker();
    const some = await d.waitFor(await d.enqueue(untyped, { give: 'object' }), { timeout: '10s' });
    expect(some).toMatchObject({ state: 'completed', result: { a: [1, 'two'] } });
    const none = await d.waitFor(await d.enqueue(untyped, { give: 'nothing' }), { timeout: '10s' });
    expect(none).toMatchObject({ state: 'completed', result: null, lastError: null });
  });

  it('stores the result of the attempt that succeeds after retries', async () => {
    failuresLeft = 2;
    await worker();
    const done = await d.waitFor(await d.enqueue(flaky, {}), { timeout: '10s' });
    expect(done).toMatchObject({ state: 'completed', attempt: 3, result: 42 });
  });
});
