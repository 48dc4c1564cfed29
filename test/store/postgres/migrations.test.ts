import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/index.js';
import { type PostgresStore, postgresStore } from '../../../src/postgres.js';
import { MIGRATIONS } from '../../../src/store/postgres/migrations.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { databaseUrl, dropSchema, freshSchema, sql } from './database.js';

describe('postgres store: migrations', () => {
  const schemas: string[] = [];
  const stores: PostgresStore[] = [];

  const make = (options: { schema?: string; migrate?: boolean } = {}) => {
    const schema = options.schema ?? freshSchema();
    if (!schemas.includes(schema)) schemas.push(schema);
    const store = postgresStore({ connectionString: databaseUrl(), onError: () => undefined, ...options, schema });
    stores.push(store);
    return store;
  };

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(schemas.splice(0).map(dropSchema));
  });

  const versions = (schema: string) =>
    sql<{ version: number; name: string }>(`SELECT version, name FROM ${pg.escapeIdentifier(schema)}.migrations ORDER BY version`);

  it('applies each step once when many processes open a new schema at the same moment', async () => {
    const schema = freshSchema();
    const racers = Array.from({ length: 6 }, () => make({ schema }));
    await Promise.all(racers.map((s) => s.open()));
    expect(await versions(schema)).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
    const [job] = await racers[0]!.insert([newJob()]);
    expect(await racers[5]!.get(job!.id)).toMatchObject({ state: 'pending' });
  });

  it('does nothing on a schema already up to date', async () => {
    const store = make();
    await store.open();
    const [job] = await store.insert([newJob()]);
    await store.migrate();
    await store.close();
    await store.open();
    expect(await versions(store.schema)).toHaveLength(MIGRATIONS.length);
    expect(await store.get(job!.id)).not.toBeNull();
  });

  it('with migrate: false, refuses a schema not migrated yet until migrate() runs', async () => {
    const store = make({ migrate: false });
    const refusal = await store.open().catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(StoreError);
    expect((refusal as Error).message).toMatch(/version 0.*migrate\(\)/);
    await store.migrate();
    await store.open();
    expect(await store.insert([newJob()])).toHaveLength(1);
  });

  it('brings a schema made by the first version up to date, keeping its jobs', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const s = pg.escapeIdentifier(schema);
    const first = MIGRATIONS[0]!;
    await sql(`CREATE SCHEMA ${s}; CREATE TABLE ${s}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
      ${first.sql(s)}; INSERT INTO ${s}.migrations (version, name) VALUES (${first.version}, '${first.name}')`);
    await sql(`INSERT INTO ${s}.jobs (name, queue, input, max_retries, timeout_ms, state) VALUES ('a', 'default', '{}', 3, 1000, 'dlq')`);
    const indexes = async () =>
      (await sql<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'jobs' ORDER BY 1`, [schema])).map(
        (r) => r.indexname,
      );
    expect(await indexes()).toContain('jobs_state');

    const store = make({ schema });
    await store.open();
    expect((await versions(schema)).map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect(await indexes()).toEqual(['jobs_groups', 'jobs_lanes', 'jobs_lease_deadline', 'jobs_listed', 'jobs_listed_queue', 'jobs_pkey']);
    const [kept] = (await store.list({ state: 'dlq', limit: 10 })).jobs;
    expect(kept).toMatchObject({ name: 'a', result: null });
    expect(kept!.defect).toBeUndefined();
    // The columns added since are there and work: a completion stores its result.
    const [fresh] = await store.insert([newJob()]);
    const [leased] = (await store.lease({ limit: 1, queueRoom: {}, leaseMs: 1000, names: ['job'] })).jobs;
    expect(await store.write([{ id: fresh!.id, from: 'running', to: 'completed', token: leased!.leaseToken, resultJson: '{"ok":true}' }])).toEqual([true]);
    expect((await store.get(fresh!.id))!.result).toEqual({ ok: true });
  });

  it('refuses a schema newer than this version knows', async () => {
    const store = make();
    await store.open();
    await store.close();
    await sql(`INSERT INTO ${pg.escapeIdentifier(store.schema)}.migrations (version, name) VALUES (999, 'from the future')`);
    const refusal = await store.open().catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(StoreError);
    expect((refusal as Error).message).toMatch(/version 999, newer/);
  });

  it('quotes the schema name, so any name is a name and never SQL', async () => {
    const schema = `Odd "name"; DROP TABLE x; --${freshSchema().slice(-6)}`;
    const store = make({ schema });
    await store.open();
    const seen: number[] = [];
    const off = store.subscribe((runAt) => seen.push(runAt));
    await store.listening();
    const runAt = Date.now() - 10;
    const [job] = await store.insert([newJob({ runAt })]);
    expect((await store.lease({ limit: 1, queueRoom: {}, leaseMs: 1000, names: ['job'] })).jobs.map((j) => j.id)).toEqual([job!.id]);
    const found = await sql<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = $1', [schema]);
    expect(found).toEqual([{ nspname: schema }]);
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => seen.includes(runAt) && (clearInterval(timer), resolve()), 5);
    });
    off();
  });
});
