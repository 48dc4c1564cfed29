import type { Command } from 'commander';
import { InvalidOptionError } from '../errors.js';
import { createDispatcher, type Dispatcher, type DispatcherOptions } from '../engine/dispatcher.js';
import type { Store } from '../store/contract.js';
import type { CliIo } from './io.js';
import { Printer } from './io.js';
import { loadJobs } from './jobs-module.js';
import { storeFrom } from './store-spec.js';

/** What every command is given: where to write, and the environment it reads defaults from. */
export interface Context {
  io: CliIo;
  env: Record<string, string | undefined>;
  print: Printer;
  /** The code `run` answers when the command ends without throwing; a command may set it. */
  exitCode: number;
}

/** The options of a command that opens a store. */
export interface StoreFlags {
  store?: string;
  schema?: string;
  jobs?: string;
  json?: boolean;
}

/** Adds `--store` and `--schema`, and `--jobs` for a command that needs the definitions. */
export function storeOptions(command: Command, jobs = false): Command {
  command
    .option('--store <store>', 'sqlite:<file> or postgres://user@host:5432/db (default: $DISPATCH_STORE)')
    .option('--schema <name>', 'the Postgres schema holding the tables (default: $DISPATCH_SCHEMA, else dispatch)');
  if (jobs) command.option('--jobs <module>', 'a module exporting the job definitions, .ts, .js or .mjs (default: $DISPATCH_JOBS)');
  return command;
}

/** Adds `--json`, for a command that reads. */
export function jsonOption(command: Command): Command {
  return command.option('--json', 'print JSON for scripts instead of a table');
}

export interface OpenOptions {
  /** Whether `--store memory` makes sense (a worker). */
  memory?: boolean;
  /** Whether the definitions from `--jobs` are needed. */
  jobs?: boolean;
  dispatcher?: Omit<DispatcherOptions, 'store'>;
}

/** The store the flags name, with the environment's defaults. */
export function openStore(ctx: Context, flags: StoreFlags, memory = false): Promise<Store> {
  const schema = flags.schema ?? ctx.env.DISPATCH_SCHEMA;
  return storeFrom(flags.store ?? ctx.env.DISPATCH_STORE, { memory, ...(schema ? { schema } : {}) });
}

/** A dispatcher on the store the flags name (its definitions registered when asked), stopped once `use` ends. */
export async function withDispatcher<T>(ctx: Context, flags: StoreFlags, use: (dispatcher: Dispatcher) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const store = await openStore(ctx, flags, options.memory);
  const jobsPath = flags.jobs ?? ctx.env.DISPATCH_JOBS;
  if (options.jobs && !jobsPath) {
    throw new InvalidOptionError('--jobs', 'is required (or set DISPATCH_JOBS): a module exporting the job definitions');
  }
  const definitions = options.jobs && jobsPath ? await loadJobs(jobsPath) : [];
  const dispatcher = createDispatcher({
    onError: (error, context) => ctx.io.stderr.write(`dispatch: ${context}: ${error instanceof Error ? error.message : String(error)}\n`),
    ...options.dispatcher,
    store,
  });
  dispatcher.registerAll(definitions);
  try {
    return await use(dispatcher);
  } finally {
    await dispatcher.stop();
  }
}
