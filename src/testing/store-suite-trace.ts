import { describe, expect, it } from 'vitest';
import type { Store } from '../store/contract.js';
import { newJob, room } from './store-jobs.js';

const CONTEXT = JSON.stringify({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });

/**
 * The part of the store contract that keeps each job's trace context: kept
 * as given by every insert (plain, keyed, in bulk beside jobs without one)
 * and answered by reads and leases, so an attempt's span can link to the
 * enqueuer's. Run by storeSuite against every store.
 */
export function describeTraceContext(current: () => Store): void {
  describe('trace context', () => {
    it('keeps a job\'s trace context through insert, get and lease, and none for a job without', async () => {
      const store = current();
      const [traced, plain] = await store.insert([newJob({ input: 'traced', traceContext: CONTEXT }), newJob({ input: 'plain' })]);
      expect(traced!.traceContext).toBe(CONTEXT);
      expect(plain!.traceContext).toBeUndefined();
      expect((await store.get(traced!.id))!.traceContext).toBe(CONTEXT);
      expect((await store.get(plain!.id))!.traceContext).toBeUndefined();
      const { jobs } = await store.lease(room(2));
      expect(Object.fromEntries(jobs.map((j) => [j.input as string, j.traceContext]))).toEqual({ traced: CONTEXT, plain: undefined });
    });

    it('keeps it on a job inserted with a unique key', async () => {
      const store = current();
      const unique = { key: 'k', keepForMs: 0, onConflict: 'ignore' as const, debounce: false };
      const [keyed] = await store.insert([newJob({ input: 'keyed', traceContext: CONTEXT, unique })]);
      expect((await store.get(keyed!.id))!.traceContext).toBe(CONTEXT);
      const { jobs } = await store.lease(room(1));
      expect(jobs[0]!.traceContext).toBe(CONTEXT);
    });
  });
}
