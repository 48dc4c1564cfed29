import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminStatements } from '../../../src/store/postgres/job-admin.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { databaseUrl, openStore } from './database.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];
/** Rows more than this read and thrown away in one step is a walk over the table. */
const MANY = 1000;
const walks = (plan: PlanNode) =>
  nodes(plan)
    .filter((n) => (n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'jobs') || (n['Rows Removed by Filter'] ?? 0) > MANY)
    .map((n) => `${n['Node Type']} ${n['Index Name'] ?? n['Relation Name'] ?? ''}`);
const indexes = (plan: PlanNode) => [...new Set(nodes(plan).flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])))];

/**
 * Retention, filtered lists and counts run as generic plans, like every
 * statement of the store: none may read the table through, and the ones the
 * listing indexes serve must use them.
 */
describe('postgres store: retention and filtered lists reach their rows through indexes', () => {
  let client: pg.Client;
  let cleanup: () => Promise<void>;
  let statements: ReturnType<typeof adminStatements>;
  let n = 0;

  beforeAll(async () => {
    const opened = await openStore();
    cleanup = opened.cleanup;
    statements = adminStatements(opened.schema);
    await opened.store.insert(Array.from({ length: 20_000 }, (_, i) => newJob({ queue: i % 2 ? 'a' : 'b' })));
    const jobs = `${pg.escapeIdentifier(opened.schema)}.jobs`;
    client = new pg.Client({ connectionString: databaseUrl(), options: '-c jit=off -c plan_cache_mode=force_generic_plan' });
    await client.connect();
    await client.query(`UPDATE ${jobs} SET state = 'completed' WHERE id % 100 NOT IN (0, 10, 20)`);
    await client.query(`UPDATE ${jobs} SET state = 'running', lease_token = 't', lease_expires_at = now() WHERE id % 100 = 0`);
    await client.query(`UPDATE ${jobs} SET state = 'dlq' WHERE id % 100 = 10`);
    await client.query(`VACUUM ANALYZE ${jobs}`);
  });

  afterAll(async () => {
    await client.end();
    await cleanup();
  });

  /** Runs `text` as a prepared statement, in a transaction rolled back, and answers its plan. */
  const planOf = async (text: string, args: string): Promise<PlanNode> => {
    const name = `admin_plan_${n++}`;
    await client.query(`PREPARE ${name} AS ${text}`);
    await client.query('BEGIN');
    try {
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${name}(${args})`);
      return rows[0]!['QUERY PLAN'][0]!.Plan;
    } finally {
      await client.query('ROLLBACK');
    }
  };

  const cutoff = () => String(Date.now() + 60_000);

  it.each(['pending', 'retrying', 'failed', 'dlq', 'cancelled'] as const)('expire of %s walks jobs_listed', async (state) => {
    const plan = await planOf(statements.expire[state], `NULL, 1000, ${cutoff()}`);
    expect(walks(plan)).toEqual([]);
    expect(indexes(plan)).toContain('jobs_listed');
  });

  it('expire of completed reads one range of the primary key', async () => {
    const plan = await planOf(statements.expire.completed, `5000, 1000, ${cutoff()}`);
    expect(walks(plan)).toEqual([]);
    expect(indexes(plan)).toEqual(['jobs_pkey']);
  });

  it.each(['pending', 'retrying', 'failed', 'dlq', 'cancelled'] as const)('list of %s by queue uses jobs_listed_queue', async (state) => {
    const plan = await planOf(statements.listQueue[state], `0, 51, 'a', NULL`);
    expect(walks(plan)).toEqual([]);
    expect(indexes(plan)).toEqual(['jobs_listed_queue']);
  });

  it.each(['running', 'completed', 'dlq'] as const)('list of %s filtered by name reads no table through', async (state) => {
    expect(walks(await planOf(statements.list[state], `0, 51, NULL, 'job'`))).toEqual([]);
  });

  it('counts a queue from the listing indexes and the completed counters, reading no table through', async () => {
    const plan = await planOf(statements.countsQueue, `'a'`);
    expect(indexes(plan)).toEqual(expect.arrayContaining(['jobs_listed_queue', 'jobs_lease_deadline']));
    // Completed rows have no index (a decision: every job passes through); their counters stand in.
    expect(walks(plan)).toEqual([]);
  });
});
