import type { CommandFamily } from '../main.js';
import { EXIT } from '../io.js';
import { table, when } from '../table.js';
import { jsonOption, type StoreFlags, storeOptions, withDispatcher } from '../session.js';

/** `dispatch schedules ls|rm`: the cron schedules kept in the store. */
export const schedulesCommands: CommandFamily = (program, ctx) => {
  const schedules = program.command('schedules').description('cron schedules: list them, remove one');

  const ls = schedules
    .command('ls')
    .description('list every schedule with its next tick')
    .addHelpText('after', '\nExamples:\n  dispatch schedules ls\n  dispatch schedules ls --json | jq -r ".[].name"');
  jsonOption(storeOptions(ls)).action(async (flags: StoreFlags) => {
    const list = await withDispatcher(ctx, flags, (d) => d.schedules.list());
    if (flags.json) return ctx.print.json(list);
    if (list.length === 0) return ctx.print.note('no schedules');
    ctx.print.line(
      table(
        ['name', 'cron', 'tz', 'job', 'queue', 'next run', 'last tick', 'last job'],
        list.map((s) => [s.name, s.cron, s.tz, s.job, s.queue, when(s.nextRunAt), when(s.lastTickAt), s.lastJobId ?? '-']),
      ),
    );
  });

  const rm = schedules
    .command('rm')
    .description('remove a schedule; jobs its ticks already made are not touched')
    .argument('<name>', 'the schedule name')
    .addHelpText('after', '\nExample:\n  dispatch schedules rm nightly-report');
  jsonOption(storeOptions(rm)).action(async (name: string, flags: StoreFlags) => {
    const removed = await withDispatcher(ctx, flags, (d) => d.schedules.remove(name));
    if (flags.json) ctx.print.json({ removed });
    else if (removed) ctx.print.line(`removed schedule ${name}`);
    if (!removed) {
      ctx.print.note(`dispatch: no schedule named "${name}"`);
      ctx.exitCode = EXIT.failed;
    }
  });
};
