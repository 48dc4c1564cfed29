import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { GCProfiler, getHeapStatistics } from 'node:v8';

export const now = () => performance.now();
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A full collection, when the child runs with --expose-gc. */
export function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
}

export const heapUsed = () => getHeapStatistics().used_heap_size;

/** Bytes allocated between start() and stop(): what the collector freed plus what is still held. */
export class AllocationMeter {
  private readonly profiler = new GCProfiler();
  private startUsed = 0;

  start(): void {
    this.startUsed = heapUsed();
    this.profiler.start();
  }

  stop(): number {
    const endUsed = heapUsed();
    const { statistics } = this.profiler.stop();
    let freed = 0;
    for (const gc of statistics) freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    return endUsed - this.startUsed + freed;
  }
}

/**
 * A CPU profile of the timed part only (not the fill before it), written to
 * the file BENCH_CPU_PROFILE names; a no-op when it names none.
 */
export async function profileStart(): Promise<() => Promise<void>> {
  const file = process.env.BENCH_CPU_PROFILE;
  if (!file) return async () => {};
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_CPU_PROFILE_INTERVAL_US ?? 200) });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/**
 * Counts handler calls and lets a caller wait for the n-th. The time cap is
 * checked on every hit as well as by a timer: a worker that never yields to
 * the event loop would hold the timer back until it ran out of jobs.
 */
export class Counter {
  count = 0;
  private waiters: Array<{ at: number; deadline: number; resolve: (reached: boolean) => void }> = [];

  hit(): number {
    const n = ++this.count;
    if (this.waiters.length > 0) {
      const t = now();
      this.waiters = this.waiters.filter((w) => {
        if (n >= w.at) w.resolve(true);
        else if (t >= w.deadline) w.resolve(false);
        else return true;
        return false;
      });
    }
    return n;
  }

  /** Resolves true at the n-th hit, false if `capMs` passes first. */
  reach(n: number, capMs = Infinity): Promise<boolean> {
    if (this.count >= n) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        at: n,
        deadline: now() + capMs,
        resolve: (reached: boolean) => {
          clearTimeout(timer);
          resolve(reached);
        },
      };
      this.waiters.push(waiter);
      if (Number.isFinite(capMs)) {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(false);
        }, capMs);
      }
    });
  }
}

/**
 * The longest the event loop went without running a timer: what an HTTP
 * server sharing the process with the worker would wait for at worst.
 */
export class StallMeter {
  private timer: NodeJS.Timeout | undefined;
  private last = 0;
  private max = 0;

  start(): void {
    this.last = now();
    this.timer = setInterval(() => {
      const t = now();
      this.max = Math.max(this.max, t - this.last);
      this.last = t;
    }, 5);
  }

  stop(): number {
    clearInterval(this.timer);
    return Math.max(this.max, now() - this.last);
  }
}

/** Polls until `remaining()` answers 0; returns when it did. Used once the last handler has run, so its cost is off the hot path. */
export async function drained(remaining: () => Promise<number>, capMs: number): Promise<number> {
  const deadline = now() + capMs;
  for (;;) {
    if ((await remaining()) === 0) return now();
    if (now() > deadline) throw new Error(`jobs still not completed ${capMs} ms after the last handler ran`);
    await sleep(2);
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
