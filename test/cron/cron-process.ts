/**
 * A process sharing a store with the cron tests. Says `ready` once its store
 * is open, waits for `go` (so processes start together), then, by mode:
 * - `run`: schedules `every-second` (every process saves the same
 *   definition, as apps do at start), starts a dispatcher, runs for `forMs`,
 *   stops and exits 0.
 * - `hold`: takes the `cron` duty, says `holding` and never lets it go: a
 *   leader that dies having fired nothing.
 * - `fire`: takes the `cron` duty, records the oldest due tick of
 *   `every-second` with its job, says `fired <tick>` and never lets go: a
 *   leader that dies mid-pass, after its write.
 *
 * argv: <sqlite | postgres> <path or url> <schema> <mode> <forMs>
 */
import { z } from 'zod';
import { createDispatcher, defineJob, sqliteStore, type Store } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';

const [kind, location, schema, mode, forMs] = process.argv.slice(2);
const store: Store =
  kind === 'sqlite'
    ? sqliteStore({ path: location!, dutyExpiry: 500 })
    : postgresStore({ connectionString: location!, schema: schema!, onError: () => undefined });
await store.open();
const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
process.send!('ready');
await go;

export const tick = defineJob({ name: 'tick', input: z.object({}), handler: async () => undefined });

if (mode === 'run') {
  const dispatcher = createDispatcher({ store, onError: (error) => console.error(error) }).register(tick);
  await dispatcher.schedule('every-second', '* * * * * *', tick, {}, { catchUp: 'all' });
  await dispatcher.start();
  await new Promise((resolve) => setTimeout(resolve, Number(forMs)));
  await dispatcher.stop();
  process.disconnect();
} else {
  // Keeps the process alive: the store's own timers do not, by design.
  setInterval(() => {}, 1000);
  await store.withDuty('cron', async () => {
    if (mode === 'fire') {
      const [schedule] = await store.listSchedules();
      // The oldest tick owed, as a pass under catchUp 'all' fires first.
      const tickAt = Math.floor(Math.max(schedule!.lastTickAt ?? 0, schedule!.updatedAt) / 1000) * 1000 + 1000;
      const { job } = schedule!;
      const result = await store.fireTick({
        schedule: schedule!.name,
        version: schedule!.updatedAt,
        tickAt,
        job: { name: job.name, queue: job.queue, input: job.input, inputJson: job.inputJson, priority: job.priority, runAt: tickAt, maxRetries: job.maxRetries, timeoutMs: job.timeoutMs },
      });
      process.send!(`fired ${tickAt} ${result.recorded}`);
    } else {
      process.send!('holding');
    }
    await new Promise(() => {});
  });
}
