/**
 * A worker process for the multi-process tests: runs the engine through the
 * public API on a SQLite file and appends the id of every job it starts to its
 * own log (appendFileSync, so a line written is kept even if the process is
 * killed a moment later). Exits once no job is left to run anywhere.
 *
 * argv: <database path> <log path> <settings as JSON>
 */
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { createDispatcher, defineJob, type Duration, sqliteStore } from '../../../src/index.js';

export interface WorkerSettings {
  concurrency: number;
  /** How long each handler takes, so a kill finds jobs in flight. */
  workMs: number;
  /** After this many handler runs, handlers never finish: the process then holds exactly `concurrency` jobs. */
  hangAfter?: number;
  lease: Duration;
  heartbeat: Duration;
  reapInterval: Duration;
}

const [path, log, json] = process.argv.slice(2);
const settings = JSON.parse(json!) as WorkerSettings;

let runs = 0;
const count = defineJob({
  name: 'count',
  input: z.object({ n: z.number() }),
  handler: async (_input, ctx) => {
    appendFileSync(log!, `${ctx.job.id}\n`);
    if (++runs > (settings.hangAfter ?? Infinity)) await new Promise(() => {});
    if (settings.workMs > 0) await sleep(settings.workMs);
  },
});

const dispatcher = createDispatcher({
  store: sqliteStore({ path: path!, pollInterval: 50 }),
  concurrency: settings.concurrency,
  lease: settings.lease,
  heartbeat: settings.heartbeat,
  reapInterval: settings.reapInterval,
  onError: (error, context) => console.error(`worker ${process.pid}: ${context}:`, error),
});
dispatcher.register(count);
await dispatcher.start();
for (;;) {
  await sleep(100);
  const c = await dispatcher.counts();
  if (c.pending + c.running + c.retrying === 0) break;
}
await dispatcher.stop();
