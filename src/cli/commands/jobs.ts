import { Option } from 'commander';
import { JOB_STATES, type JobState } from '../../../machines/job.machine.js';
import type { JobPage } from '../../client/jobs.js';
import type { Dispatcher } from '../../engine/dispatcher.js';
import { InvalidOptionError, JobNotFoundError } from '../../errors.js';
import { intArg } from '../args.js';
import type { CommandFamily } from '../main.js';
import { jobDetail, jobTable } from '../records.js';
import { jsonOption, type StoreFlags, storeOptions, withDispatcher } from '../session.js';

interface ListFlags extends StoreFlags {
  state?: JobState;
  queue?: string;
  name?: string;
  limit: string;
  cursor?: string;
}

/** `dispatch jobs ls` and `dispatch job <id>`: finding jobs and reading one. */
export const jobsCommands: CommandFamily = (program, ctx) => {
  const jobs = program.command('jobs').description('find jobs');
  const ls = jobs
    .command('ls')
    .description('list jobs, in enqueue order, a page at a time; with no --state, a page of every state')
    .addOption(new Option('--state <state>', 'only jobs in this state').choices(JOB_STATES))
    .option('--queue <queue>', 'only jobs of this queue')
    .option('--name <name>', 'only jobs of this name')
    .option('--limit <n>', 'jobs a page, 1 to 1000', '50')
    .option('--cursor <cursor>', 'the next page, from the previous page (with --state)')
    .addHelpText('after', '\nExamples:\n  dispatch jobs ls --state dlq --queue mail\n  dispatch jobs ls --state pending --json | jq -r ".jobs[].id"');
  jsonOption(storeOptions(ls)).action(async (flags: ListFlags) => {
    const limit = intArg(flags.limit, '--limit');
    if (flags.cursor !== undefined && flags.state === undefined) throw new InvalidOptionError('--cursor', 'pages one state: give --state too');
    const page = await withDispatcher(ctx, flags, (dispatcher) => (flags.state ? listState(dispatcher, flags.state, flags, limit) : listAll(dispatcher, flags, limit)));
    if (flags.json) return ctx.print.json(page);
    if (page.jobs.length === 0) return ctx.print.note('no jobs');
    ctx.print.line(jobTable(page.jobs));
    if (page.nextCursor) ctx.print.note(`more: --cursor ${page.nextCursor}`);
  });

  const job = program
    .command('job')
    .description('show one job: its input, result, progress and last error')
    .argument('<id>', 'the job id')
    .addHelpText('after', '\nExamples:\n  dispatch job 42\n  dispatch job 42 --json | jq .result');
  jsonOption(storeOptions(job)).action(async (id: string, flags: StoreFlags) => {
    const record = await withDispatcher(ctx, flags, (dispatcher) => dispatcher.getJob(id));
    if (!record) throw new JobNotFoundError(id);
    if (flags.json) return ctx.print.json(record);
    ctx.print.line(jobDetail(record));
  });
};

function listState(dispatcher: Dispatcher, state: JobState, flags: ListFlags, limit: number): Promise<JobPage> {
  return dispatcher.jobs.list({ state, limit, cursor: flags.cursor ?? null, queue: flags.queue, name: flags.name });
}

/** A page of each state, in the chart's order, cut to `limit` in all. */
async function listAll(dispatcher: Dispatcher, flags: ListFlags, limit: number): Promise<JobPage> {
  const pages = await Promise.all(JOB_STATES.map((state) => dispatcher.jobs.list({ state, limit, queue: flags.queue, name: flags.name })));
  return { jobs: pages.flatMap((page) => page.jobs).slice(0, limit), nextCursor: null };
}
