import { InvalidOptionError } from '../../errors.js';
import { intArg, timeArg } from '../args.js';
import type { CommandFamily } from '../main.js';
import { progressBar } from '../progress.js';
import { jobTable } from '../records.js';
import { jsonOption, type StoreFlags, storeOptions, withDispatcher } from '../session.js';

interface ReplayFlags extends StoreFlags {
  all?: boolean;
  name?: string;
  queue?: string;
}

/** `dispatch dlq ls|replay|purge`: the dead-letter queue. */
export const dlqCommands: CommandFamily = (program, ctx) => {
  const dlq = program.command('dlq').description('the dead-letter queue: jobs that ran out of attempts or failed for good');

  const ls = dlq
    .command('ls')
    .description('list dead-lettered jobs with their last error, a page at a time')
    .option('--limit <n>', 'jobs a page, 1 to 1000', '50')
    .option('--cursor <cursor>', 'the next page, from the previous page')
    .addHelpText('after', '\nExamples:\n  dispatch dlq ls\n  dispatch dlq ls --json | jq -r ".jobs[] | [.id, .lastError.message] | @tsv"');
  jsonOption(storeOptions(ls)).action(async (flags: StoreFlags & { limit: string; cursor?: string }) => {
    const limit = intArg(flags.limit, '--limit');
    const page = await withDispatcher(ctx, flags, (d) => d.dlq.list({ limit, cursor: flags.cursor ?? null }));
    if (flags.json) return ctx.print.json(page);
    if (page.jobs.length === 0) return ctx.print.note('the DLQ is empty');
    ctx.print.line(jobTable(page.jobs));
    if (page.nextCursor) ctx.print.note(`more: --cursor ${page.nextCursor}`);
  });

  const replay = dlq
    .command('replay')
    .description('send a dead-lettered job back to the queue with fresh attempts, or every one with --all')
    .argument('[id]', 'the job to replay')
    .option('--all', 'replay every dead-lettered job (of --name, of --queue), in batches')
    .option('--name <name>', 'with --all: only jobs of this name')
    .option('--queue <queue>', 'with --all: only jobs of this queue')
    .addHelpText('after', '\nA progress bar is drawn on stderr when it is a terminal.\n\nExamples:\n  dispatch dlq replay 42\n  dispatch dlq replay --all --queue mail');
  jsonOption(storeOptions(replay)).action(async (id: string | undefined, flags: ReplayFlags) => {
    if (id === undefined && !flags.all) throw new InvalidOptionError('id', 'give a job id, or --all for every dead-lettered job');
    if (id !== undefined && flags.all) throw new InvalidOptionError('--all', 'replays every dead-lettered job; give it or a job id, not both');
    if (id !== undefined && (flags.name !== undefined || flags.queue !== undefined)) {
      throw new InvalidOptionError(flags.name !== undefined ? '--name' : '--queue', 'narrows --all; a single id needs no filter');
    }
    if (id !== undefined) {
      const job = await withDispatcher(ctx, flags, (d) => d.dlq.replay(id));
      return flags.json ? ctx.print.json(job) : ctx.print.line(`replayed job ${job.id} (${job.name}): ${job.state}`);
    }
    const replayed = await withDispatcher(ctx, flags, async (d) => {
      // The bar's total is the DLQ's size at the start (of the queue; a name filter replays fewer).
      const total = ctx.io.stderr.isTTY && !flags.json ? (await d.jobs.counts({ queue: flags.queue })).dlq : 0;
      const bar = progressBar(ctx.io.stderr, { total, label: 'replaying', json: Boolean(flags.json) });
      try {
        return await d.dlq.replayAll({ name: flags.name, queue: flags.queue, onProgress: (n) => bar.update(n) });
      } finally {
        bar.stop();
      }
    });
    if (flags.json) return ctx.print.json({ replayed });
    ctx.print.line(`replayed ${replayed} job${replayed === 1 ? '' : 's'}`);
  });

  const purge = dlq
    .command('purge')
    .description('delete dead-lettered jobs that died before a time')
    .requiredOption('--before <time>', 'an ISO time, or an age such as 7d (dead for longer than that)')
    .addHelpText('after', '\nDeletes in bounded batches; a progress bar is drawn on stderr when it is a terminal.\n\nExamples:\n  dispatch dlq purge --before 30d\n  dispatch dlq purge --before 2026-11-01T00:00:00Z');
  jsonOption(storeOptions(purge)).action(async (flags: StoreFlags & { before: string }) => {
    const before = timeArg(flags.before, '--before', 'ago');
    const purged = await withDispatcher(ctx, flags, async (d) => {
      // The bar's total is the DLQ's size at the start: an upper bound, as only jobs dead before the time go.
      const total = ctx.io.stderr.isTTY && !flags.json ? (await d.jobs.counts()).dlq : 0;
      const bar = progressBar(ctx.io.stderr, { total, label: 'purging', json: Boolean(flags.json) });
      try {
        return await d.dlq.purge({ before, onProgress: (n) => bar.update(n) });
      } finally {
        bar.stop();
      }
    });
    if (flags.json) return ctx.print.json({ purged, before });
    ctx.print.line(`purged ${purged} job${purged === 1 ? '' : 's'} dead-lettered before ${before.toISOString()}`);
  });
};
