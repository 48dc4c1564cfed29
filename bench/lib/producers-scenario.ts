import { now } from './measure.js';
import type { Adapter } from './types.js';

type Params = Record<string, number>;

/**
 * Concurrent producers: `producers` callers in one process, each awaiting its
 * own enqueue before the next (as request handlers do), `n` jobs in all or
 * until `capMs`. What is timed is the enqueue rate they reach together.
 */
export async function concurrentProducers(a: Adapter, p: Params): Promise<Record<string, number>> {
  await a.open({ concurrency: 1, retry: false, reset: true });
  let next = 0;
  let done = 0;
  const t0 = now();
  const deadline = t0 + p.capMs!;
  const producer = async () => {
    while (next < p.n! && now() < deadline) {
      await a.enqueue(next++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: p.producers! }, producer));
  const ms = now() - t0;
  // Outside the timing: every acknowledged enqueue is in the queue.
  const found = await a.remaining();
  if (found !== done) throw new Error(`${done} enqueues were acknowledged but the queue holds ${found}`);
  return { rate: (done / ms) * 1000, n: done, capped: done < p.n! ? 1 : 0 };
}
