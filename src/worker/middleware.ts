import type { JobInfo } from '../job/define-job.js';

/** What middleware sees of the attempt it wraps. */
export interface MiddlewareContext<I = unknown> {
  readonly job: JobInfo;
  /** The input as the handler gets it: parsed by the definition's schema. */
  readonly input: I;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /** Aborted on timeout, cancel, shutdown or a lost lease, as the handler's is. */
  readonly signal: AbortSignal;
}

/**
 * Runs around every handler call: call `next()` to go on (to the next
 * middleware, then the handler) and return what it gives, or change it:
 * return something else, or throw to fail the attempt.
 */
export type Middleware = (ctx: MiddlewareContext, next: () => Promise<unknown>) => unknown;

/** Calls `handler` through `chain`, first added outermost. A throw anywhere is a rejection. */
export function runThrough(chain: readonly Middleware[], ctx: MiddlewareContext, handler: () => unknown): Promise<unknown> {
  const step = (index: number): Promise<unknown> => {
    const middleware = chain[index];
    if (!middleware) return new Promise((resolve) => resolve(handler()));
    let called = false;
    const next = () => {
      if (called) return Promise.reject(new Error(`middleware ${index + 1} called next() more than once`));
      called = true;
      return step(index + 1);
    };
    return new Promise((resolve) => resolve(middleware(ctx, next)));
  };
  return step(0);
}
