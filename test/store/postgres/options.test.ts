import { createServer } from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreConfigError, StoreError } from '../../../src/index.js';
import { postgresStore, type PostgresStoreOptions } from '../../../src/postgres.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { databaseUrl, dropSchema, freshSchema, openStore } from './database.js';

function refusal(options: unknown): StoreConfigError {
  try {
    postgresStore(options as PostgresStoreOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(StoreConfigError);
    return error as StoreConfigError;
  }
  throw new Error('the options were accepted');
}

/** A port nothing listens on: bound once by the OS, then let go. */
function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

describe('postgres store: options', () => {
  const url = () => databaseUrl();

  it.each([
    ['no options', undefined, 'options', /must be an object/],
    ['neither a URL nor a pool', {}, 'connectionString', /required/],
    ['a URL that is not one', { connectionString: 'localhost:5432 db' }, 'connectionString', /postgres:\/\//],
    ['a URL of another database', { connectionString: 'mysql://localhost/app' }, 'connectionString', /postgres:\/\/ or postgresql:\/\//],
    ['a port out of range', { connectionString: 'postgres://localhost:99999/app' }, 'connectionString', /not a URL/],
    ['an empty schema', { connectionString: 'postgres://localhost/app', schema: '' }, 'schema', /empty/],
    ['a reserved schema', { connectionString: 'postgres://localhost/app', schema: 'pg_jobs' }, 'schema', /pg_/],
    ['a schema too long', { connectionString: 'postgres://localhost/app', schema: 's'.repeat(59) }, 'schema', /58 bytes/],
    ['a NUL in the schema', { connectionString: 'postgres://localhost/app', schema: 'a\0b' }, 'schema', /NUL/],
    ['a poll interval that is no duration', { connectionString: 'postgres://localhost/app', pollInterval: 'soon' }, 'pollInterval', /not a duration/],
    ['an unknown option', { connectionString: 'postgres://localhost/app', colour: 'blue' }, 'colour', /not an option/],
    ['a pool too small', { connectionString: 'postgres://localhost/app', poolConfig: { max: 2 } }, 'poolConfig.max', /at least 3/],
    ['a pool that is not one', { pool: { query: 1 } }, 'pool', /pg Pool/],
  ])('refuses %s, naming the field', (_what, options, field, reason) => {
    const error = refusal(options);
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
  });

  it('refuses a URL and a pool together', () => {
    const pool = new pg.Pool({ connectionString: url() });
    expect(refusal({ connectionString: url(), pool }).field).toBe('pool');
    return pool.end();
  });

  it('turns a database that does not answer into a StoreError carrying the cause', async () => {
    const port = await deadPort();
    const store = postgresStore({ connectionString: `postgres://localhost:${port}/nothing` });
    const error = await store.open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/opening the store/);
    expect((error as StoreError).cause).toMatchObject({ code: 'ECONNREFUSED' });
    await expect(store.get('1')).rejects.toThrow(/not open/);
  });

  describe('with your own pool', () => {
    let pool: pg.Pool;
    afterEach(() => pool.end());

    it('borrows it and never ends it', async () => {
      pool = new pg.Pool({ connectionString: url() });
      const { store, cleanup } = await openStore({ pool, onError: () => undefined });
      const off = store.subscribe(() => undefined);
      await store.listening();
      expect(await store.insert([newJob()])).toHaveLength(1);
      off();
      await cleanup();
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });

    it('migrates through it before opening', async () => {
      pool = new pg.Pool({ connectionString: url() });
      const schema = freshSchema();
      const store = postgresStore({ pool, schema, migrate: false, onError: () => undefined });
      try {
        await store.migrate();
        await store.open();
        expect(await store.insert([newJob()])).toHaveLength(1);
        await store.close();
        expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await dropSchema(schema);
      }
    });
  });
});
