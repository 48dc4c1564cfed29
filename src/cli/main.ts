import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { JobNotFoundError, ValidationError } from '../errors.js';
import { chartCommand } from './commands/chart.js';
import { dashboardCommand } from './commands/dashboard.js';
import { dlqCommands } from './commands/dlq.js';
import { enqueueCommand } from './commands/enqueue.js';
import { jobsCommands } from './commands/jobs.js';
import { migrateCommand } from './commands/migrate.js';
import { queuesCommands } from './commands/queues.js';
import { schedulesCommands } from './commands/schedules.js';
import { workerCommand } from './commands/worker.js';
import { type CliIo, EXIT, Printer } from './io.js';
import type { Context } from './session.js';

/** A command family: adds its commands to the program. One file each under commands/; a new one is one more entry here. */
export type CommandFamily = (program: Command, ctx: Context) => void;

const FAMILIES: readonly CommandFamily[] = [
  workerCommand,
  enqueueCommand,
  jobsCommands,
  dlqCommands,
  queuesCommands,
  schedulesCommands,
  migrateCommand,
  chartCommand,
  dashboardCommand,
];

/** The package's version, from the package.json above this file (in src/ or in dist/src/). */
function version(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'dispatch-ts') return manifest.version ?? 'unknown';
    } catch {
      // No package.json at this level: look further up.
    }
  }
  return 'unknown';
}

/** The `dispatch` program: its global settings first, so every command made after inherits them. */
export function buildProgram(ctx: Context): Command {
  const program = new Command('dispatch')
    .description('Run and operate dispatch-ts jobs: a worker, enqueue, find jobs, the DLQ, queues, schedules, migrations, the chart.')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.io.stdout.write(text),
      writeErr: (text) => ctx.io.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError();
  for (const add of FAMILIES) add(program, ctx);
  return program;
}

/**
 * Runs the CLI on `argv` (the arguments after the program's name), writing to
 * `io`, and answers the exit code: 0 on success, 1 for a failure or something
 * not found, 2 for a command line that was refused.
 */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx: Context = { io, env: io.env ?? process.env, print: new Printer(io), exitCode: EXIT.ok };
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (error) {
    return failed(error, io);
  }
}

function failed(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander has written its message (or the help, or the version) already.
    return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  io.stderr.write(`dispatch: ${error instanceof Error ? error.message : String(error)}\n`);
  if (error instanceof JobNotFoundError) return EXIT.failed;
  return error instanceof ValidationError ? EXIT.usage : EXIT.failed;
}
