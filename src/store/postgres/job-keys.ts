/**
 * Unique keys on Postgres: a table of (name, key) -> the job holding it, and
 * one function that decides a batch of keyed jobs in the caller's
 * transaction. The key row's lock (SELECT ... FOR UPDATE, or the unique
 * index an insert of it waits on) makes concurrent enqueuers of one key
 * take turns, in every process. The rule is the one of src/store/job-keys.ts
 * (keyOutcome), with the chart's states passed in, not written here: this
 * text is history once released, and the chart may grow.
 */
import type { JobState } from '../../../machines/job.machine.js';
import { jobRules, JobKeyConflictError, type NewJob, RESTING_STATES, type StoredJob } from '../contract.js';
import { repeated, keyOf } from '../job-keys.js';
import { insertColumns, type JobRow, toStoredJob, traceColumn } from './rows.js';

/** The message insert_keyed raises an 'error' conflict with. */
const KEY_HELD = 'dispatch: unique key held';

export const keysTable = (s: string) => `
  -- Jobs without a key write nothing here. A holder at rest past keep_for_ms, or deleted, is taken
  -- over in place: no time in an index, no row to clean up first.
  CREATE TABLE ${s}.job_keys (
    name        text   NOT NULL,
    key         text   NOT NULL,
    job_id      bigint NOT NULL,
    keep_for_ms float8 NOT NULL,
    PRIMARY KEY (name, key)
  );
  -- Deleting jobs (retention, purge) deletes their key rows through this.
  CREATE INDEX job_keys_job ON ${s}.job_keys (job_id);
`;

/**
 * The function deciding a keyed batch, made once every column it writes and answers exists.
 * Without `trace`, the text of migration 10; with it, migration 13's, which also writes each
 * job's trace context (one more array, last).
 */
export const keyedInsertFunction = (s: string, trace = false) => `
  -- One row per job in, in order: ord, what happened (inserted, kept, replaced) and the job as it now is.
  -- p_rest: the chart's resting states; p_replaceable: where it accepts REPLACE. Raises P0001
  -- 'dispatch: unique key held' (detail: the job's ordinal, the holder's id and state, as JSON) for onConflict 'error'.
  CREATE FUNCTION ${s}.insert_keyed(
    p_names text[], p_queues text[], p_inputs text[], p_priorities int[], p_run_ats float8[], p_max_retries int[], p_timeouts int[], p_groups text[],
    p_keys text[], p_keep_for float8[], p_on_conflict text[], p_debounce bool[],
    p_rest text[], p_replaceable text[], p_due_from text[], p_due_to text[], p_channel text${trace ? ', p_traces text[]' : ''})
  RETURNS TABLE (
    ord int, outcome text, id text, name text, queue text, state text, input text, priority int, run_at float8,
    attempt int, max_retries int, timeout_ms int, last_error text, result text, lease_token text,
    lease_expires_at float8, created_at float8, updated_at float8, progress text, job_group text, replaced_from text)
  LANGUAGE plpgsql AS $fn$
  #variable_conflict use_column
  DECLARE
    i int;
    the_id bigint;
    what text;
    held_by bigint;
    held_for float8;
    h_state text;
    h_updated timestamptz;
    h_run_at timestamptz;
    into_state text;
  BEGIN
    FOR i IN 1 .. coalesce(array_length(p_names, 1), 0) LOOP
      LOOP
        what := 'inserted';
        into_state := NULL;
        IF p_keys[i] IS NULL THEN
          INSERT INTO ${s}.jobs (name, queue, input, priority, run_at, max_retries, timeout_ms, "group"${trace ? ', trace_context' : ''})
          VALUES (p_names[i], p_queues[i], p_inputs[i]::json, p_priorities[i], to_timestamp(p_run_ats[i] / 1000), p_max_retries[i], p_timeouts[i], p_groups[i]${trace ? ', p_traces[i]' : ''})
          RETURNING id INTO the_id;
          EXIT;
        END IF;
        SELECT k.job_id, k.keep_for_ms INTO held_by, held_for FROM ${s}.job_keys k
        WHERE k.name = p_names[i] AND k.key = p_keys[i] FOR UPDATE;
        IF NOT FOUND THEN
          INSERT INTO ${s}.jobs (name, queue, input, priority, run_at, max_retries, timeout_ms, "group"${trace ? ', trace_context' : ''})
          VALUES (p_names[i], p_queues[i], p_inputs[i]::json, p_priorities[i], to_timestamp(p_run_ats[i] / 1000), p_max_retries[i], p_timeouts[i], p_groups[i]${trace ? ', p_traces[i]' : ''})
          RETURNING id INTO the_id;
          -- Waits for a concurrent claim of the key to commit or roll back.
          INSERT INTO ${s}.job_keys (name, key, job_id, keep_for_ms) VALUES (p_names[i], p_keys[i], the_id, p_keep_for[i])
          ON CONFLICT (name, key) DO NOTHING;
          IF FOUND THEN EXIT; END IF;
          -- Another enqueue claimed it first: take the job back and decide again against its holder.
          DELETE FROM ${s}.jobs j WHERE j.id = the_id;
          CONTINUE;
        END IF;
        SELECT j.state, j.updated_at, j.run_at INTO h_state, h_updated, h_run_at FROM ${s}.jobs j WHERE j.id = held_by;
        -- Where REPLACE would leave it: its own state where the chart accepts REPLACE, or the state a due
        -- delayed edge leads to (retrying past its backoff is pending), where it is accepted.
        into_state := CASE
          WHEN h_state = ANY (p_replaceable) THEN h_state
          WHEN h_state = ANY (p_due_from) AND h_run_at <= now() AND p_due_to[array_position(p_due_from, h_state)] = ANY (p_replaceable)
            THEN p_due_to[array_position(p_due_from, h_state)]
        END;
        IF h_state IS NULL OR (h_state = ANY (p_rest) AND h_updated + held_for * interval '1 millisecond' <= now())
           OR (p_on_conflict[i] = 'replace' AND p_debounce[i] AND NOT h_state = ANY (p_rest) AND into_state IS NULL) THEN
          -- Free (its holder gone, or at rest past keepFor), or a started holder a debounce leaves to finish.
          INSERT INTO ${s}.jobs (name, queue, input, priority, run_at, max_retries, timeout_ms, "group"${trace ? ', trace_context' : ''})
          VALUES (p_names[i], p_queues[i], p_inputs[i]::json, p_priorities[i], to_timestamp(p_run_ats[i] / 1000), p_max_retries[i], p_timeouts[i], p_groups[i]${trace ? ', p_traces[i]' : ''})
          RETURNING id INTO the_id;
          UPDATE ${s}.job_keys k SET job_id = the_id, keep_for_ms = p_keep_for[i] WHERE k.name = p_names[i] AND k.key = p_keys[i];
          EXIT;
        END IF;
        IF p_on_conflict[i] = 'error' THEN
          RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = '${KEY_HELD}',
            DETAIL = json_build_object('ord', i, 'id', held_by::text, 'state', h_state)::text;
        END IF;
        the_id := held_by;
        what := 'kept';
        IF p_on_conflict[i] = 'replace' AND into_state IS NOT NULL THEN
          UPDATE ${s}.jobs j
          SET state = into_state, input = p_inputs[i]::json, run_at = to_timestamp(p_run_ats[i] / 1000), priority = p_priorities[i], updated_at = now()
          WHERE j.id = held_by AND j.state = h_state;
          -- Leased meanwhile: decide again on its new state.
          IF NOT FOUND THEN CONTINUE; END IF;
          what := 'replaced';
          PERFORM pg_notify(p_channel, round(p_run_ats[i])::bigint::text);
        END IF;
        EXIT;
      END LOOP;
      RETURN QUERY
        SELECT i, what, j.id::text, j.name, j.queue, j.state, j.input::text, j.priority, round(date_part('epoch', j.run_at) * 1000),
               j.attempt, j.max_retries, j.timeout_ms, j.last_error::text, j.result::text, j.lease_token,
               round(date_part('epoch', j.lease_expires_at) * 1000), round(date_part('epoch', j.created_at) * 1000),
               round(date_part('epoch', j.updated_at) * 1000), j.progress::text, j."group",
               CASE WHEN what = 'replaced' AND into_state <> h_state THEN h_state END
        FROM ${s}.jobs j WHERE j.id = the_id;
    END LOOP;
  END
  $fn$;
`;

/** The parameters of insert_keyed for a batch; throws for a batch naming one key twice. */
export function keyedParams(jobs: readonly NewJob[], channel: string): unknown[] {
  const keys: unknown[][] = [[], [], [], [], []];
  const seen = new Set<string>();
  for (const job of jobs) {
    const unique = job.unique;
    if (unique) {
      const k = keyOf(job.name, unique.key);
      if (seen.has(k)) throw repeated(job.name, unique.key);
      seen.add(k);
    }
    keys[0]!.push(job.group ?? null);
    keys[1]!.push(unique?.key ?? null);
    keys[2]!.push(unique?.keepForMs ?? 0);
    keys[3]!.push(unique?.onConflict ?? 'ignore');
    keys[4]!.push(unique?.debounce ?? false);
  }
  const due = [...jobRules.dueThrough];
  return [
    ...insertColumns(jobs), ...keys, RESTING_STATES, jobRules.replaceFrom, due.map(([from]) => from), due.map(([, { to }]) => to), channel,
    traceColumn(jobs),
  ];
}

/** A row insert_keyed answers. */
export type KeyedRow = Omit<JobRow, 'group'> & { job_group: string | null; ord: number; outcome: 'inserted' | 'kept' | 'replaced'; replaced_from: JobState | null };

/** The jobs as insert_keyed answered them, in the batch's order. */
export function keyedJobs(rows: KeyedRow[]): StoredJob[] {
  rows.sort((a, b) => a.ord - b.ord);
  return rows.map((row) => {
    const job = toStoredJob({ ...row, group: row.job_group });
    if (row.outcome !== 'inserted') job.duplicate = row.outcome;
    if (row.replaced_from) job.replacedFrom = row.replaced_from;
    return job;
  });
}

/** The JobKeyConflictError an 'error' conflict raised in insert_keyed stands for; null for any other error. */
export function keyConflict(error: unknown, jobs: readonly NewJob[]): JobKeyConflictError | null {
  const cause = (error as { cause?: { code?: string; message?: string; detail?: string } } | null)?.cause ?? error;
  const pgError = cause as { code?: string; message?: string; detail?: string } | null;
  if (pgError?.code !== 'P0001' || pgError.message !== KEY_HELD || !pgError.detail) return null;
  const { ord, id, state } = JSON.parse(pgError.detail) as { ord: number; id: string; state: string };
  const job = jobs[ord - 1]!;
  return new JobKeyConflictError(job.name, job.unique!.key, id, state);
}
