import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CorruptJobError, createDispatcher, defineJob, memoryStore, sqliteStore, type Store } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import { databaseUrl, dropSchema, freshSchema, sql } from '../../store/postgres/database.js';
import { tempDatabase } from '../../store/sqlite/temp-file.js';
import { harness } from '../../support/harness.js';

/** A store to enqueue into and, for the durable ones, another for the worker, as two processes would have. */
interface Target {
  producer: Store;
  worker: Store;
  /** Changes a row behind the store's back, as a hand-edit or another program would. */
  edit: (statement: string, values?: unknown[]) => Promise<void>;
  cleanup: () => Promise<void>;
}

const targets: Record<string, () => Target> = {
  memory: () => {
    const store = memoryStore();
    return { producer: store, worker: store, edit: async () => undefined, cleanup: async () => undefined };
  },
  sqlite: () => {
    const temp = tempDatabase('dispatch-rows-');
    return {
      producer: sqliteStore({ path: temp.path }),
      worker: sqliteStore({ path: temp.path }),
      edit: async (statement, values = []) => {
        const db = new Database(temp.path);
        try {
          // What a hand-edit with checks turned off could leave behind.
          db.pragma('ignore_check_constraints = ON');
          db.prepare(statement).run(...values);
        } finally {
          db.close();
        }
      },
      cleanup: async () => temp.remove(),
    };
  },
  postgres: () => {
    const schema = freshSchema();
    const open = (migrate: boolean) => postgresStore({ connectionString: databaseUrl(), schema, migrate, onError: () => undefined });
    return {
      producer: open(true),
      worker: open(false),
      edit: async (statement, values = []) => void (await sql(statement.replaceAll('dispatch_jobs', `${pg.escapeIdentifier(schema)}.jobs`), values)),
      cleanup: async () => void (await dropSchema(schema)),
    };
  },
};

const kept = defineJob({ name: 'kept', input: z.object({ n: z.number() }), handler: () => undefined });
const gone = defineJob({ name: 'gone', input: z.object({ n: z.number() }), handler: () => undefined });

/** A fresh target for each test, and the producer and worker dispatchers on it, stopped after the test. */
function useTarget(kind: string) {
  let target: Target;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(() => {
    target = targets[kind]!();
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await target.cleanup();
  });

  return {
    target: () => target,
    /** Enqueues through a producer that knows both definitions; it stays open for reading. */
    enqueue: async (inputs: Array<{ job: typeof kept; n: number }>) => {
      const producer = createDispatcher({ store: target.producer }).register(kept).register(gone);
      stops.push(() => producer.stop());
      const ids: string[] = [];
      for (const { job, n } of inputs) ids.push((await producer.enqueue(job, { n })).id);
      return { producer, ids };
    },
    /** A worker that knows only `kept`, as a deploy that removed `gone` would be. */
    startWorker: async () => {
      const h = harness({ store: target.worker });
      h.dispatcher.register(kept);
      stops.push(() => h.dispatcher.stop());
      await h.dispatcher.start();
      return h;
    },
  };
}

describe.each(['memory', 'sqlite', 'postgres'])('a stored job whose definition is gone: %s store', (kind) => {
  const { enqueue, startWorker } = useTarget(kind);

  it('waits in pending, never leased, while the rest run; runs once a worker knows it again', async () => {
    const { producer, ids } = await enqueue([
      { job: kept, n: 1 },
      { job: gone, n: 2 },
      { job: kept, n: 3 },
      { job: gone, n: 4 },
    ]);
    const { dispatcher, errors, events, reached } = await startWorker();
    await Promise.all([reached(ids[0]!, 'completed'), reached(ids[2]!, 'completed')]);
    // Not leased, so not tried, not failed, not dead-lettered: no attempt spent on a worker that cannot run it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const id of [ids[1]!, ids[3]!]) expect(await producer.getJob(id)).toMatchObject({ state: 'pending', attempt: 0, lastError: null });
    expect(events.filter((e) => e.name === 'gone')).toEqual([]);
    expect((await producer.dlq.list()).jobs).toEqual([]);
    expect(errors).toEqual([]);

    // The definition comes back (a deploy that restores it): the jobs run, on their first attempt.
    dispatcher.register(gone);
    for (const id of [ids[1]!, ids[3]!]) expect(await reached(id, 'completed')).toMatchObject({ from: 'running', attempt: 1 });
    expect(errors).toEqual([]);
  });
});

// The memory store keeps values, not text: nothing in it can be unreadable.
describe.each(['sqlite', 'postgres'])('a malformed row: %s store', (kind) => {
  const { target, enqueue, startWorker } = useTarget(kind);
  const at = (id: string) => (kind === 'sqlite' ? Number(id) : id);
  const placeholder = kind === 'sqlite' ? '?' : '$1';

  it('whose JSON columns cannot be read goes to the DLQ with a CorruptJobError naming the column; the rest run', async () => {
    const { producer, ids } = await enqueue([0, 1, 2, 3, 4].map((n) => ({ job: kept, n })));
    const [, badErrorShape, badInput, badError] = ids as [string, string, string, string];
    const corrupt: Record<string, string> = { [badErrorShape]: 'lastError', [badError]: 'lastError' };
    const edit = (column: string, value: string, id: string) => target().edit(`UPDATE dispatch_jobs SET ${column} = '${value}' WHERE id = ${placeholder}`, [at(id)]);
    await edit('last_error', '"just a string"', badErrorShape);
    if (kind === 'sqlite') {
      await edit('input', '{"n": 1', badInput);
      await edit('last_error', 'Error: not JSON at all', badError);
      corrupt[badInput] = 'input';
    } else {
      // Postgres keeps these columns as json and jsonb: only a wrong shape gets in there.
      await edit('last_error', '{"name": 42}', badError);
    }

    // Reads never throw; they say what they could not read.
    for (const [id, field] of Object.entries(corrupt)) {
      expect((await target().producer.get(id))!.defect).toMatchObject({ field, reason: expect.any(String) });
    }
    const { errors, reached } = await startWorker();
    for (const id of ids.filter((id) => !(id in corrupt))) await reached(id, 'completed');
    for (const [id, field] of Object.entries(corrupt)) {
      const dead = await reached(id, 'dlq');
      expect(dead).toMatchObject({ attempt: 1, error: { name: 'CorruptJobError', message: expect.stringContaining(`job ${id}: ${field}: `) } });
    }
    // The DLQ can be listed, corrupt rows and all.
    expect((await producer.dlq.list()).jobs.map((j) => j.id).sort()).toEqual(Object.keys(corrupt).sort());
    expect(errors).toEqual([]);
  });

  it('whose state is not in the chart is never leased, is reported by get(), and blocks nothing', async () => {
    const { producer, ids } = await enqueue([0, 1, 2].map((n) => ({ job: kept, n })));
    // The schema refuses such a state (see below); only a hand-edit with its checks off gets one in.
    if (kind === 'postgres') await target().edit('ALTER TABLE dispatch_jobs DROP CONSTRAINT jobs_state_check');
    await target().edit(`UPDATE dispatch_jobs SET state = 'paused' WHERE id = ${placeholder}`, [at(ids[1]!)]);

    const { errors, reached } = await startWorker();
    await Promise.all([reached(ids[0]!, 'completed'), reached(ids[2]!, 'completed')]);
    const error = await producer.getJob(ids[1]!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptJobError);
    expect(error).toMatchObject({ jobId: ids[1], field: 'state', reason: '"paused" is not a state of the job chart' });
    await expect(producer.cancel(ids[1]!)).rejects.toBeInstanceOf(CorruptJobError);
    // Counts are by the chart's states: the row is left out rather than counted as something it is not.
    expect(await producer.counts()).toEqual({ pending: 0, running: 0, retrying: 0, completed: 2, failed: 0, dlq: 0, cancelled: 0 });
    expect(errors).toEqual([]);
  });
});

describe('the schemas refuse a state outside the chart', () => {
  it('sqlite', () => {
    const temp = tempDatabase('dispatch-rows-');
    const store = sqliteStore({ path: temp.path });
    return store
      .open()
      .then(() => {
        const db = new Database(temp.path);
        try {
          expect(() =>
            db.prepare(`INSERT INTO dispatch_jobs (name, queue, state, input, priority, run_at, attempt, max_retries, timeout_ms, created_at, updated_at) VALUES ('x', 'q', 'paused', '{}', 0, 0, 0, 0, 1, 0, 0)`).run(),
          ).toThrow(/CHECK constraint failed/);
        } finally {
          db.close();
        }
      })
      .finally(async () => {
        await store.close();
        temp.remove();
      });
  });

  it('postgres', async () => {
    const schema = freshSchema();
    const store = postgresStore({ connectionString: databaseUrl(), schema });
    await store.open();
    try {
      await expect(sql(`INSERT INTO ${pg.escapeIdentifier(schema)}.jobs (name, queue, state, input, max_retries, timeout_ms) VALUES ('x', 'q', 'paused', '{}', 0, 1)`)).rejects.toThrow(
        /violates check constraint/,
      );
      await expect(sql(`INSERT INTO ${pg.escapeIdentifier(schema)}.jobs (name, queue, input, max_retries, timeout_ms) VALUES ('x', 'q', '{not json', 0, 1)`)).rejects.toThrow(
        /invalid input syntax for type json/,
      );
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });
});
