import { describe, expect, it } from 'vitest';
import type { StoredJob } from '../../src/index.js';
import { account, type HandlerRun } from './support/runs.js';

const completed = (id: string, attempt: number, lastError: string | null): StoredJob => ({
  id,
  name: 'count',
  queue: 'default',
  state: 'completed',
  input: {},
  priority: 0,
  runAt: 0,
  attempt,
  maxRetries: 3,
  timeoutMs: 1000,
  lastError: lastError ? { name: lastError, message: '' } : null,
  result: null,
  progress: null,
  leaseToken: null,
  leaseExpiresAt: null,
  createdAt: 0,
  updatedAt: 0,
  group: null,
});

const run = (worker: number, attempt: number, outcome: HandlerRun['outcome']): HandlerRun => ({ worker, attempt, outcome });

describe('the accounting of fault runs', () => {
  it('explains a second run after a lease expiry, even when a later attempt failed for a reason of its own', () => {
    // Worker 0 finished attempt 1 but its write never landed; the job was reaped (attempt 2), failed, and finished at 3.
    const runs = new Map([['1', [run(0, 1, 'done'), run(1, 2, 'failed'), run(1, 3, 'done')]]]);
    const result = account(['1'], [completed('1', 3, 'Error')], runs, new Set());
    expect(result.duplicated).toEqual(['1']);
    expect(result.unexplained).toEqual([]);
  });

  it('explains a second run when the first was in a worker that died', () => {
    const runs = new Map([['1', [run(0, 1, 'done'), run(1, 1, 'done')]]]);
    expect(account(['1'], [completed('1', 1, null)], runs, new Set([0])).unexplained).toEqual([]);
  });

  it('flags two finished runs of one attempt in workers that lived on', () => {
    const runs = new Map([['1', [run(0, 1, 'done'), run(1, 1, 'done')]]]);
    expect(account(['1'], [completed('1', 1, null)], runs, new Set()).unexplained).toEqual(['1']);
  });

  it('counts a job not in a final state as lost', () => {
    const pending = { ...completed('2', 0, null), state: 'pending' as const };
    expect(account(['1', '2'], [completed('1', 1, null), pending], new Map(), new Set()).lost).toEqual(['2 (pending)']);
  });
});

describe('reading the workers’ logs', () => {
  it('fails on a step a worker process took that is no edge of the job chart', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { readRuns } = await import('./support/runs.js');
    const dir = mkdtempSync(join(tmpdir(), 'dispatch-runs-'));
    try {
      const log = join(dir, 'w0.log');
      writeFileSync(log, 'S 1 1\nD 1 1\n');
      expect(readRuns([log]).get('1')).toEqual([{ worker: 0, attempt: 1, outcome: 'done' }]);
      writeFileSync(log, 'S 1 1\nX retrying --LEASE--> running\nD 1 1\n');
      expect(() => readRuns([log])).toThrow(/worker 0 took a step that is no edge of the job chart: retrying --LEASE--> running/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
