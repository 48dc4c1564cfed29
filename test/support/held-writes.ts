import { type Store, StoreError, type TransitionWrite } from '../../src/index.js';
import { deferred } from './harness.js';

export type HoldMode = 'hang' | 'fail';

/**
 * A store whose transition writes can be held back, as when the database is
 * away: while held, a write waits for the release (`hang`) or fails at once
 * (`fail`) without reaching the store underneath. Every other call goes
 * through. `log` records, in order, each job completion the store has kept
 * (`stored:<id>`); a test adds its own entries beside them.
 */
export function withHeldWrites(inner: Store, mode: HoldMode) {
  let gate: ReturnType<typeof deferred<void>> | null = null;
  const stored = new Set<string>();
  const log: string[] = [];
  let refused = 0;
  const store: Store = {
    kind: inner.kind,
    maxSleepMs: inner.maxSleepMs,
    open: () => inner.open(),
    close: () => inner.close(),
    insert: (jobs, options) => inner.insert(jobs, options),
    lease: (request) => inner.lease(request),
    extend: (leases, leaseMs) => inner.extend(leases, leaseMs),
    get: (id) => inner.get(id),
    history: (id) => inner.history(id),
    expired: (limit) => inner.expired(limit),
    list: (options) => inner.list(options),
    purge: (state, before) => inner.purge(state, before),
    counts: (filter) => inner.counts(filter),
    progress: (writes) => inner.progress(writes),
    reschedule: (write) => inner.reschedule(write),
    expire: (batch) => inner.expire(batch),
    withDuty: (name, run) => inner.withDuty(name, run),
    saveSchedule: (schedule) => inner.saveSchedule(schedule),
    listSchedules: () => inner.listSchedules(),
    removeSchedule: (name) => inner.removeSchedule(name),
    fireTick: (tick) => inner.fireTick(tick),
    pruneTicks: (before, limit) => inner.pruneTicks(before, limit),
    configureQueue: (name, change) => inner.configureQueue(name, change),
    queueSettings: () => inner.queueSettings(),
    queueCounts: () => inner.queueCounts(),
    ...(inner.subscribe ? { subscribe: (listener: (runAt: number) => void) => inner.subscribe!(listener) } : {}),
    async write(writes: readonly TransitionWrite[]): Promise<boolean[]> {
      while (gate) {
        refused++;
        if (mode === 'fail') throw new StoreError('the store is away (writes are held by the test)');
        await gate.promise;
      }
      const applied = await inner.write(writes);
      writes.forEach((write, i) => {
        if (applied[i] && write.to === 'completed') {
          stored.add(write.id);
          log.push(`stored:${write.id}`);
        }
      });
      return applied;
    },
  };
  return {
    store,
    /** Jobs whose completion the store underneath has kept. */
    stored,
    log,
    /** Writes turned away or made to wait so far. */
    refused: () => refused,
    hold: () => void (gate ??= deferred()),
    release: () => {
      gate?.resolve();
      gate = null;
    },
  };
}
