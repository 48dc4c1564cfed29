import { toMs } from '../../duration.js';
import type { Dispatcher } from '../../engine/dispatcher.js';
import type { TransitionEvent } from '../../engine/events.js';
import { intArg } from '../args.js';
import { EXIT } from '../io.js';
import type { CommandFamily } from '../main.js';
import { progressBar } from '../progress.js';
import { waitForSignal } from '../signals.js';
import type { Context, StoreFlags } from '../session.js';
import { storeOptions, withDispatcher } from '../session.js';

interface WorkerFlags extends StoreFlags {
  concurrency?: string;
  queues?: string;
  grace: string;
}

/**
 * `dispatch worker`: runs the jobs of a module until SIGINT or SIGTERM, then
 * drains: no new job starts, running ones get the grace to finish, the rest
 * go back to the queue. A second signal exits at once.
 */
export const workerCommand: CommandFamily = (program, ctx) => {
  const command = program
    .command('worker')
    .description('run the jobs a module defines, printing a line as each starts and stops; SIGINT or SIGTERM drains and exits')
    .option('--concurrency <n>', 'handlers running at once', '10')
    .option('--queues <names>', 'only these queues, comma-separated (default: every queue)')
    .option('--grace <duration>', 'on SIGINT/SIGTERM, how long running jobs may take to finish', '30s')
    .option('--json', 'print each start and stop as a line of JSON')
    .addHelpText(
      'after',
      `
Exits 0 once drained; 1 if jobs were still running when the grace ran out (they go back to the queue,
to run again); 128 + the signal's number when a second signal stops it at once.

Examples:
  dispatch worker --store sqlite:./jobs.db --jobs ./jobs.ts
  dispatch worker --store postgres://app@db/app --jobs ./dist/jobs.js --concurrency 50 --queues mail,sms`,
    );
  storeOptions(command, true).action(async (flags: WorkerFlags) => {
    const graceMs = toMs(flags.grace, '--grace');
    const concurrency = intArg(flags.concurrency ?? '10', '--concurrency');
    const serve = flags.queues === undefined ? undefined : flags.queues.split(',').map((q) => q.trim());
    ctx.exitCode = await withDispatcher(ctx, flags, (dispatcher) => work(ctx, dispatcher, flags, graceMs), {
      memory: true,
      jobs: true,
      dispatcher: { concurrency, ...(serve ? { serve } : {}) },
    });
  });
};

async function work(ctx: Context, dispatcher: Dispatcher, flags: WorkerFlags, graceMs: number): Promise<number> {
  const running = new Set<string>();
  let abandoned = 0;
  let drained: (() => void) | null = null;
  dispatcher.events$.subscribe((event) => {
    const started = event.to === 'running' && event.from !== 'running';
    const stopped = event.from === 'running' && event.to !== 'running';
    if (!started && !stopped) return;
    if (started) running.add(event.jobId);
    else running.delete(event.jobId);
    if (event.event === 'ABANDON') abandoned++;
    ctx.print.line(flags.json ? JSON.stringify(event) : line(event, started));
    drained?.();
  });
  const signalled = waitForSignal(ctx);
  try {
    await dispatcher.start();
    ctx.print.note(`dispatch: worker started on the ${dispatcher.store.kind} store; stop with Ctrl-C or SIGTERM`);
    const signal = await signalled.first;
    const total = running.size;
    ctx.print.note(`dispatch: ${signal}: draining ${total} running job${total === 1 ? '' : 's'} (grace ${flags.grace}); a second signal stops at once`);
    const bar = progressBar(ctx.io.stderr, { total, label: 'draining', json: Boolean(flags.json) });
    drained = () => bar.update(total - running.size);
    try {
      await dispatcher.stop({ grace: graceMs });
    } finally {
      bar.stop();
    }
  } finally {
    signalled.release();
  }
  if (abandoned > 0) {
    ctx.print.note(`dispatch: ${abandoned} job${abandoned === 1 ? '' : 's'} did not finish within the grace and went back to the queue`);
    return EXIT.failed;
  }
  ctx.print.note('dispatch: worker stopped');
  return EXIT.ok;
}

function line(event: TransitionEvent, started: boolean): string {
  const what = started ? `start    attempt ${event.attempt}` : `${event.to.padEnd(8)}${event.error ? ` ${event.error.name}: ${event.error.message}` : ''}`;
  return `${event.at.toISOString()}  ${event.name} ${event.jobId}  ${what}`;
}
