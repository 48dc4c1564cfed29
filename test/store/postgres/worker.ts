/**
 * A worker process for the multi-process tests: runs the engine through the
 * public API on PostgreSQL and writes the id of every job it starts to its
 * own log (a write(2) per run, so a line written survives a kill -9 a moment
 * later), in the order the jobs start. Says `ready` once started; stops cleanly when told `stop`.
 *
 * argv: <database URL> <schema> <log path> <settings as JSON>
 */
import { openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { createDispatcher, defineJob, type Duration } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';

export interface WorkerSettings {
  concurrency: number;
  /** How long each handler takes. */
  workMs: number;
  /** After this many jobs every handler hangs, so a kill is sure to find jobs in flight. */
  hangAfter?: number;
  lease?: Duration;
  heartbeat?: Duration;
  reapInterval?: Duration;
}

const [url, schema, log, json] = process.argv.slice(2);
const settings = JSON.parse(json!) as WorkerSettings;
const runs = openSync(log!, 'a');
let started = 0;

const count = defineJob({
  name: 'count',
  input: z.object({ n: z.number() }),
  handler: async (_input, ctx) => {
    writeSync(runs, `${ctx.job.id}\n`);
    if (settings.hangAfter !== undefined && ++started > settings.hangAfter) await new Promise(() => undefined);
    if (settings.workMs > 0) await sleep(settings.workMs);
  },
});

const dispatcher = createDispatcher({
  // The schema exists already: a worker that finds it otherwise should fail, not make its own.
  store: postgresStore({ connectionString: url!, schema: schema!, migrate: false }),
  concurrency: settings.concurrency,
  ...(settings.lease && { lease: settings.lease }),
  ...(settings.heartbeat && { heartbeat: settings.heartbeat }),
  ...(settings.reapInterval && { reapInterval: settings.reapInterval }),
  onError: (error, context) => console.error(`worker ${process.pid}: ${context}:`, error),
});
dispatcher.register(count);
await dispatcher.start();
process.on('message', (message) => {
  if (message !== 'stop') return;
  void dispatcher.stop().then(() => process.disconnect());
});
process.send!('ready');
