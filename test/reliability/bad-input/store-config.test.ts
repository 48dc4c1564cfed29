import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, sqliteStore, type Store, StoreConfigError, StoreError } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import { databaseUrl, freshSchema, sql } from '../../store/postgres/database.js';
import { tempDatabase } from '../../store/sqlite/temp-file.js';

const job = defineJob({ name: 'job', input: z.object({}), handler: () => undefined });

/** What `run` threw or rejected with. */
async function failure(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

/** A dispatcher on `store` that is refused at every call that needs the store, with the same typed error each time. */
async function expectRefusedEverywhere(store: Store, type: typeof StoreError | typeof StoreConfigError): Promise<unknown> {
  const dispatcher = createDispatcher({ store, onError: () => undefined }).register(job);
  const errors = [
    await failure(() => dispatcher.enqueue(job, {})),
    await failure(() => dispatcher.enqueueMany(job, [{}, {}])),
    await failure(() => dispatcher.start()),
    await failure(() => dispatcher.getJob('1')),
    // Not stuck half-open: a second try fails the same way.
    await failure(() => store.open()),
  ];
  for (const error of errors) expect(error).toBeInstanceOf(type);
  await dispatcher.stop();
  return errors[0];
}

describe('wrong store locations: sqlite', () => {
  let temp: ReturnType<typeof tempDatabase>;
  afterEach(() => temp.remove());

  it('a folder that does not exist is refused when the store is made, and nothing is created', async () => {
    temp = tempDatabase('dispatch-config-');
    const path = join(temp.dir, 'missing', 'jobs.db');
    await expect(failure(() => sqliteStore({ path }))).resolves.toMatchObject({ name: 'StoreConfigError', field: 'path', reason: expect.stringMatching(/does not exist/) });
    expect(existsSync(join(temp.dir, 'missing'))).toBe(false);
  });

  it('a file that is not a database is refused at every call, and is left exactly as it was', async () => {
    temp = tempDatabase('dispatch-config-');
    const text = 'name,email\nAda,ada@example.com\n'.repeat(20);
    writeFileSync(temp.path, text);
    const error = await expectRefusedEverywhere(sqliteStore({ path: temp.path }), StoreConfigError);
    expect(error).toMatchObject({ field: 'path', reason: expect.stringMatching(/not a SQLite database/) });
    expect(readFileSync(temp.path, 'utf8')).toBe(text);
    expect(readdirSync(temp.dir)).toEqual(['jobs.db']);
  });

  it('a folder given as the path is refused, naming a file to use instead', async () => {
    temp = tempDatabase('dispatch-config-');
    mkdirSync(join(temp.dir, 'data'));
    await expect(failure(() => sqliteStore({ path: join(temp.dir, 'data') }))).resolves.toMatchObject({
      name: 'StoreConfigError',
      field: 'path',
      reason: expect.stringMatching(/is a directory; name a file inside it/),
    });
  });
});

describe('wrong store locations: postgres', () => {
  it.each([
    ['a SQLite URL', 'sqlite:///var/jobs.db', /postgres:\/\/ or postgresql:\/\//],
    ['a web URL', 'https://db.example.com/app', /postgres:\/\/ or postgresql:\/\//],
    ['a host and port alone', 'localhost:5432', /postgres:\/\/ or postgresql:\/\//],
    ['no URL at all', ' ', /not a URL/],
  ])('%s is refused when the store is made', async (_, connectionString, reason) => {
    expect(await failure(() => postgresStore({ connectionString }))).toMatchObject({ name: 'StoreConfigError', field: 'connectionString', reason: expect.stringMatching(reason) });
  });

  it('a server that does not answer is a StoreError at every call', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const error = await expectRefusedEverywhere(postgresStore({ connectionString: `postgres://127.0.0.1:${port}/app`, onError: () => undefined }), StoreError);
    expect((error as StoreError).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a database or a role that does not exist is a StoreError carrying the server\'s answer, and nothing is created', async () => {
    const schema = freshSchema();
    const url = new URL(databaseUrl());
    const noDatabase = new URL(url);
    noDatabase.pathname = `/${schema}`;
    const noRole = new URL(url);
    noRole.username = schema;
    noRole.password = 'x';
    for (const [wrong, code] of [
      [noDatabase, '3D000'],
      [noRole, /^28/],
    ] as const) {
      const error = await expectRefusedEverywhere(postgresStore({ connectionString: wrong.toString(), schema, onError: () => undefined }), StoreError);
      expect((error as StoreError).cause).toMatchObject({ code });
    }
    expect(await sql('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([]);
  });

  it('a schema never migrated, opened with migrate: false, is a StoreError and is not created', async () => {
    const schema = freshSchema();
    const error = await expectRefusedEverywhere(postgresStore({ connectionString: databaseUrl(), schema, migrate: false, onError: () => undefined }), StoreError);
    expect((error as StoreError).message).toMatch(/run store.migrate\(\)/);
    expect(await sql('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([]);
  });
});

describe('a store option that is not a store', () => {
  it.each([
    ['a URL', 'postgres://localhost/app'],
    ['a path', './jobs.db'],
    ['options meant for a store', { path: './jobs.db' }],
    ['null', null],
  ])('%s is refused when the dispatcher is made', (_, store) => {
    let error: unknown;
    try {
      createDispatcher({ store: store as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreConfigError);
    expect(error).toMatchObject({ field: 'store', reason: expect.stringMatching(/sqliteStore\(\{ path \}\) or postgresStore/) });
  });
});
