import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { named } from '../../../src/store/postgres/statements.js';
import { newJob } from '../../../src/testing/store-jobs.js';
import { databaseUrl, openStore } from './database.js';

/** Sample arguments for each statement, written as SQL literals. */
const ARGS: Record<string, string> = {
  lease: `'{}', '{}', 100, 30000, '{job}', NULL, NULL, 'w'`,
  leaseCapped: `'{default}', '{5}', 100, 30000, '{job}', NULL, NULL, 'w'`,
  nextRunAt: `'{job}', NULL`,
  write: `'{1}', '{running}', '{completed}', '{2}', '{t}', '{NULL}', '{NULL}', '{f}', '{NULL}', NULL, '{SUCCEED}', '{w}'`,
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
  let jobsTable: string;

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
    jobsTable = jobs;
    await client.query(`VACUUM ANALYZE ${jobs}`);
  });

  afterAll(async () => {
    await client.end();
    await cleanup();
  });

  // Run for their figures inside a transaction that is rolled back, after `setup` (and its statistics) when given.
  const planOf = async (name: string, text: string, args: string, setup?: string): Promise<PlanNode> => {
    if (!setup) await client.query(`PREPARE ${name} AS ${text}`);
    await client.query('BEGIN');
    try {
      if (setup) {
        await client.query(setup);
        await client.query(`ANALYZE ${jobsTable}`);
        await client.query(`PREPARE ${name} AS ${text}`);
      }
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

  // Beside a backlog no worker here knows, on the same queue and priority, half of it due later: a
  // lease or a next-runAt question for other names must step over it, not read it.
  const backlog = () => `
    INSERT INTO ${jobsTable} (name, queue, input, max_retries, timeout_ms, run_at)
    SELECT 'unknown', 'default', '{}', 3, 60000, now() + (g % 2) * interval '1 hour' FROM generate_series(1, 6000) g`;
  it.each([
    ['lease', 'lease', ARGS.lease!],
    ['lease from the queues served, one capped', 'leaseCapped', `'{default}', '{5}', 100, 30000, '{job}', '{default,mail}', NULL, 'w'`],
    ['lease of a name with no jobs', 'lease', `'{}', '{}', 100, 30000, '{nobody}', NULL, NULL, 'w'`],
    ['nextRunAt', 'nextRunAt', ARGS.nextRunAt!],
    ['nextRunAt for the queues served', 'nextRunAt', `'{job}', '{default}'`],
  ] as const)('%s, beside a backlog of another name', async (label, key, args) => {
    const statement = statements[key];
    const name = `${statement.name}_${label.replace(/\W+/g, '_')}`;
    expect(walks(await planOf(name, statement.text, args, backlog()))).toEqual([]);
  });

  // Completed jobs are most of the table: walking the primary key for them is the index path.
  it.each(['pending', 'retrying', 'running', 'failed', 'dlq', 'cancelled'] as const)('list and purge of %s', async (state) => {
    const list = statements.list[state];
    expect(walks(await planOf(list.name, list.text, '0, 11'))).toEqual([]);
    const purge = statements.purge[state];
    expect(walks(await planOf(purge.name, purge.text, '0'))).toEqual([]);
  });
});
