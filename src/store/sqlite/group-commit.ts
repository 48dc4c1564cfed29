import type { NewJob, StoredJob } from '../contract.js';

/** What one caller's insert came to inside a shared transaction. */
export type InsertOutcome = { stored: StoredJob[] } | { error: unknown };

/**
 * Commits the batches of every caller waiting, in call order, in as few
 * transactions as it can: answers one outcome per batch, or throws when the
 * whole transaction failed (nothing of it stored).
 */
export type CommitBatches = (batches: ReadonlyArray<readonly NewJob[]>) => Promise<InsertOutcome[]>;

interface Waiting {
  jobs: readonly NewJob[];
  resolve: (stored: StoredJob[]) => void;
  reject: (error: unknown) => void;
}

/**
 * Past this many jobs the callers still waiting go in the next transaction, so
 * one commit does not hold the file's write lock for long. A batch is never split.
 */
const MAX_JOBS_PER_COMMIT = 1000;

/**
 * Group commit: the inserts called within one turn of the event loop share
 * one transaction, so one fsync, and each caller is answered only once that
 * transaction has committed. The flush waits for setImmediate, not a
 * microtask: callers whose enqueue passes through a different number of
 * awaits still arrive before it, and a lone insert waits only for the rest of
 * the turn. One commit at a time: callers that arrive while a commit waits
 * for another process's lock go in the next one, so ids keep call order.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private scheduled = false;
  private committing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly commit: CommitBatches,
    private readonly closedError: () => Error,
  ) {}

  add(jobs: readonly NewJob[]): Promise<StoredJob[]> {
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      this.waiting.push({ jobs, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Refuses inserts from now on, commits those waiting, and resolves once no
   * commit is under way: before the connection closes, so no caller hangs
   * and none is answered for a job that was not committed.
   */
  async close(): Promise<void> {
    this.closed = true;
    while (this.committing || this.waiting.length > 0) {
      if (!this.committing) this.flush();
      await this.committing;
    }
  }

  private schedule(): void {
    if (this.scheduled || this.committing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.committing) this.flush();
    });
  }

  private flush(): void {
    let jobs = 0;
    let count = 0;
    while (count < this.waiting.length && (count === 0 || jobs + this.waiting[count]!.jobs.length <= MAX_JOBS_PER_COMMIT)) {
      jobs += this.waiting[count]!.jobs.length;
      count++;
    }
    const group = this.waiting.splice(0, count);
    if (group.length === 0) return;
    this.committing = this.settle(group).finally(() => {
      this.committing = null;
      // Those who came while this commit ran (it waited for the lock, or more than one commit's worth waited).
      if (this.waiting.length > 0 && !this.closed) this.schedule();
    });
  }

  private async settle(group: Waiting[]): Promise<void> {
    let outcomes: InsertOutcome[];
    try {
      outcomes = await this.commit(group.map((w) => w.jobs));
    } catch (error) {
      for (const w of group) w.reject(error);
      return;
    }
    group.forEach((w, i) => {
      const outcome = outcomes[i]!;
      if ('stored' in outcome) w.resolve(outcome.stored);
      else w.reject(outcome.error);
    });
  }
}
