import pg from 'pg';
import { countedCte } from './completed-counts.js';

/**
 * Statements that delete whatever the store keeps beside the jobs in CTE
 * `gone` (a relation with `id`, `queue` and `state` columns), to run in the
 * statement that deletes them: the one place a feature that keeps rows per
 * job adds its own.
 */
export function removedWithJobs(schema: string, gone: string): string[] {
  const s = pg.escapeIdentifier(schema);
  return [
    `gone_waiters AS (DELETE FROM ${s}.rest_waiters w WHERE w.job_id IN (SELECT id FROM ${gone}))`,
    // A key whose holder is gone is free anyway; its row goes too, so keys do not pile up.
    `gone_keys AS (DELETE FROM ${s}.job_keys k WHERE k.job_id IN (SELECT id FROM ${gone}))`,
    countedCte(schema, 'gone_counted', gone, -1),
  ];
}
