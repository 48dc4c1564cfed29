import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { named } from '../../../src/store/postgres/statements.js';
import { newJob } from '../conformance.js';
import { databaseUrl, openStore } from './database.js';

/** Sample arguments for each statement, written as SQL literals. */
const ARGS: Record<string, string> = {
  lease: `'{}', '{}', 100, 30000`,
  nextRunAt: '',
  write: `'{1}', '{running}', '{completed}', '{2}', '{t}', '{NULL}', '{NULL}', '{f}', '{NULL}', NULL`,
  addWaiter: `'1', 'w'`,
  removeWaiter: `'1', 'w'`,
  extend: `'{1}', '{t}', 30000`,
  get: `'1'`,
  expired: '10',
};

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows more than this read and thrown away in one step is a walk over the table, whatever the node. */
const MANY = 1000;

/** The steps of a plan that read the table (or an index) through: a full scan, or rows read only to be discarded. */
const walks = (node: PlanNode): string[] => [
  ...(node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'jobs' ? ['Seq Scan on jobs'] : []),
  ...((node['Rows Removed by Filter'] ?? 0) > MANY
    ? [`${node['Node Type']} ${node['Index Name'] ?? ''} discarding ${node['Rows Removed by Filter']} rows`]
    : []),
  ...(node.Plans ?? []).flatMap(walks),
];

/**
 * The store's statements are planned once per connection, for any argument
 * (a generic plan), so a plan that reads the whole table would cost every
 * call in proportion to the jobs kept. None may.
 */
describe('postgres store: statements reach their rows through indexes', () => {
  let client: pg.Client;
  let cleanup: () => Promise<void>;
  let statements: ReturnType<typeof named>;

  beforeAll(async () => {
    const opened = await openStore();
    cleanup = opened.cleanup;
    statements = named(opened.schema);
    // Enough rows that reading them all is dearer than any index path, mostly finished, as a table that has run for a while holds.
    await opened.store.insert(Array.from({ length: 20_000 }, () => newJob()));
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

  // Run for their figures inside a transaction that is rolled back.
  const planOf = async (name: string, text: string, args: string): Promise<PlanNode> => {
    await client.query(`PREPARE ${name} AS ${text}`);
    await client.query('BEGIN');
    try {
      const call = args === '' ? name : `${name}(${args})`;
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE ${call}`);
      return rows[0]!['QUERY PLAN'][0]!.Plan;
    } finally {
      await client.query('ROLLBACK');
    }
  };

  it.each(Object.keys(ARGS))('%s', async (key) => {
    const statement = statements[key as keyof typeof statements] as { name: string; text: string };
    expect(walks(await planOf(statement.name, statement.text, ARGS[key]!))).toEqual([]);
  });

  // Completed jobs are most of the table: walking the primary key for them is the index path.
  it.each(['pending', 'retrying', 'running', 'failed', 'dlq', 'cancelled'] as const)('list and purge of %s', async (state) => {
    const list = statements.list[state];
    expect(walks(await planOf(list.name, list.text, '0, 11'))).toEqual([]);
    const purge = statements.purge[state];
    expect(walks(await planOf(purge.name, purge.text, '0'))).toEqual([]);
  });
});
