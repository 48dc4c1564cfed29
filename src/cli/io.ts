/** Where a command writes: process.stdout and process.stderr from the bin, collectors in tests. */
export interface Output {
  write(text: string): unknown;
  /** True on a terminal: only then is a progress bar drawn. */
  isTTY?: boolean;
}

export interface CliIo {
  stdout: Output;
  stderr: Output;
  /** Read for DISPATCH_STORE and the like; process.env unless given. */
  env?: Record<string, string | undefined>;
  /** Where a worker hears SIGINT and SIGTERM: the process unless given (an emitter, in tests). */
  signals?: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
}

/** Exit codes, after Unix habits (2 is a usage error, as for the shell's builtins). */
export const EXIT = {
  ok: 0,
  /** A runtime failure, or something asked for that is not there. */
  failed: 1,
  /** The command line was refused: an unknown option, a bad value, a missing argument. */
  usage: 2,
} as const;

/** A command's output: JSON for scripts, or text for people. */
export class Printer {
  constructor(private readonly io: CliIo) {}

  line(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  json(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A note for the person at the terminal, on stderr so stdout stays clean for pipes. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }
}
