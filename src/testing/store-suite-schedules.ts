import { describe, expect, it } from 'vitest';
import type { NewSchedule, Store } from '../store/contract.js';
import { newJob } from './store-jobs.js';

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;

function schedule(overrides: Partial<NewSchedule> = {}): NewSchedule {
  return {
    name: 'nightly',
    cron: '* * * * *',
    tz: 'UTC',
    job: { name: 'job', queue: 'default', inputJson: '{"n":1}', priority: 0, maxRetries: 3, timeoutMs: 60_000 },
    overlap: 'allow',
    catchUp: 'none',
    now: T0,
    ...overrides,
  };
}

const jobAt = (tickAt: number) => newJob({ input: { tickAt }, runAt: tickAt });

/**
 * The part of the store contract that keeps cron schedules: schedules by
 * name, and ticks recorded once, each with its job in the same write. Run by
 * storeSuite against every store.
 */
export function describeSchedules(current: () => Store): void {
  describe('schedules', () => {
    it('saves a schedule, lists it with its job resolved, and removes it', async () => {
      const store = current();
      const saved = await store.saveSchedule(schedule({ overlap: 'skip', catchUp: 'all', tz: 'Europe/Berlin' }));
      expect(saved).toEqual({
        name: 'nightly',
        cron: '* * * * *',
        tz: 'Europe/Berlin',
        job: { name: 'job', queue: 'default', input: { n: 1 }, inputJson: '{"n":1}', priority: 0, maxRetries: 3, timeoutMs: 60_000 },
        overlap: 'skip',
        catchUp: 'all',
        lastTickAt: null,
        lastJobId: null,
        createdAt: T0,
        updatedAt: T0,
      });
      await store.saveSchedule(schedule({ name: 'a-first' }));
      await store.saveSchedule(schedule({ name: 'Zed' }));
      // By name in byte order, in every store: capitals first.
      expect((await store.listSchedules()).map((s) => s.name)).toEqual(['Zed', 'a-first', 'nightly']);
      expect(await store.removeSchedule('nightly')).toBe(true);
      expect(await store.removeSchedule('nightly')).toBe(false);
      expect((await store.listSchedules()).map((s) => s.name)).toEqual(['Zed', 'a-first']);
    });

    it('keeps updatedAt when the same definition is saved again, and moves it when the definition changes', async () => {
      const store = current();
      await store.saveSchedule(schedule());
      await store.fireTick({ schedule: 'nightly', version: T0, tickAt: T0 + MINUTE, job: jobAt(T0 + MINUTE) });
      const again = await store.saveSchedule(schedule({ now: T0 + 5 * MINUTE }));
      expect(again).toMatchObject({ createdAt: T0, updatedAt: T0, lastTickAt: T0 + MINUTE });
      const changed = await store.saveSchedule(schedule({ now: T0 + 6 * MINUTE, job: { ...schedule().job, inputJson: '{"n":2}' } }));
      expect(changed).toMatchObject({ createdAt: T0, updatedAt: T0 + 6 * MINUTE, lastTickAt: T0 + MINUTE, job: { input: { n: 2 } } });
      expect(changed.lastJobId).toBe(again.lastJobId);
      const recron = await store.saveSchedule(schedule({ now: T0 + 7 * MINUTE, cron: '0 * * * *', job: changed.job }));
      expect(recron).toMatchObject({ cron: '0 * * * *', updatedAt: T0 + 7 * MINUTE });
    });

    it('records a tick once, with its job in the same write, whoever fires it and however often', async () => {
      const store = current();
      await store.saveSchedule(schedule());
      const tickAt = T0 + MINUTE;
      const first = await store.fireTick({ schedule: 'nightly', version: T0, tickAt, job: jobAt(tickAt) });
      expect(first.recorded).toBe(true);
      expect(first.job).toMatchObject({ name: 'job', state: 'pending', input: { tickAt }, runAt: tickAt });
      expect(await store.get(first.job!.id)).toMatchObject({ state: 'pending', input: { tickAt } });
      const again = await store.fireTick({ schedule: 'nightly', version: T0, tickAt, job: jobAt(tickAt) });
      expect(again).toEqual({ recorded: false, job: null });
      expect((await store.counts()).pending).toBe(1);
      const [saved] = await store.listSchedules();
      expect(saved).toMatchObject({ lastTickAt: tickAt, lastJobId: first.job!.id });
    });

    it('lets exactly one of many fires of one tick at once through', async () => {
      const store = current();
      await store.saveSchedule(schedule());
      const tickAt = T0 + MINUTE;
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.fireTick({ schedule: 'nightly', version: T0, tickAt, job: jobAt(tickAt) })),
      );
      expect(results.filter((r) => r.recorded)).toHaveLength(1);
      expect(results.filter((r) => r.job)).toHaveLength(1);
      expect((await store.counts()).pending).toBe(1);
    });

    it('refuses a tick at or before the last one recorded, of a changed definition, or of a schedule removed', async () => {
      const store = current();
      await store.saveSchedule(schedule());
      expect((await store.fireTick({ schedule: 'nightly', version: T0, tickAt: T0 + 2 * MINUTE, job: jobAt(T0 + 2 * MINUTE) })).recorded).toBe(true);
      // An older tick, after a newer one: ticks are recorded in order, so a late process cannot fire one skipped.
      expect(await store.fireTick({ schedule: 'nightly', version: T0, tickAt: T0 + MINUTE, job: jobAt(T0 + MINUTE) })).toEqual({ recorded: false, job: null });
      // The definition changed since the caller read it.
      await store.saveSchedule(schedule({ now: T0 + 3 * MINUTE, cron: '*/5 * * * *' }));
      expect((await store.fireTick({ schedule: 'nightly', version: T0, tickAt: T0 + 4 * MINUTE, job: jobAt(T0 + 4 * MINUTE) })).recorded).toBe(false);
      expect((await store.fireTick({ schedule: 'nightly', version: T0 + 3 * MINUTE, tickAt: T0 + 5 * MINUTE, job: jobAt(T0 + 5 * MINUTE) })).recorded).toBe(true);
      await store.removeSchedule('nightly');
      expect((await store.fireTick({ schedule: 'nightly', version: T0 + 3 * MINUTE, tickAt: T0 + 10 * MINUTE, job: jobAt(T0 + 10 * MINUTE) })).recorded).toBe(false);
      expect((await store.fireTick({ schedule: 'unknown', version: T0, tickAt: T0 + MINUTE, job: jobAt(T0 + MINUTE) })).recorded).toBe(false);
      expect((await store.counts()).pending).toBe(2);
    });

    it('records a skipped tick without a job, keeping the last job', async () => {
      const store = current();
      await store.saveSchedule(schedule());
      const fired = await store.fireTick({ schedule: 'nightly', version: T0, tickAt: T0 + MINUTE, job: jobAt(T0 + MINUTE) });
      expect(await store.fireTick({ schedule: 'nightly', version: T0, tickAt: T0 + 2 * MINUTE, job: null })).toEqual({ recorded: true, job: null });
      expect((await store.listSchedules())[0]).toMatchObject({ lastTickAt: T0 + 2 * MINUTE, lastJobId: fired.job!.id });
      expect((await store.fireTick({ schedule: 'nightly', version: T0, tickAt: T0 + 2 * MINUTE, job: jobAt(T0 + 2 * MINUTE) })).recorded).toBe(false);
      expect((await store.counts()).pending).toBe(1);
    });

    it('keeps a tick row after its schedule is removed, so the same name saved again cannot fire that tick twice', async () => {
      const store = current();
      await store.saveSchedule(schedule());
      expect((await store.fireTick({ schedule: 'nightly', version: T0, tickAt: T0 + MINUTE, job: jobAt(T0 + MINUTE) })).recorded).toBe(true);
      await store.removeSchedule('nightly');
      const back = await store.saveSchedule(schedule({ now: T0 - MINUTE }));
      expect(back.lastTickAt).toBeNull();
      expect((await store.fireTick({ schedule: 'nightly', version: back.updatedAt, tickAt: T0 + MINUTE, job: jobAt(T0 + MINUTE) })).recorded).toBe(false);
      expect((await store.counts()).pending).toBe(1);
    });

    it('prunes tick rows older than a time, oldest first, at most as many as asked', async () => {
      const store = current();
      await store.saveSchedule(schedule());
      await store.saveSchedule(schedule({ name: 'other' }));
      for (let i = 1; i <= 3; i++) {
        await store.fireTick({ schedule: 'nightly', version: T0, tickAt: T0 + i * MINUTE, job: null });
        await store.fireTick({ schedule: 'other', version: T0, tickAt: T0 + i * MINUTE + 1, job: null });
      }
      expect(await store.pruneTicks(T0 + 3 * MINUTE, 3)).toBe(3);
      expect(await store.pruneTicks(T0 + 3 * MINUTE, 3)).toBe(1);
      expect(await store.pruneTicks(T0 + 3 * MINUTE, 3)).toBe(0);
      // The rest are still there: the 3rd-minute ticks of both.
      await store.removeSchedule('nightly');
      await store.saveSchedule(schedule({ now: T0 - MINUTE }));
      expect((await store.fireTick({ schedule: 'nightly', version: T0 - MINUTE, tickAt: T0 + 3 * MINUTE, job: null })).recorded).toBe(false);
      // A pruned tick is gone: with no row and no last tick, it could be recorded again.
      expect((await store.fireTick({ schedule: 'nightly', version: T0 - MINUTE, tickAt: T0 + MINUTE, job: null })).recorded).toBe(true);
    });
  });
}
