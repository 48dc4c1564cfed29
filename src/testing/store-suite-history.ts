import { beforeEach, describe, expect, it } from 'vitest';
import type { JobError } from '../../machines/job.machine.js';
import { ENQUEUE_EVENT, type HistoryEntry, jobRules, type LeasedJob, type Store } from '../store/contract.js';
import { newJob, room } from './store-jobs.js';

const HOUR = 3_600_000;
const DUE = jobRules.dueThrough.get('retrying')!.event;
const BOOM: JobError = { name: 'Error', message: 'boom' };

/** A history without its times (checked apart), to compare with toEqual. */
const steps = (entries: HistoryEntry[]) => entries.map(({ at: _at, ...rest }) => rest);
const step = (from: HistoryEntry['from'], to: HistoryEntry['to'], event: string, attempt: number, worker: string | null, error: JobError | null = null) =>
  ({ from, to, event, attempt, worker, error });
const enqueued = step(null, 'pending', ENQUEUE_EVENT, 0, null);

/**
 * The part of the store contract about a job's history: every step a write
 * names its event for, a lease with a worker, a reschedule and a REPLACE is
 * kept with the job, in the same write, and deleted with it. Run by storeSuite
 * against every store.
 */
export function describeHistory(current: () => Store): void {
  describe('job history', () => {
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    const lease = async (worker: string, leaseMs = 30_000): Promise<LeasedJob> => {
      const [job] = (await store.lease({ ...room(1), leaseMs, worker })).jobs;
      return job!;
    };

    it('keeps the enqueue, the lease and the completion, each with its worker and time', async () => {
      const before = Date.now();
      const [job] = await store.insert([newJob()]);
      const leased = await lease('w1');
      expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: leased.leaseToken, attempt: 1, event: 'SUCCEED', worker: 'w1' }])).toEqual([true]);
      const history = await store.history(job!.id);
      expect(steps(history)).toEqual([enqueued, step('pending', 'running', 'LEASE', 1, 'w1'), step('running', 'completed', 'SUCCEED', 1, 'w1')]);
      expect(history[0]!.at).toBe(job!.createdAt);
      for (const entry of history) {
        // Postgres stamps with the database's clock: the same machine here, allowed a little slack.
        expect(entry.at).toBeGreaterThanOrEqual(before - 1000);
        expect(entry.at).toBeLessThanOrEqual(Date.now() + 1000);
      }
      expect(history.map((e) => e.at)).toEqual([...history.map((e) => e.at)].sort((a, b) => a - b));
    });

    it('answers [] for an id that names no job, and the enqueue alone for a job that has not moved', async () => {
      expect(await store.history('999999999')).toEqual([]);
      expect(await store.history('nope')).toEqual([]);
      const [job] = await store.insert([newJob()]);
      expect(steps(await store.history(job!.id))).toEqual([enqueued]);
    });

    it("keeps a retry's path as the chart's: running -> retrying, then retrying -> pending -> running in the one lease", async () => {
      const [job] = await store.insert([newJob()]);
      const first = await lease('w1');
      await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: first.leaseToken, attempt: 1, runAt: Date.now() - 1, lastError: BOOM, event: 'FAIL', worker: 'w1' }]);
      const second = await lease('w2');
      await store.write([{ id: job!.id, from: 'running', to: 'dlq', token: second.leaseToken, attempt: 2, lastError: { ...BOOM, message: 'again' }, event: 'FAIL', worker: 'w2' }]);
      expect(steps(await store.history(job!.id))).toEqual([
        enqueued,
        step('pending', 'running', 'LEASE', 1, 'w1'),
        step('running', 'retrying', 'FAIL', 1, 'w1', BOOM),
        step('retrying', 'pending', DUE, 1, 'w2'),
        step('pending', 'running', 'LEASE', 2, 'w2'),
        step('running', 'dlq', 'FAIL', 2, 'w2', { ...BOOM, message: 'again' }),
      ]);
    });

    it("keeps a client's replay and cancel with no worker, the error shown only where the job stopped short", async () => {
      const [job] = await store.insert([newJob()]);
      const leased = await lease('w1');
      await store.write([{ id: job!.id, from: 'running', to: 'dlq', token: leased.leaseToken, attempt: 1, lastError: BOOM, event: 'FAIL', worker: 'w1' }]);
      await store.write([{ id: job!.id, from: 'dlq', to: 'pending', token: null, attempt: 0, lastError: null, runAt: Date.now() - 1, event: 'REPLAY', worker: null }]);
      const again = await lease('w1');
      await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: again.leaseToken, attempt: 1, lastError: BOOM, runAt: Date.now() + HOUR, event: 'FAIL', worker: 'w1' }]);
      // A cancel leaves the last error as it is: the entry shows it, as events$ does.
      await store.write([{ id: job!.id, from: 'retrying', to: 'cancelled', token: null, event: 'CANCEL' }]);
      expect(steps(await store.history(job!.id)).slice(3)).toEqual([
        step('dlq', 'pending', 'REPLAY', 0, null),
        step('pending', 'running', 'LEASE', 1, 'w1'),
        step('running', 'retrying', 'FAIL', 1, 'w1', BOOM),
        step('retrying', 'cancelled', 'CANCEL', 1, null, BOOM),
      ]);
    });

    it('keeps a reschedule and a lease expiry the reaper wrote, with the reaping worker', async () => {
      const [job] = await store.insert([newJob({ runAt: Date.now() + HOUR })]);
      expect(await store.reschedule({ id: job!.id, from: 'pending', to: 'pending', token: null, attempt: 0, runAt: Date.now() - 10, priority: 3, event: 'RESCHEDULE', worker: null })).toBe(true);
      const leased = await lease('w1', 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const [expired] = await store.expired(10);
      expect(expired!.id).toBe(job!.id);
      const lost = { name: 'LeaseExpiredError', message: 'the lease of attempt 1 expired before the worker finished' };
      expect(await store.write([{ id: job!.id, from: 'running', to: 'pending', token: leased.leaseToken, attempt: 1, lastError: lost, event: 'LEASE_EXPIRED', worker: 'reaper-w' }])).toEqual([true]);
      expect(steps(await store.history(job!.id))).toEqual([
        enqueued,
        step('pending', 'pending', 'RESCHEDULE', 0, null),
        step('pending', 'running', 'LEASE', 1, 'w1'),
        step('running', 'pending', 'LEASE_EXPIRED', 1, 'reaper-w'),
      ]);
    });

    it("keeps a unique enqueue's REPLACE, through the due edge when the holder was due out of retrying", async () => {
      const unique = { key: 'k', keepForMs: 0, onConflict: 'replace' as const, debounce: false };
      const [job] = await store.insert([newJob({ unique, input: 1 })]);
      await store.insert([newJob({ unique, input: 2 })]);
      const leased = await lease('w1');
      await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: leased.leaseToken, attempt: 1, lastError: BOOM, runAt: Date.now() - 10, event: 'FAIL', worker: 'w1' }]);
      const [replaced] = await store.insert([newJob({ unique, input: 3 })]);
      expect(replaced).toMatchObject({ id: job!.id, duplicate: 'replaced', replacedFrom: 'retrying' });
      expect(steps(await store.history(job!.id))).toEqual([
        enqueued,
        step('pending', 'pending', 'REPLACE', 0, null),
        step('pending', 'running', 'LEASE', 1, 'w1'),
        step('running', 'retrying', 'FAIL', 1, 'w1', BOOM),
        step('retrying', 'pending', DUE, 1, null),
        step('pending', 'pending', 'REPLACE', 1, null),
      ]);
    });

    it('adds nothing for a write that loses its compare-and-set, names no event, or a lease with no worker', async () => {
      const [job] = await store.insert([newJob()]);
      const [leased] = (await store.lease(room(1))).jobs;
      expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: 'not-the-lease', event: 'SUCCEED', worker: 'w1' }])).toEqual([false]);
      expect(await store.write([{ id: job!.id, from: 'pending', to: 'cancelled', event: 'CANCEL' }])).toEqual([false]);
      expect(await store.reschedule({ id: job!.id, from: 'pending', to: 'pending', runAt: 0, priority: 1, event: 'RESCHEDULE' })).toBe(false);
      expect(steps(await store.history(job!.id))).toEqual([enqueued]);
      expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: leased!.leaseToken }])).toEqual([true]);
      expect(steps(await store.history(job!.id))).toEqual([enqueued]);
    });

    it('writes each of a batch its own entry, the applied ones only', async () => {
      await store.insert([newJob(), newJob()]);
      const { jobs } = await store.lease({ ...room(2), worker: 'w1' });
      const [a, b] = jobs;
      expect(await store.write([
        { id: a!.id, from: 'running', to: 'completed', token: a!.leaseToken, event: 'SUCCEED', worker: 'w1' },
        { id: b!.id, from: 'running', to: 'completed', token: 'stale', event: 'SUCCEED', worker: 'w1' },
      ])).toEqual([true, false]);
      expect((await store.history(a!.id)).map((e) => e.event)).toEqual([ENQUEUE_EVENT, 'LEASE', 'SUCCEED']);
      expect((await store.history(b!.id)).map((e) => e.event)).toEqual([ENQUEUE_EVENT, 'LEASE']);
    });

    it('deletes the history with its job, by purge and by retention', async () => {
      await store.insert([newJob(), newJob()]);
      const { jobs } = await store.lease({ ...room(2), worker: 'w1' });
      await store.write(jobs.map((j) => ({ id: j.id, from: 'running' as const, to: 'dlq' as const, token: j.leaseToken, lastError: BOOM, event: 'FAIL', worker: 'w1' })));
      expect(await store.history(jobs[0]!.id)).toHaveLength(3);
      expect(await store.purge('dlq', Date.now() + 1000)).toBe(2);
      expect(await store.history(jobs[0]!.id)).toEqual([]);
      await store.insert([newJob()]);
      const kept = await lease('w1');
      await store.write([{ id: kept.id, from: 'running', to: 'completed', token: kept.leaseToken, event: 'SUCCEED', worker: 'w1' }]);
      const { deleted } = await store.expire({ state: 'completed', before: Date.now() + 1000, limit: 100, cursor: null });
      expect(deleted).toBe(1);
      expect(await store.history(kept.id)).toEqual([]);
    });
  });
}
