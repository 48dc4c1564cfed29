import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createDispatcher,
  defineJob,
  type Dispatcher,
  InvalidInputError,
  InvalidOptionError,
  memoryStore,
  type NewJob,
  NotSerializableError,
  PayloadTooLargeError,
  sqliteStore,
  type StateCounts,
  type Store,
  StoreError,
} from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import { databaseUrl, dropSchema, freshSchema } from '../../store/postgres/database.js';
import { tempDatabase } from '../../store/sqlite/temp-file.js';

const LIMIT = 4096;

const signup = defineJob({
  name: 'signup',
  input: z.object({ email: z.email(), seats: z.number().int().min(1) }),
  handler: () => undefined,
});
// Lets anything through, so what is caught is the engine's own check, not the schema.
const anything = defineJob({ name: 'anything', input: z.any(), handler: () => undefined });
const good = { email: 'a@example.com', seats: 1 };

type Enqueue = (d: Dispatcher, job: typeof signup | typeof anything, input: unknown) => Promise<unknown>;

/** Every way in, each with the field name its errors use for the input. */
const ENTRY_POINTS: Array<[string, string, Enqueue]> = [
  ['enqueue', 'input', (d, job, input) => d.enqueue(job, input as never)],
  ['enqueue by name', 'input', (d, job, input) => d.enqueue(job.name, input)],
  ['enqueueAt', 'input', (d, job, input) => d.enqueueAt(job, input as never, new Date(Date.now() + 60_000))],
  ['enqueueWithPriority', 'input', (d, job, input) => d.enqueueWithPriority(job, input as never, 5)],
  ['enqueueOnQueue', 'input', (d, job, input) => d.enqueueOnQueue(job, input as never, 'other')],
  // The bad input sits between good ones: the batch is all or nothing.
  ['enqueueMany', 'inputs[1]', (d, job, input) => d.enqueueMany(job, [job === signup ? good : 1, input, job === signup ? good : 2] as never)],
];

const STORES: Record<string, () => { store: Store; cleanup: () => Promise<void> }> = {
  memory: () => ({ store: memoryStore(), cleanup: async () => undefined }),
  sqlite: () => {
    const temp = tempDatabase('dispatch-input-');
    return { store: sqliteStore({ path: temp.path }), cleanup: async () => temp.remove() };
  },
  postgres: () => {
    const schema = freshSchema();
    return { store: postgresStore({ connectionString: databaseUrl(), schema }), cleanup: async () => void (await dropSchema(schema)) };
  },
};

const total = (counts: StateCounts) => Object.values(counts).reduce((a, b) => a + b, 0);

describe.each(Object.keys(STORES))('bad input at every entry point: %s store', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let d: Dispatcher;

  beforeAll(async () => {
    ({ store, cleanup } = STORES[kind]!());
    d = createDispatcher({ store, maxPayloadBytes: LIMIT }).register(signup).register(anything);
    await d.counts();
  });

  afterAll(async () => {
    await d.stop();
    await cleanup();
  });

  /** Runs `enqueue`, expecting it to be refused with `type`, and the store to hold no more jobs than before. */
  async function refused<E>(enqueue: () => Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
    const before = total(await d.counts());
    const error = await enqueue().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(type);
    expect(total(await d.counts()), 'jobs stored by a refused enqueue').toBe(before);
    return error as E;
  }

  it.each(ENTRY_POINTS)('%s: input that fails the schema is refused, naming the field', async (_, field, enqueue) => {
    const error = await refused(() => enqueue(d, signup, { email: 'not an address', seats: 1 }), InvalidInputError);
    expect(error.field).toBe(`${field}.email`);
    const wrongType = await refused(() => enqueue(d, signup, { email: 'a@example.com', seats: '2' }), InvalidInputError);
    expect(wrongType.field).toBe(`${field}.seats`);
  });

  it.each(ENTRY_POINTS)('%s: input over maxPayloadBytes is refused with its size', async (_, field, enqueue) => {
    // Two-byte characters: the limit counts UTF-8 bytes of JSON, not string length.
    const error = await refused(() => enqueue(d, anything, { text: 'é'.repeat(LIMIT / 2) }), PayloadTooLargeError);
    expect(error).toMatchObject({ field, limit: LIMIT });
    expect(error.bytes).toBe(Buffer.byteLength(JSON.stringify({ text: 'é'.repeat(LIMIT / 2) })));
  });

  it.each(ENTRY_POINTS)('%s: input that cannot be stored as JSON is refused', async (_, field, enqueue) => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const input of [{ big: 10n }, { f: () => 1 }, cyclic, { when: new Map() }]) {
      const error = await refused(() => enqueue(d, anything, input), NotSerializableError);
      expect(error.field.startsWith(field)).toBe(true);
    }
  });

  it('stores an input of exactly maxPayloadBytes and gives it back intact; one byte more is refused', async () => {
    const exact = (bytes: number) => ({ text: '€'.repeat(Math.floor((bytes - 11) / 3)) + 'x'.repeat((bytes - 11) % 3) });
    expect(Buffer.byteLength(JSON.stringify(exact(LIMIT)))).toBe(LIMIT);
    const stored = await d.enqueue(anything, exact(LIMIT));
    expect((await d.getJob(stored.id))!.input).toEqual(exact(LIMIT));
    await refused(() => d.enqueue(anything, exact(LIMIT + 1)), PayloadTooLargeError);
  });

  it('refuses bad enqueue options before anything is stored, naming the option', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ runAt: new Date('not a date') }, 'options.runAt'],
      [{ priority: -1 }, 'options.priority'],
      [{ priority: 1.5 }, 'options.priority'],
      [{ queue: '' }, 'options.queue'],
      [{ maxRetries: -1 }, 'options.maxRetries'],
      [{ timeout: 0 }, 'options.timeout'],
      [{ delay: 'soon' }, 'options.delay'],
      [{ runAt: new Date(), delay: 10 }, 'options.delay'],
      [{ colour: 'blue' }, 'options.colour'],
    ];
    for (const [options, field] of cases) {
      const error = await refused(() => d.enqueue(signup, good, options as never), InvalidOptionError);
      expect(error.field, JSON.stringify(options)).toBe(field);
      const many = await refused(() => d.enqueueMany(signup, [good, good], options as never), InvalidOptionError);
      expect(many.field).toBe(field);
    }
  });

  it('inserts a batch all or nothing: one job that is not JSON fails the whole insert with a StoreError', async () => {
    const job = (inputJson: string): NewJob => ({ name: 'anything', queue: 'default', input: null, inputJson, priority: 0, runAt: Date.now(), maxRetries: 0, timeoutMs: 1000 });
    const before = total(await store.counts());
    const error = await store.insert([job('1'), job('{"unclosed": '), job('2')]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StoreError);
    expect(total(await store.counts())).toBe(before);
  });
});
