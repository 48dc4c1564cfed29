import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, InvalidOptionError, RETENTION_DEFAULTS } from '../../src/index.js';
import { createTestDispatcher, type TestDispatcher } from '../../src/testing.js';

const ok = defineJob({ name: 'ok', input: z.object({ n: z.number() }), handler: () => undefined });
const bad = defineJob({
  name: 'bad',
  input: z.object({ n: z.number() }),
  maxRetries: 0,
  handler: () => {
    throw new Error('no');
  },
});

/** A pass of retention, the fake clock moved through the pauses between its batches; fails if it takes more than 100. */
async function passWithPauses(dispatcher: TestDispatcher): Promise<number> {
  let done = false;
  const pass = dispatcher.retain().finally(() => (done = true));
  for (let i = 0; i < 100 && !done; i++) await dispatcher.clock.advance('1s');
  expect(done).toBe(true);
  return pass;
}

describe('retention', () => {
  let dispatcher: TestDispatcher | null = null;
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = null;
  });

  it('keeps finished jobs for their state\'s time, then deletes them in batches, leaving waiting jobs alone', async () => {
    dispatcher = createTestDispatcher({ jobs: [ok, bad], reapInterval: '1h', retention: { completed: '1h', dlq: '1d', batchSize: 2, pause: '1s', interval: '20d' } });
    for (let n = 0; n < 5; n++) await dispatcher.enqueue(ok, { n });
    for (let n = 0; n < 3; n++) await dispatcher.enqueue(bad, { n });
    const waiting = await dispatcher.enqueue(ok, { n: 99 }, { delay: '30d' });
    await dispatcher.runUntilIdle();
    expect(await dispatcher.counts()).toMatchObject({ completed: 5, dlq: 3, pending: 1 });
    expect(await dispatcher.retain()).toBe(0);
    await dispatcher.clock.advance('61m');
    expect(await passWithPauses(dispatcher)).toBe(5);
    expect(await dispatcher.counts()).toMatchObject({ completed: 0, dlq: 3, pending: 1 });
    await dispatcher.clock.advance('1d');
    expect(await passWithPauses(dispatcher)).toBe(3);
    expect((await dispatcher.getJob(waiting.id))!.state).toBe('pending');
  });

  it('runs on its interval once started', async () => {
    dispatcher = createTestDispatcher({ jobs: [ok], retention: { completed: '10m', interval: '5m', pause: 0 } });
    await dispatcher.enqueue(ok, { n: 1 });
    await dispatcher.runUntilIdle();
    expect((await dispatcher.counts()).completed).toBe(1);
    for (let i = 0; i < 4; i++) await dispatcher.clock.advance('5m');
    expect((await dispatcher.counts()).completed).toBe(0);
  });

  it('keeps a state for good when told false, and refuses bad settings by name', async () => {
    dispatcher = createTestDispatcher({ jobs: [ok], reapInterval: '1h', retention: { completed: false, interval: '20d' } });
    await dispatcher.enqueue(ok, { n: 1 });
    await dispatcher.runUntilIdle();
    await dispatcher.clock.advance('4d');
    expect(await dispatcher.retain()).toBe(0);
    expect((await dispatcher.counts()).completed).toBe(1);
    expect(() => createDispatcher({ retention: { completed: 'soon' as never } })).toThrow(InvalidOptionError);
    expect(() => createDispatcher({ retention: { completed: 'soon' as never } })).toThrow(/retention\.completed/);
    expect(() => createDispatcher({ retention: { batchSize: 0 } })).toThrow(/retention\.batchSize/);
    expect(() => createDispatcher({ retention: { completd: '1d' } as never })).toThrow(/did you mean completed/);
    expect(RETENTION_DEFAULTS).toMatchObject({ completed: '3d', cancelled: '3d', failed: '30d', dlq: '30d' });
  });
});
