import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { JOB_STATES } from '../../machines/job.machine.js';
import { jobRules } from '../../machines/job.rules.js';
import { memoryStore, sqliteStore } from '../../src/index.js';
import { openStore } from '../store/postgres/database.js';

/** The states a SQL text names in `state IN (...)` or `state = ...`, in the order written. */
function statesIn(sql: string): string[] {
  const list = /state\s*(?:IN\s*\(([^)]*)\)|=\s*('[^']*'))/i.exec(sql.replace(/::text/g, ''));
  if (!list) return [];
  return [...(list[1] ?? list[2]!).matchAll(/'([^']*)'/g)].map((m) => m[1]!);
}

const sorted = (states: readonly string[]) => [...states].sort();

describe("the stores follow the job chart's rules", () => {
  it('the type-level list of states is the chart’s own', () => {
    expect([...JOB_STATES]).toEqual([...jobRules.states]);
  });

  it('reads from the chart where a lease takes jobs from, and where it leaves them', () => {
    expect(jobRules.leasable).toEqual(['pending']);
    expect([...jobRules.dueThrough.keys()]).toEqual(['retrying']);
    expect(jobRules.leased).toBe('running');
    expect(jobRules.attemptsPerLease).toBe(1);
    expect(jobRules.rest).toEqual(['completed', 'failed', 'dlq', 'cancelled']);
    expect(jobRules.initial).toBe('pending');
  });

  it('memory: counts every state of the chart', async () => {
    const store = memoryStore();
    await store.open();
    expect(Object.keys(await store.counts())).toEqual([...jobRules.states]);
  });

  describe('SQLite: the schema, as migrated, matches the rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dispatch-rules-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('CHECK holds every state; the lease index the states leased from; the deadline index the leased state', async () => {
      const path = join(dir, 'rules.db');
      const store = sqliteStore({ path });
      await store.open();
      await store.close();
      const db = new Database(path, { readonly: true });
      const sql = (name: string) => (db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(name) as { sql: string }).sql;
      expect(sorted(statesIn(sql('dispatch_jobs')))).toEqual(sorted(jobRules.states));
      expect(statesIn(sql('dispatch_jobs_leasable'))).toEqual([...jobRules.leaseFrom]);
      expect(statesIn(sql('dispatch_jobs_lease_deadline'))).toEqual([jobRules.leased]);
      db.close();
    });
  });

  describe('Postgres: the schema, as migrated, matches the rules', () => {
    it('CHECK holds every state; the lease index the states leased from; the deadline index the leased state', async () => {
      const { schema, cleanup } = await openStore();
      const client = new pg.Client({ connectionString: inject('databaseUrl') });
      await client.connect();
      try {
        const check = await client.query<{ def: string }>(
          `SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
           WHERE n.nspname = $1 AND c.contype = 'c' AND pg_get_constraintdef(c.oid) LIKE '%state%'`,
          [schema],
        );
        const stateCheck = check.rows[0]!.def.replace(/ANY \(ARRAY\[(.*)\]\)/, 'IN ($1)').replace('= IN', 'IN');
        expect(sorted(statesIn(stateCheck))).toEqual(sorted(jobRules.states));
        const index = async (name: string) =>
          (await client.query<{ def: string }>('SELECT pg_get_indexdef(($1 || $2)::regclass) AS def', [`${pg.escapeIdentifier(schema)}.`, name])).rows[0]!.def;
        const lanes = (await index('jobs_lanes')).replace(/ANY \(ARRAY\[(.*)\]\)/, 'IN ($1)').replace('= IN', 'IN');
        expect(statesIn(lanes)).toEqual([...jobRules.leaseFrom]);
        expect(statesIn(await index('jobs_lease_deadline'))).toEqual([jobRules.leased]);
      } finally {
        await client.end();
        await cleanup();
      }
    });
  });
});
