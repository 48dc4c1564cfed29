/**
 * A worker process for the fault scenarios and the soak run: the engine
 * through the public API, on PostgreSQL or a SQLite file. Every handler run
 * appends to the worker's own log with a write(2) of its own, so a line
 * written survives a kill -9 a moment later:
 *
 *   S <id> <attempt>   the handler started
 *   D <id> <attempt>   the handler finished (its work is done)
 *   F <id> <attempt>   the handler threw (a random failure)
 *   A <id> <attempt>   the handler gave up because its signal was aborted
 *   X <step>           the engine took a step that is no edge of the job chart
 *                      (readRuns fails on it)
 *
 * Says `ready` once started. Told `{ type: 'stop' }` it stops (draining within
 * the grace) and exits 0; told `{ type: 'exit-during-stop' }` it starts
 * stopping and exits `afterMs` later, whatever stop() is doing then.
 *
 * argv: <settings as JSON>
 */
import { openSync, writeSync } from 'node:fs';
import { z } from 'zod';
import { backoff, createDispatcher, defineJob, type Duration, jobMachine, sqliteStore } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import { watchForStrays } from '../../support/chart-edges.js';

export type WorkerStore = { kind: 'postgres'; url: string; schema: string } | { kind: 'sqlite'; path: string };

export interface WorkerSettings {
  store: WorkerStore;
  log: string;
  concurrency: number;
  lease: Duration;
  heartbeat: Duration;
  reapInterval: Duration;
  /** How long each handler works, at most: a random time up to it, or exactly it with `steadyWork`. */
  workMs: number;
  steadyWork?: boolean;
  /** The chance that an attempt throws. */
  failRate?: number;
  /** After this many runs, handlers wait for their signal to be aborted. */
  hangAfter?: number;
  /** Exit 0 once no job is left to run anywhere. */
  exitWhenIdle?: boolean;
}

export type WorkerCommand = { type: 'stop'; grace: Duration } | { type: 'exit-during-stop'; grace: Duration; afterMs: number };

const settings = JSON.parse(process.argv[2]!) as WorkerSettings;
const log = openSync(settings.log, 'a');
const note = (what: string, id: string, attempt: number) => writeSync(log, `${what} ${id} ${attempt}\n`);
// The check every test file runs under, here in the worker process too.
watchForStrays(jobMachine, (stray) => writeSync(log, `X ${stray}\n`));
let runs = 0;

/** Resolves after `ms`, or rejects with the signal's reason once it is aborted. */
function work(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

const count = defineJob({
  name: 'count',
  input: z.object({ n: z.number() }),
  backoff: backoff.constant(50),
  handler: async (_input, ctx) => {
    const { id } = ctx.job;
    note('S', id, ctx.attempt);
    const hang = settings.hangAfter !== undefined && ++runs > settings.hangAfter;
    try {
      await work(hang ? 2 ** 31 - 1 : settings.steadyWork ? settings.workMs : Math.random() * settings.workMs, ctx.signal);
    } catch (error) {
      note('A', id, ctx.attempt);
      throw error;
    }
    if (settings.failRate && Math.random() < settings.failRate) {
      note('F', id, ctx.attempt);
      throw new Error(`a random failure of job ${id}, attempt ${ctx.attempt}`);
    }
    note('D', id, ctx.attempt);
  },
});

const store =
  settings.store.kind === 'postgres'
    ? postgresStore({ connectionString: settings.store.url, schema: settings.store.schema, migrate: false, onError: (e) => report(e, 'postgres store') })
    : sqliteStore({ path: settings.store.path, pollInterval: 50 });

function report(error: unknown, context: string): void {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`worker ${process.pid}: ${context}: ${text}\n`);
}

const dispatcher = createDispatcher({
  store,
  concurrency: settings.concurrency,
  lease: settings.lease,
  heartbeat: settings.heartbeat,
  reapInterval: settings.reapInterval,
  onError: report,
});
dispatcher.register(count);
await dispatcher.start();

process.on('message', (command: WorkerCommand) => {
  if (command.type === 'stop') {
    void dispatcher.stop({ grace: command.grace }).then(() => process.exit(0));
  } else if (command.type === 'exit-during-stop') {
    void dispatcher.stop({ grace: command.grace });
    setTimeout(() => process.exit(7), command.afterMs);
  }
});
process.send?.('ready');

if (settings.exitWhenIdle) {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const c = await dispatcher.counts();
    if (c.pending + c.running + c.retrying === 0) break;
  }
  await dispatcher.stop();
  process.exit(0);
}
