import type { EnqueueOptions } from '../../job/options.js';
import { intArg, jsonArg, timeArg } from '../args.js';
import type { CommandFamily } from '../main.js';
import { jsonOption, type StoreFlags, storeOptions, withDispatcher } from '../session.js';

interface EnqueueFlags extends StoreFlags {
  priority?: string;
  queue?: string;
  at?: string;
  key?: string;
}

/** `dispatch enqueue <name> <json>`: one job, its input checked against its definition's schema. */
export const enqueueCommand: CommandFamily = (program, ctx) => {
  const command = program
    .command('enqueue')
    .description('enqueue a job by name with its input as JSON; prints the new job id (the record with --json)')
    .argument('<name>', 'the job name, as its definition in --jobs declares it')
    .argument('<json>', "the input, as JSON: '{\"to\":\"a@example.com\"}'")
    .option('--priority <n>', 'higher runs first (default: the definition\'s, else 0)')
    .option('--queue <queue>', "the queue (default: the definition's, else default)")
    .option('--at <time>', 'when to run: an ISO time (2026-12-24T09:00:00Z) or a delay such as 5m')
    .option('--key <key>', 'a unique key: no second job of this name while one with the key waits or runs')
    .addHelpText('after', `\nThe definitions are needed: the input is checked against the job's schema before anything is stored.

Examples:
  dispatch enqueue send_email '{"to":"a@example.com","subject":"hi"}' --store sqlite:./jobs.db --jobs ./jobs.ts
  dispatch enqueue report '{}' --at 2026-12-24T09:00:00Z --key report-2026-12-24 --jobs ./jobs.js`);
  jsonOption(storeOptions(command, true)).action(async (name: string, json: string, flags: EnqueueFlags) => {
    const input = jsonArg(json, 'json');
    const options: EnqueueOptions = {};
    if (flags.priority !== undefined) options.priority = intArg(flags.priority, '--priority');
    if (flags.queue !== undefined) options.queue = flags.queue;
    if (flags.at !== undefined) options.runAt = timeArg(flags.at, '--at', 'later');
    if (flags.key !== undefined) options.key = flags.key;
    const job = await withDispatcher(ctx, flags, (dispatcher) => dispatcher.enqueue(name, input, options), { jobs: true });
    if (flags.json) return ctx.print.json(job);
    ctx.print.line(job.id);
    if (job.duplicate) ctx.print.note(`dispatch: the key "${flags.key}" is held by job ${job.id} (${job.state}); no new job was made`);
  });
};
