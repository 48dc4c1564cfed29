import type { StoredJob } from '../contract.js';
import { jobFromRow, type SqlJobRow } from '../row-values.js';

/** A jobs row as this store reads it. */
export type JobRow = SqlJobRow<number>;

export const toStoredJob = (row: JobRow): StoredJob => jobFromRow(row);

/**
 * The rowid an id names, or null for a string this store never gave out.
 * Checked here because SQLite would also match '7.0' or ' 7' to row 7.
 */
export function rowidOf(id: string): number | null {
  if (typeof id !== 'string' || !/^[1-9][0-9]{0,15}$/.test(id)) return null;
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : null;
}
