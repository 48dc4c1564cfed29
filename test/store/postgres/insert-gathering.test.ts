import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from '../../../src/index.js';
import type { PostgresStore } from '../../../src/postgres.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { openStore, sql } from './database.js';

describe('postgres store: the inserts of one turn share a statement', () => {
  let store: PostgresStore;
  let schema: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, schema, cleanup } = await openStore());
  });

  afterEach(() => cleanup());

  it('answers each caller with its own jobs, ids in call order, those that came during the first insert in one statement', async () => {
    const [a, b, c] = await Promise.all([
      store.insert([newJob({ name: 'a1' }), newJob({ name: 'a2' })]),
      store.insert([newJob({ name: 'b1' })]),
      store.insert([newJob({ name: 'c1' }), newJob({ name: 'c2' })]),
    ]);
    expect([a!.map((j) => j.name), b!.map((j) => j.name), c!.map((j) => j.name)]).toEqual([['a1', 'a2'], ['b1'], ['c1', 'c2']]);
    const ids = [...a!, ...b!, ...c!].map((j) => Number(j.id));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    for (const job of [...a!, ...b!, ...c!]) expect((await store.get(job.id))?.name).toBe(job.name);
    const xmins = await sql<{ x: string }>(`SELECT DISTINCT xmin::text AS x FROM ${pg.escapeIdentifier(schema)}.jobs WHERE id = ANY ($1::bigint[])`, [[...b!, ...c!].map((j) => j.id)]);
    expect(xmins).toHaveLength(1);
  });

  it('fails only the caller whose rows the database refuses when inserts share a turn', async () => {
    // The first goes alone; the other two share a statement, which the database refuses for the bad name.
    const results = await Promise.allSettled([store.insert([newJob()]), store.insert([newJob({ name: 'bad\u0000name' })]), store.insert([newJob()])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
    for (const r of [results[0], results[2]]) {
      const [stored] = (r as PromiseFulfilledResult<Awaited<ReturnType<PostgresStore['insert']>>>).value;
      expect((await store.get(stored!.id))?.state).toBe('pending');
    }
    expect(await sql(`SELECT id FROM ${pg.escapeIdentifier(schema)}.jobs WHERE name LIKE 'bad%'`)).toEqual([]);
  });

});
