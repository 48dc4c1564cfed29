import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import { named, schemaTag } from '../../../src/store/postgres/statements.js';
import { WARM_CONNECTIONS, warmUps } from '../../../src/store/postgres/warm-connections.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { databaseUrl, openStore, sql } from './database.js';

describe('postgres store: connections are ready for the first jobs', () => {
  const ends: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (ends.length > 0) await ends.pop()!();
  });

  /** A pool of the test's own, so its connections can be looked at. */
  function pool(config: pg.PoolConfig = {}): pg.Pool {
    const made = new pg.Pool({ connectionString: databaseUrl(), ...config });
    ends.push(() => made.end());
    return made;
  }

  it('opens with as many connections as a worker uses at once, each having run the statements every job goes through, keeping no plan and writing nothing', async () => {
    const own = pool();
    // What each of the pool's connections is sent, seen on the real client.
    const sent = new Map<pg.PoolClient, unknown[]>();
    own.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      sent.set(client, []);
      (client as { query: unknown }).query = (...args: unknown[]) => {
        sent.get(client)!.push(args[0]);
        return query(...args);
      };
    });
    const { store, schema, cleanup } = await openStore({ pool: own });
    ends.push(cleanup);
    const texts = warmUps(named(schema), 'origin').map((w) => w.statement.text);
    // Sent as plain text, not as named statements.
    const warmed = [...sent.values()].filter((queries) => texts.every((text) => queries.includes(text)));
    expect(warmed).toHaveLength(WARM_CONNECTIONS);
    for (const queries of warmed) expect(queries.at(-1)).toBe('ROLLBACK');
    // Checked out together, so each is a different connection: none keeps a plan of the store's.
    const clients = await Promise.all(Array.from({ length: WARM_CONNECTIONS }, () => own.connect()));
    try {
      for (const client of clients) {
        const { rows } = await client.query('SELECT name FROM pg_prepared_statements WHERE name LIKE $1', [`dispatch_${schemaTag(schema)}_%`]);
        expect(rows).toEqual([]);
      }
    } finally {
      for (const client of clients) client.release();
    }
    expect(await sql(`SELECT id FROM ${pg.escapeIdentifier(schema)}.jobs`)).toEqual([]);
    // Real jobs go through afterwards.
    const [job] = await store.insert([newJob()]);
    const leased = await store.lease({ names: [job!.name], limit: 1, leaseMs: 30_000, queueRoom: {} });
    expect(leased.jobs.map((j) => j.id)).toEqual([job!.id]);
  });

  it('opens without waiting for a table another transaction holds, and tells onError', async () => {
    const { schema, cleanup } = await openStore();
    ends.push(cleanup);
    const locker = new pg.Client({ connectionString: databaseUrl() });
    await locker.connect();
    ends.push(() => locker.end());
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${pg.escapeIdentifier(schema)}.jobs IN EXCLUSIVE MODE`);
    const errors: unknown[] = [];
    const second = postgresStore({ connectionString: databaseUrl(), schema, migrate: false, onError: (error) => errors.push(error) });
    ends.push(() => second.close());
    await second.open();
    expect(errors).toHaveLength(WARM_CONNECTIONS);
    for (const error of errors) {
      expect(error).toBeInstanceOf(StoreError);
      expect(((error as StoreError).cause as { code?: string }).code).toBe('55P03');
    }
    await locker.query('ROLLBACK');
    expect(await second.counts()).toMatchObject({ pending: 0 });
  });

  it('opens anyway when warming fails, and tells onError', async () => {
    const own = pool();
    // The migration's connection is given, the warm-up's (asked for together, next) refused, later ones given.
    let asked = 0;
    const real = own.connect.bind(own) as (callback?: (...args: unknown[]) => void) => Promise<pg.PoolClient> | undefined;
    const stingy = Object.assign(Object.create(own) as pg.Pool, {
      // Both of pg's ways: a promise, or a callback (its own query() uses that).
      connect: (callback?: (...args: unknown[]) => void) => {
        const n = asked++;
        if (n < 1 || n > WARM_CONNECTIONS) return real(callback);
        const refused = new Error('no more connections');
        if (!callback) return Promise.reject(refused);
        callback(refused);
        return undefined;
      },
    });
    const errors: unknown[] = [];
    const { store, cleanup } = await openStore({ pool: stingy, onError: (error) => errors.push(error) });
    ends.push(cleanup);
    expect(errors).toHaveLength(WARM_CONNECTIONS);
    expect(errors.every((e) => e instanceof StoreError && /warming a connection failed/.test(e.message))).toBe(true);
    expect(await store.counts()).toMatchObject({ pending: 0 });
  });

  it("keeps the pool's connections open while idle past pg's default 10 s", { timeout: 30_000 }, async () => {
    const app = `dispatch-idle-${randomBytes(4).toString('hex')}`;
    const { cleanup } = await openStore({ connectionString: databaseUrl(), poolConfig: { application_name: app } });
    ends.push(cleanup);
    const open = async () => (await sql<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [app]))[0]!.n;
    const before = await open();
    expect(before).toBeGreaterThanOrEqual(WARM_CONNECTIONS);
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(await open()).toBe(before);
  });
});
