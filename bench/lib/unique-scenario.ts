import { Counter, now } from './measure.js';
import type { Adapter } from './types.js';

type Params = Record<string, number>;

/**
 * Unique keys that never bind: `n` jobs enqueued (`window` calls in flight)
 * and processed by a running worker with a distinct key each, and `n`
 * without keys, in halves interleaved, after a warm-up. `keyedRatio` is what keys cost where they
 * are used but never hold a job back: keyed throughput over plain.
 */
export async function uniqueRun(a: Adapter, p: Params): Promise<Record<string, number>> {
  if (!a.enqueueKeyed) throw new Error('this adapter has no keyed enqueue');
  await a.open({ concurrency: p.concurrency!, retry: false, reset: true });
  const counter = new Counter();
  await a.startWorker(() => void counter.hit());
  let next = 0;
  let done = 0;
  const phase = async (count: number, enqueue: (i: number) => Promise<void>): Promise<number> => {
    const target = done + count;
    const t0 = now();
    let started = 0;
    const lane = async () => {
      while (started < count) {
        started++;
        await enqueue(next++);
      }
    };
    await Promise.all(Array.from({ length: p.window! }, lane));
    if (!(await counter.reach(target, p.capMs))) throw new Error(`only ${counter.count - done} of ${count} jobs ran within ${p.capMs} ms`);
    done = target;
    return (count / (now() - t0)) * 1000;
  };
  const plain = (i: number) => a.enqueue(i);
  const keyed = (i: number) => a.enqueueKeyed!(i, `key-${i}`);
  await phase(p.warmup!, plain);
  // Plain, keyed, keyed, plain: a drift over the run (warming up, a growing table) weighs on both alike.
  const half = Math.ceil(p.n! / 2);
  const plainA = await phase(half, plain);
  const keyedA = await phase(half, keyed);
  const keyedB = await phase(half, keyed);
  const plainB = await phase(half, plain);
  const rate = (keyedA + keyedB) / 2;
  const plainRate = (plainA + plainB) / 2;
  return { rate, plainRate, keyedRatio: rate / plainRate, n: 2 * half };
}
