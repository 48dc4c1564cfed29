import { describe, expect, it } from 'vitest';
import { LazyHandlerContext } from '../../src/worker/handler-context.js';
import { TimeoutError } from '../../src/index.js';

const stored = {
  id: '7', name: 'n', queue: 'q', state: 'running' as const, input: {}, priority: 3, runAt: 1000, attempt: 2, maxRetries: 4,
  timeoutMs: 10, lastError: null, result: null, progress: null, leaseToken: 't', leaseExpiresAt: 2000, createdAt: 500, updatedAt: 1000,
  group: null,
};

describe('handler context', () => {
  it('aborts a signal taken before the abort', () => {
    const ctx = new LazyHandlerContext(stored);
    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);
    const reason = new TimeoutError('late');
    ctx.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
  });

  it('hands out an already aborted signal when first asked after the abort', () => {
    const ctx = new LazyHandlerContext(stored);
    const reason = new TimeoutError('late');
    ctx.abort(reason);
    ctx.abort(new Error('second reasons are ignored'));
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBe(reason);
  });

  it('describes the job', () => {
    const ctx = new LazyHandlerContext(stored);
    expect(ctx.attempt).toBe(2);
    expect(ctx.job).toEqual({
      id: '7', name: 'n', queue: 'q', priority: 3, attempt: 2, maxRetries: 4, runAt: new Date(1000), createdAt: new Date(500),
    });
    expect(ctx.job).toBe(ctx.job);
  });
});
