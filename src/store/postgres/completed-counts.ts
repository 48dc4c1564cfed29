import pg from 'pg';
import type { JobState } from '../../../machines/job.machine.js';
import { jobRules } from '../contract.js';
import { LISTED_STATES } from './listed-states.js';

/**
 * The states no index holds but the running one: the rows every job ends in
 * (completed). They are counted by a table kept by the statements that move
 * jobs in and delete them, so counts never read those rows.
 */
export const COUNTED_STATES: readonly JobState[] = jobRules.states.filter((state) => state !== jobRules.leased && !LISTED_STATES.includes(state));

/**
 * Spreads one queue's counter over rows, by server process: workers on
 * different connections rarely wait on each other's counter row.
 */
const SHARDS = 16;

export const countsTable = (schema: string) => `${pg.escapeIdentifier(schema)}.state_counts`;

export const countsSchema = (s: string) => `
  -- Jobs per queue in the states that have no index (see completed-counts.ts), as sums over shards:
  -- the write that moves jobs there adds, the deletes of retention and purge take away.
  CREATE TABLE ${s}.state_counts (
    queue text    NOT NULL,
    state text    NOT NULL,
    shard integer NOT NULL,
    n     bigint  NOT NULL,
    PRIMARY KEY (queue, state, shard)
  );
  INSERT INTO ${s}.state_counts (queue, state, shard, n)
  SELECT queue, state, 0, count(*) FROM ${s}.jobs WHERE state IN (${COUNTED_STATES.map((state) => `'${state}'`).join(', ')}) GROUP BY queue, state;
`;

/**
 * A CTE (named `name`) adding `sign` times the jobs of relation `rows`
 * (with queue and state columns) that are in a counted state.
 */
export function countedCte(schema: string, name: string, rows: string, sign: 1 | -1): string {
  const table = countsTable(schema);
  return `${name} AS (
        INSERT INTO ${table} AS c (queue, state, shard, n)
        SELECT r.queue, r.state, pg_backend_pid() % ${SHARDS}, ${sign} * count(*) FROM ${rows} r
        WHERE r.state IN (${COUNTED_STATES.map((state) => `'${state}'`).join(', ')})
        GROUP BY r.queue, r.state
        ON CONFLICT (queue, state, shard) DO UPDATE SET n = c.n + excluded.n
      )`;
}
