import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, InvalidInputError, InvalidOptionError, memoryStore, UnknownJobError } from '../../src/index.js';
import { createTestDispatcher, FakeClock, type TestDispatcher } from '../../src/testing.js';

const T0 = Date.UTC(2030, 0, 1);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const report = defineJob({ name: 'report', input: z.object({ n: z.number() }), handler: async () => 'done' });

describe('cron schedules on the engine', () => {
  let t: TestDispatcher;
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  // The reaper beats rarely: a day of fake time is then a few thousand steps, not tens of thousands.
  function dispatcher(): TestDispatcher {
    t = createTestDispatcher({ jobs: [report], now: T0, reapInterval: '1h' });
    stops.push(() => t.stop());
    return t;
  }

  const tickTimes = async () => (await t.enqueued(report)).map((job) => job.runAt.getTime() - T0);

  it('enqueues one job per tick, due at its tick, and lists the schedule with its next tick', async () => {
    dispatcher();
    const saved = await t.schedule('minutely', '* * * * *', report, { n: 1 }, { priority: 3 });
    expect(saved).toMatchObject({ name: 'minutely', cron: '* * * * *', tz: 'UTC', job: 'report', input: { n: 1 }, priority: 3, queue: 'default' });
    expect(saved.nextRunAt).toEqual(new Date(T0 + MINUTE));
    await t.start();
    await t.clock.advance('3m');
    expect(await tickTimes()).toEqual([MINUTE, 2 * MINUTE, 3 * MINUTE]);
    await t.runUntilIdle();
    expect((await t.enqueued(report)).map((job) => [job.state, job.input, job.priority])).toEqual(
      Array.from({ length: 3 }, () => ['completed', { n: 1 }, 3]),
    );
    const [listed] = await t.schedules.list();
    const jobs = await t.enqueued(report);
    expect(listed).toMatchObject({ lastTickAt: new Date(T0 + 3 * MINUTE), lastJobId: jobs[2]!.id, nextRunAt: new Date(T0 + 4 * MINUTE) });
  });

  it('replaces a schedule saved again under its name, and stops firing one removed', async () => {
    dispatcher();
    await t.start();
    await t.schedule('s', '* * * * *', report, { n: 1 });
    await t.clock.advance('2m');
    const again = await t.schedule('s', '*/5 * * * *', report, { n: 2 });
    expect(again).toMatchObject({ cron: '*/5 * * * *', input: { n: 2 }, lastTickAt: new Date(T0 + 2 * MINUTE), updatedAt: new Date(T0 + 2 * MINUTE) });
    expect((await t.schedules.list()).map((s) => s.name)).toEqual(['s']);
    await t.clock.advance('8m');
    expect((await t.enqueued(report)).map((j) => [j.runAt.getTime() - T0, j.input])).toEqual([
      [MINUTE, { n: 1 }],
      [2 * MINUTE, { n: 1 }],
      [5 * MINUTE, { n: 2 }],
      [10 * MINUTE, { n: 2 }],
    ]);
    expect(await t.schedules.remove('s')).toBe(true);
    expect(await t.schedules.remove('s')).toBe(false);
    await t.clock.advance('10m');
    expect(await t.enqueued(report)).toHaveLength(4);
    expect(await t.schedules.list()).toEqual([]);
  });

  it('reads the expression in its time zone', async () => {
    dispatcher();
    await t.start();
    const ny = await t.schedule('ny', '0 9 * * *', report, { n: 1 }, { tz: 'America/New_York' });
    const utc = await t.schedule('utc', '0 9 * * *', report, { n: 2 });
    // January: New York is UTC-5.
    expect(ny.nextRunAt).toEqual(new Date(T0 + 14 * HOUR));
    expect(utc.nextRunAt).toEqual(new Date(T0 + 9 * HOUR));
    await t.clock.advanceTo(T0 + 14 * HOUR);
    expect((await t.enqueued(report)).map((j) => [j.input, j.runAt.getTime() - T0])).toEqual([
      [{ n: 2 }, 9 * HOUR],
      [{ n: 1 }, 14 * HOUR],
    ]);
  });

  it("with overlap 'skip', makes no job while the previous tick's job is not at rest; with 'allow', one every tick", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow = defineJob({ name: 'slow', input: z.object({}), timeout: '1h', handler: () => held });
    t = createTestDispatcher({ jobs: [slow], now: T0, realWaitMs: 1 });
    stops.push(async () => {
      release();
      await t.stop();
    });
    await t.start();
    await t.schedule('skip', '* * * * *', slow, {}, { overlap: 'skip', queue: 'skip' });
    await t.schedule('allow', '* * * * *', slow, {}, { queue: 'allow' });
    await t.clock.advance('3m');
    const jobs = await t.enqueued(slow);
    expect(jobs.filter((j) => j.queue === 'skip').map((j) => j.runAt.getTime() - T0)).toEqual([MINUTE]);
    expect(jobs.filter((j) => j.queue === 'allow')).toHaveLength(3);
    // Skipped ticks are recorded: they do not fire later.
    expect((await t.schedules.list()).find((s) => s.name === 'skip')!.lastTickAt).toEqual(new Date(T0 + 3 * MINUTE));
    release();
    await t.runUntilIdle();
    await t.clock.advance('1m');
    expect((await t.enqueued(slow)).filter((j) => j.queue === 'skip').map((j) => j.runAt.getTime() - T0)).toEqual([MINUTE, 4 * MINUTE]);
  });

  describe('catchUp after downtime (no process ran from 00:00 to 03:30; hourly ticks at 01:00, 02:00 and 03:00 were missed)', () => {
    async function afterDowntime(catchUp: 'none' | 'latest' | 'all') {
      dispatcher();
      await t.schedule('hourly', '0 * * * *', report, { n: 1 }, { catchUp });
      await t.clock.advance(3.5 * HOUR);
      // The app schedules again as it starts: the same definition keeps the schedule's time, so the missed ticks stay missed.
      await t.schedule('hourly', '0 * * * *', report, { n: 1 }, { catchUp });
      await t.start();
      await t.clock.advance(0);
      return tickTimes();
    }

    it("'none' fires none of them, and the next tick on time", async () => {
      expect(await afterDowntime('none')).toEqual([]);
      await t.clock.advance('30m');
      expect(await tickTimes()).toEqual([4 * HOUR]);
    });

    it("'latest' fires the most recent once", async () => {
      expect(await afterDowntime('latest')).toEqual([3 * HOUR]);
      await t.clock.advance('30m');
      expect(await tickTimes()).toEqual([3 * HOUR, 4 * HOUR]);
    });

    it("'all' fires every one, oldest first", async () => {
      expect(await afterDowntime('all')).toEqual([HOUR, 2 * HOUR, 3 * HOUR]);
    });

    it("'all' fires at most the 100 most recent", async () => {
      dispatcher();
      await t.schedule('every-second', '* * * * * *', report, { n: 1 }, { catchUp: 'all' });
      await t.clock.advance('10m');
      await t.start();
      await t.clock.advance(0);
      const times = await tickTimes();
      expect(times).toHaveLength(100);
      expect(times[0]).toBe(10 * MINUTE - 99_000);
      expect(times[99]).toBe(10 * MINUTE);
    });

    it("'none' still fires a tick found less than a minute late (a slow pass, a new leader)", async () => {
      dispatcher();
      await t.schedule('minutely', '* * * * *', report, { n: 1 });
      await t.clock.advance('90s');
      await t.start();
      await t.clock.advance(0);
      expect(await tickTimes()).toEqual([MINUTE]);
    });
  });

  it('refuses a bad schedule with an error naming the field, storing nothing', async () => {
    dispatcher();
    const refusal = async (run: () => Promise<unknown>) => run().then(() => null, (error: unknown) => error);
    const bad = [
      [() => t.schedule('s', 'not cron', report, { n: 1 }), InvalidOptionError, 'cron'],
      [() => t.schedule('s', '0 0 30 2 *', report, { n: 1 }), InvalidOptionError, 'cron'],
      [() => t.schedule('s', '* * * * *', report, { n: 1 }, { tz: 'Mars/Olympus' }), InvalidOptionError, 'options.tz'],
      [() => t.schedule('s', '* * * * *', report, { n: 1 }, { overlap: 'never' as 'skip' }), InvalidOptionError, 'options.overlap'],
      [() => t.schedule('s', '* * * * *', report, { n: 1 }, { catchUp: 'some' as 'all' }), InvalidOptionError, 'options.catchUp'],
      [() => t.schedule('s', '* * * * *', report, { n: 1 }, { priority: -1 }), InvalidOptionError, 'options.priority'],
      [() => t.schedule('s', '* * * * *', report, { n: 1 }, { every: '1m' } as object), InvalidOptionError, 'options.every'],
      [() => t.schedule('', '* * * * *', report, { n: 1 }), InvalidOptionError, 'name'],
      [() => t.schedule('s', '* * * * *', report, { n: 'one' } as unknown as { n: number }), InvalidInputError, 'input.n'],
    ] as const;
    for (const [run, type, field] of bad) {
      const error = await refusal(run);
      expect(error).toBeInstanceOf(type);
      expect((error as { field: string }).field).toBe(field);
    }
    expect(await refusal(() => t.schedule('s', '* * * * *', 'unknown', {}))).toBeInstanceOf(UnknownJobError);
    expect(await t.schedules.list()).toEqual([]);
  });

  it('is saved by a process that runs no worker and fired once by two started dispatchers sharing the store', async () => {
    const clock = new FakeClock(T0);
    const store = memoryStore({ now: () => clock.now() });
    const make = () => {
      const d = createDispatcher({ store, clock }).register(report);
      stops.push(() => d.stop());
      return d;
    };
    const producer = make();
    const [a, b] = [make(), make()];
    await Promise.all([a.start(), b.start()]);
    await producer.schedule('minutely', '* * * * *', report, { n: 1 });
    await clock.advance('5m');
    const jobs = (await store.list({ state: 'pending', limit: 100 })).jobs.concat((await store.list({ state: 'completed', limit: 100 })).jobs);
    expect(jobs.map((j) => j.runAt - T0).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5].map((m) => m * MINUTE));
  });
});
