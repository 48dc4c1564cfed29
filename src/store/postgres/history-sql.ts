import { ERROR_STATES, jobRules, sqlList } from '../contract.js';
import { epochMs } from './rows.js';

/**
 * A job's history on Postgres: the `history` column, JSON arrays joined by
 * commas (see HistoryTuple), appended to in the statement that makes each
 * step. Each entry is made by text concatenation, its strings (the event, the
 * worker) given as JSON text by the store: the write path neither parses nor
 * builds JSON values, and rewrites no jsonb.
 */

/** `column` with `entry` (SQL yielding one tuple's text, or null for none) appended. */
export const appended = (column: string, entry: string) => `concat_ws(',', ${column}, ${entry})`;

const NOW = `${epochMs('now()')}::bigint`;
const due = [...jobRules.dueThrough];

/** A tuple's text from SQL text expressions: states (chart names, nothing to escape) quoted here, the rest JSON text already. */
const tuple = (from: string, to: string, event: string, attempt: string, worker: string, error?: string) =>
  `'["' || ${from} || '","' || ${to} || '",' || ${event} || ',' || ${attempt} || ',' || ${worker} || ',' || ${NOW}${error ? ` || ',' || ${error}` : ''} || ']'`;

const quoted = (name: string) => `'"${name}"'`;

/**
 * The entries of a lease, in the UPDATE that takes row `t` (SET expressions
 * read the row as it was): the due delayed edge of a state it waited in past
 * its time, then LEASE. `worker`: the worker as JSON text.
 */
export function leaseEntries(t: string, worker: string): string {
  const from = due.length ? `CASE ${t}.state ${due.map(([state, { to }]) => `WHEN '${state}' THEN '${to}'`).join(' ')} ELSE ${t}.state END` : `${t}.state`;
  const lease = tuple(from, `'${jobRules.leased}'`, quoted('LEASE'), `(${t}.attempt + ${jobRules.attemptsPerLease})`, worker);
  if (due.length === 0) return lease;
  const edge = `CASE ${t}.state ${due.map(([state, { event, to }]) => `WHEN '${state}' THEN ${tuple(`${t}.state`, `'${to}'`, quoted(event), `${t}.attempt`, worker)}`).join(' ')} END`;
  return `${edge}, ${lease}`;
}

/**
 * `history` of row `t` with a written step appended when the write names its
 * event (`event` and `worker` as JSON text): the attempt and last error as
 * the write leaves them, the error only where the step stops short of success.
 */
export function withWrittenStep(t: string, p: { from: string; to: string; event: string; attempt: string; worker: string; lastError: string }): string {
  const error = `coalesce(CASE WHEN ${p.to} IN (${sqlList(ERROR_STATES)}) THEN (${p.lastError})::text END, 'null')`;
  return `CASE WHEN ${p.event} IS NULL THEN ${t}.history ELSE ${appended(`${t}.history`, tuple(p.from, p.to, p.event, p.attempt, p.worker, error))} END`;
}

/**
 * REPLACE of a unique enqueue, kept by a trigger on the one statement that
 * changes a job's input (insert_keyed): the due delayed edge first when the
 * job was due out of another state, as a lease does. A BEFORE trigger, so
 * the entries go in with the row's own change.
 */
export const replaceTrigger = (s: string) => `
  CREATE FUNCTION ${s}.jobs_replaced() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    IF OLD.state <> NEW.state THEN
      NEW.history := concat_ws(',', NEW.history, json_build_array(OLD.state, NEW.state, CASE OLD.state ${
        due.length ? due.map(([from, { event }]) => `WHEN '${from}' THEN '${event}'`).join(' ') : ''
      } END, NEW.attempt, NULL, ${epochMs('NEW.updated_at')}::bigint, NULL)::text);
    END IF;
    NEW.history := concat_ws(',', NEW.history, json_build_array(NEW.state, NEW.state, 'REPLACE', NEW.attempt, NULL, ${epochMs('NEW.updated_at')}::bigint, NULL)::text);
    RETURN NEW;
  END
  $fn$;
  CREATE TRIGGER jobs_replaced BEFORE UPDATE OF input ON ${s}.jobs FOR EACH ROW EXECUTE FUNCTION ${s}.jobs_replaced();
`;
