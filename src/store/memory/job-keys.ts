import type { JobKey, NewJob, StoredJob } from '../contract.js';
import { keyOf, keyOutcome, repeated } from '../job-keys.js';

const INSERT = Object.freeze({ kind: 'insert' as const });

/** What the memory store does with one job of an insert. */
export type MemoryOutcome = { kind: 'insert' } | { kind: 'kept' | 'replace'; holder: StoredJob };

/**
 * The memory store's unique keys: (name, key) -> the job holding it and the
 * keepFor it claimed with. Every call runs to its end without a turn of the
 * event loop, so a decision and the write after it are atomic.
 */
export class MemoryKeys {
  private readonly held = new Map<string, { id: string; keepForMs: number }>();

  /** Each job's outcome in order, or null when no job has a key (nothing to pay). Throws for an 'error' conflict. */
  decide(jobs: readonly NewJob[], rowOf: (id: string) => StoredJob | undefined, now: number): MemoryOutcome[] | null {
    if (!jobs.some((job) => job.unique)) return null;
    // A batch of one, the usual keyed enqueue, cannot repeat a key.
    const seen = jobs.length > 1 ? new Set<string>() : null;
    return jobs.map((job): MemoryOutcome => {
      if (!job.unique) return INSERT;
      const k = keyOf(job.name, job.unique.key);
      if (seen?.has(k)) throw repeated(job.name, job.unique.key);
      seen?.add(k);
      const entry = this.held.get(k);
      const row = entry ? rowOf(entry.id) : undefined;
      const holder = entry && row ? { id: row.id, state: row.state, updatedAt: row.updatedAt, runAt: row.runAt, keepForMs: entry.keepForMs } : null;
      const kind = keyOutcome(job.name, job.unique, holder, now);
      return kind === 'insert' ? INSERT : { kind, holder: row! };
    });
  }

  /** Job `id` takes the key; answers the map key, kept on the row. */
  claim(name: string, unique: JobKey, id: string): string {
    const k = keyOf(name, unique.key);
    this.held.set(k, { id, keepForMs: unique.keepForMs });
    return k;
  }

  /** Job `id` was deleted: its key is free (if it still held it). */
  release(k: string, id: string): void {
    if (this.held.get(k)?.id === id) this.held.delete(k);
  }
}
