import { resolve } from 'node:path';
import { run } from '../../src/cli/main.js';

/** The jobs module the CLI tests load with --jobs. */
export const JOBS = resolve(import.meta.dirname, 'fixtures/jobs.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dispatch <args>` in this process with an environment of its own (none of the caller's DISPATCH_ variables). */
export async function cli(args: string[], options: { env?: Record<string, string>; tty?: boolean } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.tty ?? false },
    env: options.env ?? {},
  });
  return { code, stdout, stderr };
}

/** Runs it and parses stdout as JSON, failing with what it printed when it did not succeed. */
export async function cliJson<T = unknown>(args: string[], env?: Record<string, string>): Promise<T> {
  const result = await cli([...args, '--json'], env ? { env } : {});
  if (result.code !== 0) throw new Error(`dispatch ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
