import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, StoreError } from '../../../src/index.js';
import { type PostgresStore, postgresStore } from '../../../src/postgres.js';
import { deferred } from '../../support/harness.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { databaseUrl, openStore, sql } from './database.js';
import { ENQUEUED_PAYLOAD } from '../../../src/store/postgres/enqueue-announcer.js';
import { named } from '../../../src/store/postgres/statements.js';

/** Collects the runAt of every wake-up a store delivers, and lets a test wait for a given one. */
function wakes(store: PostgresStore) {
  const seen: number[] = [];
  const waiters: Array<{ test: (runAt: number) => boolean; resolve: (runAt: number) => void }> = [];
  const off = store.subscribe((runAt) => {
    seen.push(runAt);
    for (const w of waiters.splice(0)) {
      if (w.test(runAt)) w.resolve(runAt);
      else waiters.push(w);
    }
  });
  const next = (test: (runAt: number) => boolean) =>
    new Promise<number>((resolve) => (seen.some(test) ? resolve(seen.find(test)!) : waiters.push({ test, resolve })));
  /** Once LISTEN is in effect: forgets the one wake that comes with it, so a test sees notifications only. */
  const listening = async () => {
    await store.listening();
    await next(() => true);
    seen.length = 0;
  };
  return { seen, next, off, listening };
}

/** A plain LISTEN on the store's channel, outside any store: every payload, in commit order. */
async function rawListener(schema: string) {
  const client = new pg.Client({ connectionString: databaseUrl() });
  await client.connect();
  const payloads: string[] = [];
  let heard = () => {};
  client.on('notification', (n) => {
    payloads.push(n.payload ?? '');
    heard();
  });
  await client.query(`LISTEN ${pg.escapeIdentifier(`${schema}.jobs`)}`);
  /** The first `n` payloads, once they have come. */
  const first = (n: number) =>
    new Promise<string[]>((resolve) => {
      heard = () => payloads.length >= n && resolve(payloads.slice(0, n));
      heard();
    });
  return { payloads, first, end: () => client.end() };
}

describe('postgres store: LISTEN/NOTIFY', () => {
  let listener: PostgresStore;
  let other: PostgresStore;
  let schema: string;
  let cleanup: () => Promise<void>;
  const errors: unknown[] = [];

  beforeEach(async () => {
    errors.length = 0;
    ({ store: listener, schema, cleanup } = await openStore({ onError: (e) => errors.push(e) }));
    // Another process, as far as Postgres can tell: its own pool and connections.
    other = postgresStore({ connectionString: databaseUrl(), schema, onError: (e) => errors.push(e) });
    await other.open();
  });

  afterEach(async () => {
    await other.close();
    await cleanup();
  });

  it('wakes its subscribers once when LISTEN takes effect, for what was enqueued before it did', async () => {
    // Enqueued while the worker was starting: its notification went to nobody.
    await other.insert([newJob()]);
    const before = Date.now();
    const { seen, next, off } = wakes(listener);
    await listener.listening();
    expect(await next(() => true)).toBeGreaterThanOrEqual(before);
    expect(seen).toHaveLength(1);
    off();
  });

  it("wakes a subscriber when another connection inserts, carrying the earliest runAt of the insert", async () => {
    const { next, off, listening } = wakes(listener);
    await listening();
    const runAt = Date.now() - 1234;
    await other.insert([newJob({ runAt: runAt + 10 }), newJob({ runAt }), newJob({ runAt: runAt + 20 })]);
    expect(await next((r) => r === runAt)).toBe(runAt);
    off();
  });

  it('tells its own subscribers once of an insert through its pool, when it returns, and passes over its tagged echo', async () => {
    const raw = await rawListener(schema);
    try {
      const { seen, next, off, listening } = wakes(listener);
      await listening();
      const runAt = Date.now() - 4321;
      await listener.insert([newJob({ runAt }), newJob({ runAt: runAt + 5 })]);
      // Told by the time the insert returns, before any notification could come back.
      expect(seen).toEqual([runAt]);
      // Its notification names the store that sent it.
      const [tagged] = await raw.first(1);
      expect(tagged).toMatch(new RegExp(`^${ENQUEUED_PAYLOAD}[0-9a-f-]+:${runAt}$`));
      // A marker committed after it: notifications arrive in commit order, so the echo is in by then.
      const marker = Date.now() - 99_999;
      await other.insert([newJob({ runAt: marker })]);
      await next((r) => r === marker);
      expect(seen).toEqual([runAt, marker]);
      off();
    } finally {
      await raw.end();
    }
  });

  it('sends a lone insert at once, gathers those that come meanwhile into one transaction, and announces it after its commit', async () => {
    const raw = await rawListener(schema);
    try {
      const theirs = wakes(other);
      await theirs.listening();
      const first = Date.now() - 3000;
      const second = first - 1000;
      const [a, b, c] = await Promise.all([
        listener.insert([newJob({ runAt: first })]),
        listener.insert([newJob({ runAt: second + 5 })]),
        listener.insert([newJob({ runAt: second })]),
      ]);
      const xmin = await sql<{ id: string; x: string }>(`SELECT id::text, xmin::text AS x FROM ${pg.escapeIdentifier(schema)}.jobs ORDER BY id`);
      expect(xmin.map((r) => r.id)).toEqual([a![0]!.id, b![0]!.id, c![0]!.id]);
      expect(new Set(xmin.map((r) => r.x)).size).toBe(2);
      expect(xmin[1]!.x).toBe(xmin[2]!.x);
      // The lone one's own notification, then one announcement for the two, of their earliest.
      const own = new RegExp(`^${ENQUEUED_PAYLOAD}[0-9a-f-]+:`);
      expect(await raw.first(2)).toEqual([expect.stringMatching(new RegExp(`${own.source}${first}$`)), expect.stringMatching(new RegExp(`${own.source}${second}$`))]);
      expect(await theirs.next((r) => r === second)).toBe(second);
      await theirs.next((r) => r === first);
      theirs.off();
    } finally {
      await raw.end();
    }
  });

  it("sends nothing from a quiet insert's transaction, and tags a tagged one's notification with the origin given", async () => {
    const raw = await rawListener(schema);
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      const statements = named(schema);
      const row = (runAt: number) => [['job'], ['default'], ['{}'], [0], [runAt], [0], [1000], null, null];
      await client.query('BEGIN');
      await client.query(statements.insertQuiet.text, row(Date.now() - 600));
      await client.query('COMMIT');
      await client.query(statements.insertTagged.text, [...row(Date.now() - 500), 'someone']);
      // Commit order: had the quiet insert notified, its payload would come first.
      expect(await raw.first(1)).toEqual([expect.stringMatching(new RegExp(`^${ENQUEUED_PAYLOAD}someone:`))]);
      // The setting lived for its own transaction only: a plain insert on the same connection is told untagged.
      const plain = Date.now() - 400;
      await client.query(statements.insert.text, row(plain));
      expect(await raw.first(2)).toEqual([expect.anything(), String(plain)]);
    } finally {
      await client.end();
      await raw.end();
    }
  });

  it('announces what it inserted before its pool closes', async () => {
    const raw = await rawListener(schema);
    const closing = postgresStore({ connectionString: databaseUrl(), schema, onError: (e) => errors.push(e) });
    try {
      await closing.open();
      const runAt = Date.now() - 2222;
      // The second and third share a transaction, announced after its commit, which the close must not drop.
      await Promise.all([closing.insert([newJob({ runAt: runAt + 2 })]), closing.insert([newJob({ runAt: runAt + 1 })]), closing.insert([newJob({ runAt })])]);
      await closing.close();
      expect((await raw.first(2))[1]).toMatch(new RegExp(`^${ENQUEUED_PAYLOAD}[0-9a-f-]+:${runAt}$`));
      expect(errors).toEqual([]);
    } finally {
      await raw.end();
    }
  });

  it('wakes subscribers when a job re-enters the queue, not when it is leased or finished', async () => {
    const [job] = await other.insert([newJob()]);
    const { seen, next, off, listening } = wakes(listener);
    await listening();
    const [leased] = (await other.lease({ limit: 1, queueRoom: {}, leaseMs: 30_000, names: ['job'] })).jobs;
    const retryAt = Date.now() + 60_000;
    await other.write([{ id: job!.id, from: 'running', to: 'retrying', token: leased!.leaseToken, runAt: retryAt }]);
    expect(await next((r) => r === retryAt)).toBe(retryAt);
    // A marker insert after everything else: notifications arrive in commit order.
    const marker = Date.now() - 99_999;
    await other.write([{ id: job!.id, from: 'retrying', to: 'cancelled' }]);
    await other.insert([newJob({ runAt: marker })]);
    await next((r) => r === marker);
    expect(seen).toEqual([retryAt, marker]);
    off();
  });

  it('wakes an idle worker in another process that never polls', async () => {
    const ran = deferred<string>();
    const job = defineJob({ name: 'wake-me', input: z.object({}), handler: (_i, ctx) => ran.resolve(ctx.job.id) });
    // With an hour between polls, only a notification can start this job in time.
    const sleepy = postgresStore({ connectionString: databaseUrl(), schema, pollInterval: '1h' });
    const worker = createDispatcher({ store: sleepy, onError: (e) => errors.push(e) }).register(job);
    await worker.start();
    await sleepy.listening();
    const enqueuer = createDispatcher({ store: other }).register(job);
    const record = await enqueuer.enqueue(job, {});
    expect(await ran.promise).toBe(record.id);
    await worker.stop();
    expect(errors).toEqual([]);
  });

  it('listens again by itself after its connection is killed, and notifications resume', async () => {
    const { seen, next, off, listening } = wakes(listener);
    await listening();
    const lost = new Promise<void>((resolve) => {
      const before = errors.length;
      const timer = setInterval(() => {
        if (errors.length > before) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const killed = await sql<{ killed: boolean }>(
      'SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE query = $1',
      [`LISTEN ${pg.escapeIdentifier(`${schema}.jobs`)}`],
    );
    expect(killed).toEqual([{ killed: true }]);
    await lost;
    expect(errors[0]).toBeInstanceOf(StoreError);
    await listener.listening();
    // Back on: one wake at once, for whatever was enqueued while it was away.
    await next(() => true);
    const runAt = Date.now() - 4321;
    await other.insert([newJob({ runAt })]);
    expect(await next((r) => r === runAt)).toBe(runAt);
    expect(seen.length).toBe(2);
    off();
  });

  it('sends nothing for an enqueue inside a transaction until it commits', async () => {
    const { seen, next, off, listening } = wakes(listener);
    await listening();
    const client = new pg.Client({ connectionString: databaseUrl() });
    await client.connect();
    try {
      await client.query('BEGIN');
      const runAt = Date.now() - 777;
      await other.insert([newJob({ runAt })], { client });
      // Proof that the notification did not come early: a later insert, committed first, arrives alone.
      const marker = Date.now() - 555;
      await other.insert([newJob({ runAt: marker })]);
      await next((r) => r === marker);
      expect(seen).toEqual([marker]);
      await client.query('COMMIT');
      expect(await next((r) => r === runAt)).toBe(runAt);
    } finally {
      await client.end();
    }
    off();
  });
});
