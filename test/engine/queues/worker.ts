/**
 * A worker process for the queue-limit tests: runs the engine through the
 * public API on SQLite or PostgreSQL and logs each handler's start and end
 * times (`start <id> <ms>`, `end <id> <ms>`), a write(2) per line.
 *
 * argv: <sqlite|postgres> <file path or database URL> <schema> <log path> <settings as JSON>
 */
import { openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { createDispatcher, defineJob, sqliteStore } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';

export interface QueueWorkerSettings {
  concurrency: number;
  /** How long each handler takes. */
  workMs: number;
  /** This process's own per-queue limits. */
  queues?: Record<string, { concurrency: number }>;
  /** The store's poll, when a test must tell a wake-up from it. */
  pollInterval?: string;
}

const [kind, where, schema, log, json] = process.argv.slice(2);
const settings = JSON.parse(json!) as QueueWorkerSettings;
const lines = openSync(log!, 'a');

const work = defineJob({
  name: 'work',
  input: z.object({ n: z.number() }),
  handler: async (_input, ctx) => {
    writeSync(lines, `start ${ctx.job.id} ${Date.now()}\n`);
    await sleep(settings.workMs);
    writeSync(lines, `end ${ctx.job.id} ${Date.now()}\n`);
  },
});

const poll = settings.pollInterval ? { pollInterval: settings.pollInterval } : {};
const store =
  kind === 'sqlite' ? sqliteStore({ path: where!, ...poll }) : postgresStore({ connectionString: where!, schema: schema!, migrate: false, ...poll });
const dispatcher = createDispatcher({
  store,
  concurrency: settings.concurrency,
  ...(settings.queues && { queues: settings.queues }),
  onError: (error, context) => console.error(`worker ${process.pid}: ${context}:`, error),
});
dispatcher.register(work);
await dispatcher.start();
process.on('message', (message) => {
  if (message !== 'stop') return;
  void dispatcher.stop().then(() => process.disconnect());
});
process.send!('ready');
