import { collect, Counter, heapUsed, now, sleep } from './measure.js';
import type { Adapter } from './types.js';

type Params = Record<string, number>;

/**
 * What a worker process holds per waiting job: heap and RSS before the fill
 * (store open, nothing queued) against after `waiting` jobs are queued and a
 * worker runs with every handler held (so its lease, prefetch and caches are
 * in), after full collections. On a durable store the rows are in the store
 * and this should be near 0; on the memory store it is the job itself.
 */
export async function footprint(a: Adapter, p: Params): Promise<Record<string, number>> {
  await a.open({ concurrency: p.concurrency!, retry: false, reset: true });
  collect();
  const heap0 = heapUsed();
  const rss0 = process.memoryUsage().rss;
  const tFill = now();
  await a.fill(0, p.waiting!);
  const fillMs = now() - tFill;
  const running = new Counter();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  await a.startWorker(async () => {
    running.hit();
    await gate;
  });
  if (!(await running.reach(p.concurrency!, p.capMs))) throw new Error(`only ${running.count} of ${p.concurrency} jobs started within ${p.capMs} ms`);
  await sleep(p.settleMs!);
  collect();
  const heap1 = heapUsed();
  const rss1 = process.memoryUsage().rss;
  release();
  return {
    heapBytesPerJob: (heap1 - heap0) / p.waiting!,
    rssBytesPerJob: (rss1 - rss0) / p.waiting!,
    heapMb: heap1 / 2 ** 20,
    rssMb: rss1 / 2 ** 20,
    fillMs,
    fillRate: (p.waiting! / fillMs) * 1000,
    n: p.waiting!,
  };
}
