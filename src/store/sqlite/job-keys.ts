import type { Database } from 'better-sqlite3';
import type { JobState } from '../../../machines/job.machine.js';
import type { NewJob, StoredJob } from '../contract.js';
import { enqueuedRecord } from '../enqueued-record.js';
import { type KeyHolder, keyOf, keyOutcome, replacedInto, repeated } from '../job-keys.js';
import { SQL } from './queries.js';
import { type JobRow, toStoredJob } from './rows.js';

const KEYS = {
  holder: `SELECT k.job_id AS id, k.keep_for_ms AS keepForMs, j.state, j.updated_at AS updatedAt, j.run_at AS runAt
    FROM dispatch_job_keys k JOIN dispatch_jobs j ON j.id = k.job_id WHERE k.name = ? AND k.key = ?`,
  claim: `INSERT INTO dispatch_job_keys (name, key, job_id, keep_for_ms) VALUES (?, ?, ?, ?)
    ON CONFLICT (name, key) DO UPDATE SET job_id = excluded.job_id, keep_for_ms = excluded.keep_for_ms`,
  // Where keyOutcome found the chart accepts REPLACE; inside the write transaction the state read just before still holds.
  replace: `UPDATE dispatch_jobs SET state = ?, input = ?, run_at = ?, priority = ?, updated_at = ? WHERE id = ? AND state = ?`,
} as const;

/**
 * The insert of a batch with unique keys, as one write transaction (BEGIN
 * IMMEDIATE): each key's holder is read and the decision written under the
 * file's write lock, so processes sharing the file never both take a key.
 * An 'error' conflict throws, and the transaction leaves nothing behind.
 */
export function keyedInsert(db: Database): (jobs: readonly NewJob[]) => StoredJob[] {
  const insertOne = db.prepare<[string, string, string, number, number, number, number, number, number, string | null, string | null]>(SQL.insert);
  const holderOf = db.prepare<[string, string], { id: number; keepForMs: number; state: JobState; updatedAt: number; runAt: number }>(KEYS.holder);
  const claim = db.prepare<[string, string, number, number]>(KEYS.claim);
  const replace = db.prepare<[JobState, string, number, number, number, number, JobState]>(KEYS.replace);
  const get = db.prepare<[number], JobRow>(SQL.get);

  return db.transaction((jobs: readonly NewJob[]) => {
    const now = Date.now();
    const seen = new Set<string>();
    return jobs.map((job): StoredJob => {
      const unique = job.unique;
      if (unique) {
        const k = keyOf(job.name, unique.key);
        if (seen.has(k)) throw repeated(job.name, unique.key);
        seen.add(k);
        const found = holderOf.get(job.name, unique.key);
        const holder: KeyHolder | null = found ? { ...found, id: String(found.id) } : null;
        const outcome = keyOutcome(job.name, unique, holder, now);
        if (outcome !== 'insert') {
          const into = outcome === 'replace' ? replacedInto(found!, now)! : found!.state;
          if (outcome === 'replace') replace.run(into, job.inputJson, job.runAt, job.priority, now, found!.id, found!.state);
          const stored = toStoredJob(get.get(found!.id)!);
          stored.duplicate = outcome === 'replace' ? 'replaced' : 'kept';
          if (into !== found!.state) stored.replacedFrom = found!.state;
          return stored;
        }
      }
      const { lastInsertRowid } = insertOne.run(job.name, job.queue, job.inputJson, job.priority, job.runAt, job.maxRetries, job.timeoutMs, now, now, job.group ?? null, job.traceContext ?? null);
      if (unique) claim.run(job.name, unique.key, Number(lastInsertRowid), unique.keepForMs);
      return enqueuedRecord(job, String(lastInsertRowid), JSON.parse(job.inputJson), now);
    });
  }).immediate;
}
