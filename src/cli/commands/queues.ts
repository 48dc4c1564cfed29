import type { CommandFamily } from '../main.js';
import { table } from '../table.js';
import { jsonOption, type StoreFlags, storeOptions, withDispatcher } from '../session.js';

/** `dispatch queues ls|pause|resume`: cluster-wide queue control. */
export const queuesCommands: CommandFamily = (program, ctx) => {
  const queues = program.command('queues').description('queues: their settings and jobs, pause and resume');

  const ls = queues
    .command('ls')
    .description('list every queue that has settings or jobs, with its limits and its jobs by state')
    .addHelpText('after', '\nExamples:\n  dispatch queues ls\n  dispatch queues ls --json | jq ".[] | select(.paused)"');
  jsonOption(storeOptions(ls)).action(async (flags: StoreFlags) => {
    const list = await withDispatcher(ctx, flags, (d) => d.queues.list());
    if (flags.json) return ctx.print.json(list);
    if (list.length === 0) return ctx.print.note('no queues');
    const limit = (n: number | null) => (n === null ? '-' : String(n));
    ctx.print.line(
      table(
        ['queue', 'paused', 'concurrency', 'rate limit', 'group limit', 'pending', 'running', 'retrying', 'dlq', 'failed', 'completed'],
        list.map((q) => [
          q.name,
          q.paused ? 'yes' : 'no',
          limit(q.concurrency),
          q.rateLimit ? `${q.rateLimit.max}/${q.rateLimit.perMs}ms` : '-',
          limit(q.groupConcurrency),
          ...(['pending', 'running', 'retrying', 'dlq', 'failed', 'completed'] as const).map((s) => String(q.counts[s])),
        ]),
      ),
    );
  });

  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    const command = queues
      .command(verb)
      .description(paused ? 'pause a queue: its waiting jobs stay pending on every worker; running ones go on' : 'let a paused queue run again')
      .argument('<queue>', 'the queue name')
      .addHelpText('after', `\nExample:\n  dispatch queues ${verb} mail`);
    jsonOption(storeOptions(command)).action(async (name: string, flags: StoreFlags) => {
      const settings = await withDispatcher(ctx, flags, (d) => (paused ? d.queues.pause(name) : d.queues.resume(name)));
      if (flags.json) return ctx.print.json(settings);
      ctx.print.line(`queue ${settings.name} ${paused ? 'paused' : 'resumed'}`);
    });
  }
};
