import { existsSync } from 'node:fs';
import { metrics, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  backoff,
  createDispatcher,
  defineJob,
  type Dispatcher,
  type DispatcherOptions,
  type EnqueueOptions,
  type ExponentialOptions,
  InvalidOptionError,
  type JobConfig,
  memoryStore,
  sqliteStore,
  type SqliteStoreOptions,
  type StateCounts,
  type Store,
  StoreConfigError,
} from '../../src/index.js';
import { postgresStore, type PostgresStoreOptions } from '../../src/postgres.js';
import { optionKeys } from '../../src/strict-options.js';
import { databaseUrl, dropSchema, freshSchema } from '../store/postgres/database.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';

/** Every key of T present (an optional one may be undefined): a new option fails to compile here until a test gives it. */
type EveryKey<T> = { [K in keyof Required<T>]: T[K & keyof T] };

/** The error `run` throws or rejects with, which must be an InvalidOptionError. */
async function refusal(run: () => unknown): Promise<InvalidOptionError> {
  let error: unknown = null;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidOptionError);
  return error as InvalidOptionError;
}

const job = defineJob({ name: 'strict', input: z.object({ n: z.number() }), handler: () => undefined });
const total = (counts: StateCounts) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('createDispatcher refuses unknown options', () => {
  it('names the key with its path and the option it was likely meant to be', async () => {
    const error = await refusal(() => createDispatcher({ concurency: 4 } as never));
    expect(error.field).toBe('options.concurency');
    expect(error.message).toBe('options.concurency: is not an option of createDispatcher; did you mean concurrency?');
  });

  it('names a key inside a queue with the whole path', async () => {
    const error = await refusal(() => createDispatcher({ queues: { mail: { concurency: 2 } } } as never));
    expect(error.field).toBe('options.queues.mail.concurency');
    expect(error.reason).toMatch(/did you mean concurrency\?/);
  });

  it('refuses a queues entry that is not an object, rather than skipping it', async () => {
    expect((await refusal(() => createDispatcher({ queues: { mail: 2 } } as never))).field).toBe('options.queues.mail');
    expect((await refusal(() => createDispatcher({ queues: 'mail' } as never))).field).toBe('options.queues');
  });

  it('refuses a workerId that is empty, not a string or too long, and a history that is not a boolean', async () => {
    for (const workerId of ['', 7, 'x'.repeat(201)]) {
      const error = await refusal(() => createDispatcher({ workerId } as never));
      expect(error.field).toBe('workerId');
      expect(error.reason).toBe('must be a non-empty string of at most 200 characters');
    }
    expect((await refusal(() => createDispatcher({ history: 'yes' } as never))).field).toBe('history');
  });

  it('lists the options when no key is close', async () => {
    const error = await refusal(() => createDispatcher({ colour: 'blue' } as never));
    expect(error.reason).toMatch(/^is not an option of createDispatcher; the options are store, concurrency, .*priority$/);
  });

  it('accepts every option of DispatcherOptions', async () => {
    const every: EveryKey<DispatcherOptions> = {
      store: memoryStore(),
      concurrency: 2,
      prefetch: 1,
      queues: { mail: { concurrency: 1 } },
      backoff: backoff.constant(10),
      lease: '30s',
      heartbeat: '5s',
      reapInterval: '10s',
      maxPayloadBytes: 1000,
      onError: () => undefined,
      logger: { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined },
      meterProvider: metrics.getMeterProvider(),
      tracerProvider: trace.getTracerProvider(),
      inspect: () => undefined,
      clock: { now: () => Date.now(), setTimeout: (run, ms) => setTimeout(run, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
      serve: ['main'],
      retention: { completed: '1d', cancelled: false, failed: '2d', dlq: '60d', interval: '5m', batchSize: 500, pause: '10ms' },
      workerId: 'box-1',
      history: true,
      maxRetries: 1,
      timeout: '1m',
      queue: 'main',
      priority: 1,
    };
    const d = createDispatcher(every);
    expect((await d.register(job).enqueue(job, { n: 1 })).queue).toBe('main');
    await d.stop();
  });
});

describe('defineJob refuses unknown keys', () => {
  const base = { name: 'send', input: z.object({}), handler: () => undefined };

  it('names the key under the job, with a suggestion for a near miss', async () => {
    const error = await refusal(() => defineJob({ ...base, maxRetrys: 2 } as never));
    expect(error.field).toBe('defineJob(send).maxRetrys');
    expect(error.reason).toMatch(/did you mean maxRetries\?/);
  });

  it('suggests across a difference of case or two swapped letters', async () => {
    expect((await refusal(() => defineJob({ ...base, MaxRetries: 2 } as never))).reason).toMatch(/did you mean maxRetries\?/);
    expect((await refusal(() => defineJob({ ...base, prioirty: 2 } as never))).reason).toMatch(/did you mean priority\?/);
  });

  it('accepts every field of JobConfig', () => {
    const every: EveryKey<JobConfig<z.ZodObject>> = {
      ...base,
      output: undefined,
      backoff: backoff.constant(5),
      deadLetter: false,
      maxRetries: 1,
      timeout: '1s',
      queue: 'mail',
      priority: 2,
    };
    expect(defineJob(every).options).toEqual({ maxRetries: 1, timeoutMs: 1000, queue: 'mail', priority: 2 });
  });
});

describe('backoff builders refuse unknown keys', () => {
  it('names the builder and the key', async () => {
    const error = await refusal(() => backoff.exponential({ jiter: 'none' } as never));
    expect(error.field).toBe('backoff.exponential.jiter');
    expect(error.reason).toMatch(/did you mean jitter\?/);
    const linear = await refusal(() => backoff.linear({ base: 10, maximum: 50 } as never));
    expect(linear.field).toBe('backoff.linear.maximum');
    expect(linear.reason).toBe('is not an option of backoff.linear; the options are base, max');
  });

  it('accepts every option', () => {
    const every: EveryKey<ExponentialOptions> = { base: 10, max: 40, factor: 2, jitter: 'none' };
    expect(backoff.exponential(every)(3, { message: 'x' } as never)).toBe(40);
    expect(backoff.linear({ base: 10, max: 15 })(2, { message: 'x' } as never)).toBe(15);
  });
});

describe('stop and the DLQ refuse unknown keys', () => {
  it('refuses them before doing anything', async () => {
    const d = createDispatcher().register(job);
    await d.start();
    const grace = await refusal(() => d.stop({ grce: '1s' } as never));
    expect(grace).toMatchObject({ field: 'options.grce', reason: expect.stringMatching(/did you mean grace\?/) });
    // The refused stop stopped nothing: the dispatcher still takes jobs.
    await d.enqueue(job, { n: 1 });
    expect((await refusal(() => d.dlq.list({ limt: 5 } as never))).field).toBe('options.limt');
    expect((await refusal(() => d.dlq.purge({ before: new Date(), befor: 1 } as never))).reason).toMatch(/did you mean before\?/);
    await d.stop();
  });
});

describe('stores refuse unknown options with a StoreConfigError that is an InvalidOptionError', () => {
  it('memoryStore', async () => {
    const error = await refusal(() => memoryStore({ nw: () => 0 } as never));
    expect(error).toBeInstanceOf(StoreConfigError);
    expect(error).toMatchObject({ field: 'nw', reason: 'is not an option of memoryStore; did you mean now?' });
  });

  it('sqliteStore, before any file is made', async () => {
    const temp = tempDatabase('dispatch-strict-');
    try {
      const error = await refusal(() => sqliteStore({ path: temp.path, pollIntervall: 100 } as never));
      expect(error).toBeInstanceOf(StoreConfigError);
      expect(error).toMatchObject({ field: 'pollIntervall', reason: expect.stringMatching(/did you mean pollInterval\?/) });
      expect(existsSync(temp.path)).toBe(false);
      const every: EveryKey<SqliteStoreOptions> = { path: temp.path, synchronous: 'normal', busyTimeout: '1s', pollInterval: 100, dutyExpiry: '10s' };
      expect(sqliteStore(every).maxSleepMs).toBe(100);
    } finally {
      temp.remove();
    }
  });

  it('postgresStore, before any connection', async () => {
    // Nothing listens on port 1: a connection attempt would fail, but none is made.
    const error = await refusal(() => postgresStore({ connectionString: 'postgres://localhost:1/app', shema: 'jobs' } as never));
    expect(error).toBeInstanceOf(StoreConfigError);
    expect(error).toMatchObject({ field: 'shema', reason: expect.stringMatching(/did you mean schema\?/) });
    const every: EveryKey<PostgresStoreOptions> = {
      connectionString: 'postgres://localhost:1/app',
      pool: undefined,
      poolConfig: { max: 4 },
      schema: 'jobs',
      migrate: false,
      pollInterval: '3s',
      onError: () => undefined,
    };
    expect(postgresStore(every).schema).toBe('jobs');
  });
});

const STORES: Record<string, () => { store: Store; cleanup: () => Promise<void> }> = {
  memory: () => ({ store: memoryStore(), cleanup: async () => undefined }),
  sqlite: () => {
    const temp = tempDatabase('dispatch-strict-');
    return { store: sqliteStore({ path: temp.path }), cleanup: async () => temp.remove() };
  },
  postgres: () => {
    const schema = freshSchema();
    return { store: postgresStore({ connectionString: databaseUrl(), schema }), cleanup: async () => void (await dropSchema(schema)) };
  },
};

describe.each(Object.keys(STORES))('an enqueue with an unknown option stores nothing: %s store', (kind) => {
  let d: Dispatcher;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const made = STORES[kind]!();
    cleanup = made.cleanup;
    d = createDispatcher({ store: made.store }).register(job);
    await d.counts();
  });

  afterAll(async () => {
    await d.stop();
    await cleanup();
  });

  it('refuses enqueue and enqueueMany, naming the key, and accepts every enqueue option', async () => {
    const error = await refusal(() => d.enqueue(job, { n: 1 }, { prority: 5 } as never));
    expect(error.message).toBe('options.prority: is not an option of enqueue; did you mean priority?');
    const many = await refusal(() => d.enqueueMany(job, [{ n: 1 }, { n: 2 }], { queu: 'mail' } as never));
    expect(many).toMatchObject({ field: 'options.queu', reason: expect.stringMatching(/did you mean queue\?/) });
    expect(total(await d.counts())).toBe(0);

    // runAt, delay and debounce exclude each other, so those left out are present but undefined.
    const every: EveryKey<EnqueueOptions> = {
      maxRetries: 1, timeout: '1s', queue: 'mail', priority: 3, runAt: undefined, delay: '1m', client: undefined,
      key: 'k', onConflict: 'replace', keepFor: '1m', debounce: undefined, group: 'tenant-1',
    };
    expect(await d.enqueue(job, { n: 1 }, every)).toMatchObject({ maxRetries: 1, timeoutMs: 1000, queue: 'mail', priority: 3, group: 'tenant-1' });
    expect(total(await d.counts())).toBe(1);
  });
});

describe('the allowed keys cannot drift from their interface', () => {
  interface Sample {
    a?: number;
    b: string;
  }

  it('compiles only a list of exactly the interface keys', () => {
    // @ts-expect-error a key the interface does not have
    optionKeys<Sample>({ a: true, b: true, c: true });
    // @ts-expect-error a key the interface has, left out
    optionKeys<Sample>({ a: true });
    expect(optionKeys<Sample>({ a: true, b: true })).toEqual(['a', 'b']);
  });
});
