import cliProgress from 'cli-progress';
import type { Output } from './io.js';

/** A bar's updates; a bar not drawn takes them and does nothing. */
export interface Progress {
  update(done: number): void;
  stop(): void;
}

const NONE: Progress = { update: () => undefined, stop: () => undefined };

/**
 * A progress bar on stderr for a long operation, drawn only on a terminal
 * and never under --json: a pipe or a script sees no escape codes.
 */
export function progressBar(stderr: Output, options: { total: number; label: string; json: boolean }): Progress {
  if (!stderr.isTTY || options.json || options.total <= 0) return NONE;
  const bar = new cliProgress.SingleBar({
    stream: stderr as NodeJS.WritableStream,
    format: `${options.label} [{bar}] {value}/{total}`,
    clearOnComplete: true,
    hideCursor: true,
  });
  bar.start(options.total, 0);
  return {
    update: (done) => bar.update(Math.min(done, options.total)),
    stop: () => bar.stop(),
  };
}
