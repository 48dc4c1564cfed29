import { createHash } from 'node:crypto';
import pg from 'pg';
import type { JobState } from '../../../machines/job.machine.js';
import { jobRules } from '../contract.js';
import { epochMs, fromEpochMs, jobColumns } from './rows.js';
import { withWrittenStep } from './history-sql.js';
import { removedWithJobs } from './removed-with-jobs.js';
import { channelOf, type Named } from './statements.js';
import { LISTED_STATES } from './listed-states.js';
import { COUNTED_STATES, countsTable } from './completed-counts.js';

export { LISTED_STATES };

const listed = (state: JobState) => LISTED_STATES.includes(state);

const byState = (text: (state: JobState) => string): Record<JobState, string> =>
  Object.fromEntries(jobRules.states.map((state) => [state, text(state)])) as Record<JobState, string>;

/**
 * Finding and changing jobs beside the hot path: progress, reschedule,
 * filtered lists and counts, retention. One statement per state where a
 * partial index must be seen to apply, as in statements.ts.
 */
export function adminStatements(schema: string) {
  const jobs = `${pg.escapeIdentifier(schema)}.jobs`;
  const channel = pg.escapeLiteral(channelOf(schema));
  const cutoff = fromEpochMs('$3::float8');

  return {
    /** $1 ids, $2 tokens, $3 progress (JSON text). Answers the ordinals applied. */
    progress: `
      UPDATE ${jobs} j SET progress = p.progress::json
      FROM unnest($1::bigint[], $2::text[], $3::text[]) WITH ORDINALITY AS p(id, token, progress, ord)
      WHERE j.id = p.id AND j.state = '${jobRules.progressIn}' AND j.lease_token = p.token
      RETURNING p.ord`,

    /**
     * $1 id, $2 from, $3 to, $4 lease check (0 ignore, 1 none, 2 held), $5
     * token, $6 attempt (null: keep), $7 runAt ms, $8 priority, $9 the
     * chart's event and $10 the worker, as JSON text, for the job's history (null: no entry). Notifies
     * workers everywhere: the job may now be due sooner than they sleep.
     */
    reschedule: `
      WITH moved AS (
        UPDATE ${jobs} j
        SET state = $3, run_at = ${fromEpochMs('$7::float8')}, priority = $8, attempt = coalesce($6::int, j.attempt),
            lease_token = NULL, lease_expires_at = NULL, updated_at = now(),
            history = ${withWrittenStep('j', { from: '$2::text', to: '$3::text', event: '$9::text', attempt: 'coalesce($6::int, j.attempt)', worker: '$10::text', lastError: 'j.last_error' })}
        WHERE j.id = $1 AND j.state = $2
          AND CASE $4::int WHEN 0 THEN true WHEN 1 THEN j.lease_token IS NULL ELSE j.lease_token = $5 END
        RETURNING j.id, j.run_at
      )
      SELECT pg_notify(${channel}, ${epochMs('run_at')}::bigint::text) FROM moved`,

    /**
     * $1 after this id, $2 page size plus one, $3 queue (null: any), $4 name
     * (null: any). A name alone is a filter on the rows the state's walk reads.
     */
    list: byState((state) =>
      state === jobRules.leased
        ? `
      WITH running AS MATERIALIZED (
        SELECT ${jobColumns('j')}, j.id AS seq FROM ${jobs} j
        WHERE j.state = '${state}' AND j.id > $1::bigint AND ($3::text IS NULL OR j.queue = $3) AND ($4::text IS NULL OR j.name = $4)
      )
      SELECT * FROM running ORDER BY seq LIMIT $2`
        : `
      SELECT ${jobColumns('j')} FROM ${jobs} j
      WHERE j.state = '${state}' AND j.id > $1::bigint AND ($3::text IS NULL OR j.queue = $3) AND ($4::text IS NULL OR j.name = $4)
      ORDER BY j.id
      LIMIT $2`,
    ),

    /** As list, through jobs_listed_queue: $3 the queue, never null. */
    listQueue: byState((state) =>
      listed(state)
        ? `
      SELECT ${jobColumns('j')} FROM ${jobs} j
      WHERE j.state = '${state}' AND j.queue = $3 AND j.id > $1::bigint AND ($4::text IS NULL OR j.name = $4)
      ORDER BY j.id
      LIMIT $2`
        : `SELECT NULL WHERE false`,
    ),

    /**
     * $1 queue. The listed states from jobs_listed_queue alone (an index-only
     * scan), running through jobs_lease_deadline, and the counted states
     * (completed), which no index holds, from their counters: no completed row is read.
     */
    countsQueue: `
      SELECT state, count(*)::int AS n FROM ${jobs}
      WHERE state IN (${LISTED_STATES.map((s) => `'${s}'`).join(', ')}) AND queue = $1 GROUP BY state
      UNION ALL
      SELECT '${jobRules.leased}', count(*)::int FROM ${jobs} WHERE state = '${jobRules.leased}' AND queue = $1
      UNION ALL
      SELECT state, sum(n)::int FROM ${countsTable(schema)} WHERE queue = $1 GROUP BY state`,

    /**
     * $1 after this id (null: from the first job), $2 batch size, $3 cutoff
     * ms. One bounded batch of retention. The listed states walk jobs_listed
     * (state, id), $2 rows; the others have no index, so a batch is a range of
     * the primary key, $2 ids long. Answers how many went and where the next
     * batch starts, null once the walk reached a job created at or after the
     * cutoff: ids follow creation and a job changes no earlier than it was
     * made, so none past it can be old enough.
     */
    expire: byState((state) => {
      const after = `coalesce($1::bigint, (SELECT min(id) - 1 FROM ${jobs}))`;
      const candidates = listed(state)
        ? `SELECT id, created_at FROM ${jobs} WHERE state = '${state}' AND id > ${after} ORDER BY id LIMIT $2`
        : `SELECT id, created_at FROM ${jobs} WHERE id > ${after} AND id <= ${after} + $2 AND state = '${state}'`;
      // The first job past the batch, where the next one starts; gaps left by deleted ids are skipped.
      const next = listed(state)
        ? `SELECT id, created_at FROM candidates WHERE (SELECT count(*) FROM candidates) = $2 ORDER BY id DESC LIMIT 1`
        : `SELECT id - 1 AS id, created_at FROM ${jobs} WHERE id > ${after} + $2 ORDER BY id LIMIT 1`;
      return `
      WITH candidates AS MATERIALIZED (${candidates}),
      gone AS (
        DELETE FROM ${jobs} j
        -- By key, not joined: a generic plan guessing many rows would hash the whole table.
        WHERE j.id = ANY (ARRAY(SELECT id FROM candidates)) AND j.state = '${state}' AND j.updated_at < ${cutoff}
        RETURNING j.id, j.queue, j.state
      ),
      next AS MATERIALIZED (${next}),
      ${removedWithJobs(schema, 'gone').join(',\n      ')}
      SELECT (SELECT count(*)::int FROM gone) AS deleted,
             CASE WHEN EXISTS (SELECT FROM candidates WHERE created_at >= ${cutoff}) THEN NULL
                  ELSE (SELECT id::text FROM next WHERE created_at < ${cutoff}) END AS cursor`;
    }),
  };
}

/** The admin statements, each named after its schema as named() names the others. */
export function namedAdmin(schema: string) {
  const tag = createHash('sha1').update(schema).digest('hex').slice(0, 12);
  const name = (key: string, text: string): Named => ({ name: `dispatch_${tag}_${key}`, text });
  const all = adminStatements(schema);
  const perState = (key: string, texts: Record<JobState, string>) =>
    Object.fromEntries(Object.entries(texts).map(([state, t]) => [state, name(`${key}_${state}`, t)])) as Record<JobState, Named>;
  return {
    progress: name('progress', all.progress),
    reschedule: name('reschedule', all.reschedule),
    countsQueue: name('counts_queue', all.countsQueue),
    list: perState('list_filtered', all.list),
    listQueue: perState('list_queue', all.listQueue),
    expire: perState('expire', all.expire),
  };
}
