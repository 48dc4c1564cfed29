import { ERROR_STATES, jobRules, sqlList } from '../contract.js';

/**
 * A job's history on SQLite: the `history` column, JSON arrays joined by
 * commas, appended to in the statement that makes each step. A text append:
 * the write path parses no JSON. Entries take the compact shape (see
 * CompactHistoryTuple): `[sinceCreated, from, to, event, attempt, workerRef]`,
 * the last error a seventh element only where there is one, the worker a
 * row of dispatch_workers. A step's bytes are most of what it costs here: a
 * completed job's two entries once doubled its row.
 */

/** `history` with `entry` (SQL yielding one tuple's text) appended. */
export const appended = (entry: string) => `coalesce(history || ',', '') || ${entry}`;

const due = [...jobRules.dueThrough];

/**
 * One entry's text; `at` an epoch-ms expression, made relative to the row's
 * creation here. The numbers are cast: better-sqlite3 binds a JS number as a
 * real, which JSON would spell `1.0`.
 */
const tuple = (at: string, createdAt: string, from: string, to: string, event: string, attempt: string, worker: string, error?: string) =>
  `json_array(CAST(${at} - ${createdAt} AS INTEGER), ${from}, ${to}, ${event}, CAST(${attempt} AS INTEGER), CAST(${worker} AS INTEGER)${error ? `, ${error}` : ''})`;

/**
 * The entries of a lease, in the UPDATE that takes the row (SET expressions
 * read the row as it was): the due delayed edge of a state it waited in past
 * its time, then LEASE. `worker` (a dispatch_workers id) and `now` are the
 * statement's parameters.
 */
export function leaseEntries(worker: string, now: string): string {
  const from = due.length ? `CASE state ${due.map(([state, { to }]) => `WHEN '${state}' THEN '${to}'`).join(' ')} ELSE state END` : 'state';
  const lease = tuple(now, 'created_at', from, `'${jobRules.leased}'`, "'LEASE'", `attempt + ${jobRules.attemptsPerLease}`, worker);
  if (due.length === 0) return lease;
  const edge = `CASE state ${due.map(([state, { event, to }]) => `WHEN '${state}' THEN ${tuple(now, 'created_at', 'state', `'${to}'`, `'${event}'`, 'attempt', worker)} || ','`).join(' ')} ELSE '' END`;
  return `${edge} || ${lease}`;
}

/**
 * A written step's entry: the attempt and last error as the write leaves
 * them; the error only where the step stops short of success. A last error
 * that is not JSON (a row written behind the store's back) is left out
 * rather than failing the write.
 */
export function writeEntry(p: { from: string; to: string; event: string; attempt: string; worker: string; now: string; lastError: string }): string {
  const entry = (error?: string) => tuple(p.now, 'created_at', p.from, p.to, p.event, p.attempt, p.worker, error);
  return `CASE WHEN ${p.to} IN (${sqlList(ERROR_STATES)}) AND json_valid(${p.lastError}) THEN ${entry(`json(${p.lastError})`)} ELSE ${entry()} END`;
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
        ? `CASE WHEN OLD.state <> NEW.state THEN ${tuple('NEW.updated_at', 'NEW.created_at', 'OLD.state', 'NEW.state', `CASE OLD.state ${due.map(([from, { event }]) => `WHEN '${from}' THEN '${event}'`).join(' ')} END`, 'NEW.attempt', 'NULL')} || ',' ELSE '' END || `
        : ''
    }${tuple('NEW.updated_at', 'NEW.created_at', 'NEW.state', 'NEW.state', "'REPLACE'", 'NEW.attempt', 'NULL')}`)}
    WHERE id = NEW.id;
  END;
`;
