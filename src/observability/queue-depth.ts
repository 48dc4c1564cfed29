import type { JobState } from '../../machines/job.machine.js';
import type { Store } from '../store/contract.js';

/** How long a store's counts are reused: scrapes of several collectors, or a scrape storm, read the store once. */
export const DEPTH_CACHE_MS = 1000;

interface Cached {
  at: number;
  counts: Promise<Map<string, number>>;
}

const cache = new WeakMap<Store, Cached>();

/** One figure of queue depth: jobs of `queue` in `state`. */
export interface Depth {
  queue: string;
  state: JobState;
  jobs: number;
}

/**
 * Jobs by queue and state, summed over `stores` (each counted once however
 * many dispatchers share it), read from each store's `queueCounts()` at most
 * once a DEPTH_CACHE_MS. A store that cannot answer (not open, closed, down)
 * is left out, and told to `failed`.
 */
export async function queueDepth(stores: Iterable<Store>, failed: (error: unknown) => void, now = Date.now()): Promise<Depth[]> {
  const sum = new Map<string, number>();
  const reads = [...new Set(stores)].map((store) => countsOf(store, now).then(
    (counts) => {
      for (const [key, n] of counts) sum.set(key, (sum.get(key) ?? 0) + n);
    },
    failed,
  ));
  await Promise.all(reads);
  return [...sum].map(([key, jobs]) => {
    const [queue, state] = JSON.parse(key) as [string, JobState];
    return { queue, state, jobs };
  });
}

function countsOf(store: Store, now: number): Promise<Map<string, number>> {
  const cached = cache.get(store);
  if (cached && now - cached.at < DEPTH_CACHE_MS) return cached.counts;
  const counts = store.queueCounts().then((byQueue) => {
    const flat = new Map<string, number>();
    for (const [queue, states] of Object.entries(byQueue)) {
      for (const [state, n] of Object.entries(states)) flat.set(JSON.stringify([queue, state]), n);
    }
    return flat;
  });
  cache.set(store, { at: now, counts });
  // A failed read is not kept: the next scrape asks again.
  counts.catch(() => cache.get(store)?.counts === counts && cache.delete(store));
  return counts;
}
