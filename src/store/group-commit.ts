import type { NewJob, StoredJob } from './contract.js';

/** What one caller's insert came to inside a shared transaction. */
export type InsertOutcome = { stored: StoredJob[] } | { error: unknown };

/** The earliest runAt of the batches that were stored (whom to wake, and when); Infinity when none was. */
export function earliestStored(batches: ReadonlyArray<readonly NewJob[]>, outcomes: readonly InsertOutcome[]): number {
  let earliest = Infinity;
  outcomes.forEach((outcome, i) => {
    if ('stored' in outcome) for (const job of batches[i]!) earliest = Math.min(earliest, job.runAt);
  });
  return earliest;
}

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
 * one commit does not hold the store's locks for long. A batch is never split.
 */
const MAX_JOBS_PER_COMMIT = 1000;

/** When a caller that finds no commit under way is sent. */
export type GroupStart =
  /** At the end of the turn, with every caller of the turn: a store whose commit blocks the thread gathers first. */
  | 'turn'
  /**
   * At once, alone, unless the commit just answered had several callers (they
   * come back within the turn, and wait for it together): a store that waits
   * for its commit elsewhere (a database server) gathers while it waits.
   */
  | 'idle';

/**
 * Group commit: the inserts called within one turn of the event loop share
 * one transaction, so one fsync, and each caller is answered only once that
 * transaction has committed. A gathering flush waits for setImmediate, not a
 * microtask: callers whose enqueue passes through a different number of
 * awaits still arrive before it, and a lone insert waits only for the rest of
 * the turn. One commit at a time: callers that arrive while a commit is under
 * way (waiting for another process's lock, or for the database) go in the
 * next one, so ids keep call order and a busy store commits bigger batches.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private scheduled = false;
  private committing: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly commit: CommitBatches,
    private readonly closedError: () => Error,
    private readonly start: GroupStart = 'turn',
  ) {}

  add(jobs: readonly NewJob[]): Promise<StoredJob[]> {
    if (this.closed) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      this.waiting.push({ jobs, resolve, reject });
      if (this.start === 'idle' && !this.committing && !this.scheduled) this.flush();
      else this.schedule();
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
      if (this.closed) return;
      // Those who came while this commit ran (it waited for the lock, or more than one commit's worth waited).
      // After a lone caller's commit they go at once; the callers of a shared one come back within this turn.
      if (this.start === 'idle' && group.length === 1) {
        if (this.waiting.length > 0) this.flush();
      } else if (this.waiting.length > 0 || this.start === 'idle') this.schedule();
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
