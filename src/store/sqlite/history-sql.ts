import { ERROR_STATES, jobRules, sqlList } from '../contract.js';

/**
 * A job's history on SQLite: the `history` column, JSON arrays joined by
 * commas (see HistoryTuple), appended to in the statement that makes each
 * step. A text append: the write path parses no JSON.
 */

/** `history` with `entry` (SQL yielding one tuple's text) appended. */
export const appended = (entry: string) => `coalesce(history || ',', '') || ${entry}`;

const due = [...jobRules.dueThrough];

/**
 * The entries of a lease, in the UPDATE that takes the row (SET expressions
 * read the row as it was): the due delayed edge of a state it waited in past
 * its time, then LEASE. `worker` and `now` are the statement's parameters.
 */
export function leaseEntries(worker: string, now: string): string {
  const lease = `json_array(${due.length ? `CASE state ${due.map(([from, { to }]) => `WHEN '${from}' THEN '${to}'`).join(' ')} ELSE state END` : 'state'}, '${jobRules.leased}', 'LEASE', attempt + ${jobRules.attemptsPerLease}, ${worker}, ${now}, NULL)`;
  if (due.length === 0) return lease;
  const edge = `CASE state ${due.map(([from, { event, to }]) => `WHEN '${from}' THEN json_array(state, '${to}', '${event}', attempt, ${worker}, ${now}, NULL) || ','`).join(' ')} ELSE '' END`;
  return `${edge} || ${lease}`;
}

/**
 * A written step's entry: the attempt and last error as the write leaves
 * them; the error only where the step stops short of success. A last error
 * that is not JSON (a row written behind the store's back) is left out
 * rather than failing the write.
 */
export function writeEntry(p: { from: string; to: string; event: string; attempt: string; worker: string; now: string; lastError: string }): string {
  return `json_array(${p.from}, ${p.to}, ${p.event}, ${p.attempt}, ${p.worker}, ${p.now},
        CASE WHEN ${p.to} IN (${sqlList(ERROR_STATES)}) AND json_valid(${p.lastError}) THEN json(${p.lastError}) END)`;
}

/**
 * REPLACE of a unique enqueue, kept by a trigger on the one statement that
 * changes a job's input (see job-keys.ts): the due delayed edge first when
 * the job was due out of another state, as a lease does.
 */
export const replaceTrigger = `
  CREATE TRIGGER dispatch_jobs_replaced AFTER UPDATE OF input ON dispatch_jobs
  BEGIN
    UPDATE dispatch_jobs SET history = ${appended(`${
      due.length
        ? `CASE WHEN OLD.state <> NEW.state THEN json_array(OLD.state, NEW.state, CASE OLD.state ${due.map(([from, { event }]) => `WHEN '${from}' THEN '${event}'`).join(' ')} END, NEW.attempt, NULL, NEW.updated_at, NULL) || ',' ELSE '' END || `
        : ''
    }json_array(NEW.state, NEW.state, 'REPLACE', NEW.attempt, NULL, NEW.updated_at, NULL)`)}
    WHERE id = NEW.id;
  END;
`;
