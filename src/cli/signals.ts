import { constants } from 'node:os';
import type { Context } from './session.js';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
export type Signal = (typeof SIGNALS)[number];

/**
 * The first SIGINT or SIGTERM, for a command that runs until stopped (the
 * worker); a second one exits at once, as Unix tools do. `release` stops listening.
 */
export function waitForSignal(ctx: Context): { first: Promise<Signal>; release: () => void } {
  let count = 0;
  let resolve!: (signal: Signal) => void;
  const first = new Promise<Signal>((r) => (resolve = r));
  const heard = (signal: Signal) => {
    if (++count === 1) return resolve(signal);
    ctx.print.note(`dispatch: ${signal} again: stopping at once`);
    process.exit(128 + constants.signals[signal]);
  };
  const source = ctx.io.signals ?? process;
  const handlers = SIGNALS.map((signal) => [signal, () => heard(signal)] as const);
  for (const [signal, handler] of handlers) source.on(signal, handler);
  return { first, release: () => handlers.forEach(([signal, handler]) => source.off(signal, handler)) };
}
