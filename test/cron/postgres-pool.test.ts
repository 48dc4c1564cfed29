import { afterEach, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Dispatcher } from '../../src/index.js';
import { openStore } from '../store/postgres/database.js';

let cleanup: () => Promise<void> = async () => {};
afterEach(() => cleanup());

it('fires ticks beside a busy reaper on a pool of the smallest size the store allows', async () => {
  const errors: unknown[] = [];
  const opened = await openStore({ poolConfig: { max: 3 }, onError: (error) => errors.push(error) });
  let dispatcher: Dispatcher | null = null;
  cleanup = async () => {
    await dispatcher?.stop();
    await opened.cleanup();
  };
  let runs = 0;
  const tick = defineJob({ name: 'tick', input: z.object({}), handler: async () => void runs++ });
  // The reaper takes its duty every 20 ms: without one pass at a time, its pass and cron's would each
  // hold a connection (beside the listener's) and wait for a fourth.
  dispatcher = createDispatcher({ store: opened.store, lease: '2s', reapInterval: 20, onError: (error) => errors.push(error) }).register(tick);
  await dispatcher.schedule('every-second', '* * * * * *', tick, {});
  await dispatcher.start();
  await new Promise((resolve) => setTimeout(resolve, 3500));
  expect(errors).toEqual([]);
  expect(runs).toBeGreaterThanOrEqual(2);
}, 20_000);
