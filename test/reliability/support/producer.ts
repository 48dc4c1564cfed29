import { z } from 'zod';
import { createDispatcher, defineJob, type Dispatcher, type EnqueueOptions, type Store } from '../../../src/index.js';

/** The job the workers run (worker.ts), as a producer declares it: here it only enqueues. */
export const count = defineJob({ name: 'count', input: z.object({ n: z.number() }), handler: () => undefined });

/** A dispatcher that never works: it enqueues `count` jobs for the worker processes. */
export function producer(store: Store): Dispatcher {
  return createDispatcher({ store }).register(count);
}

/** Enqueues `total` jobs in batches, so workers are woken again and again while they work; answers their ids. */
export async function enqueueCounts(dispatcher: Dispatcher, total: number, batch = 500, options: EnqueueOptions = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let from = 0; from < total; from += batch) {
    const inputs = Array.from({ length: Math.min(batch, total - from) }, (_, i) => ({ n: from + i }));
    for (const job of await dispatcher.enqueueMany(count, inputs, options)) ids.push(job.id);
  }
  return ids;
}
