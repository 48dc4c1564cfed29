import { existsSync, readFileSync } from 'node:fs';
import type { StoredJob } from '../../../src/index.js';

/** How one handler run ended, as its worker logged it; `cut` when the log stops at its start (the worker died). */
export type Outcome = 'done' | 'failed' | 'aborted' | 'cut';

export interface HandlerRun {
  /** Which worker process ran it (an index the caller chose). */
  worker: number;
  attempt: number;
  outcome: Outcome;
}

const OUTCOMES: Record<string, Outcome> = { D: 'done', F: 'failed', A: 'aborted' };

/** Every handler run of every job, from the workers' logs (see worker.ts), in each worker's order. */
export function readRuns(logs: readonly string[]): Map<string, HandlerRun[]> {
  const runs = new Map<string, HandlerRun[]>();
  logs.forEach((path, worker) => {
    if (!existsSync(path)) return;
    const open = new Map<string, HandlerRun>();
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line.startsWith('X ')) throw new Error(`worker ${worker} took a step that is no edge of the job chart: ${line.slice(2)}`);
      const [what, id, attempt] = line.split(' ');
      if (!what || !id) continue;
      if (what === 'S') {
        const run: HandlerRun = { worker, attempt: Number(attempt), outcome: 'cut' };
        open.set(id, run);
        let list = runs.get(id);
        if (!list) runs.set(id, (list = []));
        list.push(run);
      } else {
        const run = open.get(id);
        if (run && OUTCOMES[what]) run.outcome = OUTCOMES[what];
        open.delete(id);
      }
    }
  });
  return runs;
}

export interface Accounting {
  accepted: number;
  /** Accepted jobs missing from the store, or not in a final state. */
  lost: string[];
  /** Final states reached, by state. */
  finals: Record<string, number>;
  /** Jobs whose handler finished its work more than once. */
  duplicated: string[];
  /**
   * Duplicates no lease expiry explains: an earlier finished run was in a
   * worker that lived on (so its outcome write should have reached the store),
   * and its attempt was never counted as over (no later run has a higher
   * attempt), which a lease expiry would have done.
   */
  unexplained: string[];
  /** Handler runs in all; beyond one a job, they are retries, reruns after a lease expiry, or runs cut short. */
  handlerRuns: number;
}

const FINAL = new Set(['completed', 'dlq', 'cancelled']);

/**
 * Accounts for every accepted job: where it ended and how often its handler
 * did its work. `died` names the workers that were killed or exited without
 * a clean stop; a finished run there may never have been recorded, which is
 * exactly when a lease expires and the job runs again.
 */
export function account(accepted: readonly string[], stored: readonly StoredJob[], runs: Map<string, HandlerRun[]>, died: ReadonlySet<number>): Accounting {
  const byId = new Map(stored.map((job) => [job.id, job]));
  const lost: string[] = [];
  const finals: Record<string, number> = {};
  for (const id of accepted) {
    const job = byId.get(id);
    if (!job || !FINAL.has(job.state)) lost.push(job ? `${id} (${job.state})` : `${id} (missing)`);
    else finals[job.state] = (finals[job.state] ?? 0) + 1;
  }
  const duplicated: string[] = [];
  const unexplained: string[] = [];
  let handlerRuns = 0;
  for (const [id, list] of runs) {
    handlerRuns += list.length;
    const done = list.filter((run) => run.outcome === 'done');
    if (done.length <= 1) continue;
    duplicated.push(id);
    // Attempts only grow, so they order the runs across workers. A finished run whose attempt was
    // later counted as over without its outcome is one whose lease expired: the reaper counted it. The
    // job's last error does not tell, as a later attempt may have failed for a reason of its own.
    const lastAttempt = Math.max(...list.map((run) => run.attempt));
    const byAttempt = [...done].sort((a, b) => a.attempt - b.attempt);
    const reaped = (run: HandlerRun) => died.has(run.worker) || run.attempt < lastAttempt;
    if (byAttempt.slice(0, -1).some((run) => !reaped(run))) unexplained.push(id);
  }
  return { accepted: accepted.length, lost, finals, duplicated, unexplained, handlerRuns };
}
