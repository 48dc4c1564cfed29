import type { ExpireBatch, ExpireResult, ListOptions, ListPage, StoredJob } from '../contract.js';
import { StoreConfigError } from '../contract.js';

/** A memory row as these walks need it: its id is its enqueue sequence. */
interface SeqRow extends StoredJob {
  seq: number;
}

/**
 * Jobs of one state (and queue, name) in enqueue order, a page at a time. The
 * memory store keeps no per-state index (it would cost every lease), so a page
 * reads rows in enqueue order until it is full: fine for a store that lives in
 * one process's memory.
 */
export function listRows<R extends SeqRow>(rows: ReadonlyMap<string, R>, options: ListOptions, copy: (row: R) => StoredJob): ListPage {
  const after = cursorOf(options.cursor);
  const jobs: StoredJob[] = [];
  let last: R | undefined;
  // Map iteration follows insertion, which is enqueue order.
  for (const row of rows.values()) {
    if (row.seq <= after || row.state !== options.state) continue;
    if (options.queue !== undefined && row.queue !== options.queue) continue;
    if (options.name !== undefined && row.name !== options.name) continue;
    if (jobs.length === options.limit) return { jobs, nextCursor: String(last!.seq) };
    jobs.push(copy(row));
    last = row;
  }
  return { jobs, nextCursor: null };
}

/**
 * One batch of retention: the next `limit` jobs from the cursor, by id (the
 * memory store's primary key), deleting those in the state and old enough.
 * Ids follow creation, and a job changes no earlier than it was created, so
 * the walk ends at the first job created at or after `before`.
 */
export function expireRows<R extends SeqRow>(
  rows: ReadonlyMap<string, R>,
  batch: ExpireBatch,
  lastSeq: number,
  remove: (row: R) => void,
): ExpireResult {
  let seq = cursorOf(batch.cursor) + 1;
  let looked = 0;
  let deleted = 0;
  // Ids of jobs deleted before are skipped without counting: a lookup each, no row to read.
  for (; looked < batch.limit && seq <= lastSeq; seq++) {
    const row = rows.get(String(seq));
    if (!row) continue;
    looked++;
    if (row.createdAt >= batch.before) return { deleted, cursor: null };
    if (row.state === batch.state && row.updatedAt < batch.before) {
      remove(row);
      deleted++;
    }
  }
  return { deleted, cursor: seq > lastSeq ? null : String(seq - 1) };
}

function cursorOf(cursor: string | null | undefined): number {
  if (cursor === undefined || cursor === null) return 0;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(cursor)) throw new StoreConfigError('cursor', 'is not a cursor this store gave out');
  return Number(cursor);
}
