import { collect, Counter, drained, now, percentile, sleep } from './measure.js';
import type { Adapter } from './types.js';

type Params = Record<string, number>;

/** Indices of the urgent jobs, apart from the backlog's. */
const PROBE_BASE = 1_000_000_000;

/**
 * Real handlers: `n` queued jobs whose handler awaits `handlerMs` of timer
 * (standing in for I/O) at `concurrency`. Throughput over the whole drain;
 * and, while the backlog drains (from a tenth to nine tenths of it), one
 * urgent job at a time enqueued with the engine's highest priority: its wait
 * from the enqueue call to its handler's first line.
 */
export async function realHandlers(a: Adapter, p: Params): Promise<Record<string, number>> {
  await a.open({ concurrency: p.concurrency!, retry: false, reset: true });
  await a.fill(0, p.n!);
  collect();
  const counter = new Counter();
  let probeStarted: ((t: number) => void) | null = null;
  const t0 = now();
  const deadline = t0 + p.capMs!;
  await a.startWorker(async (i) => {
    if (i >= PROBE_BASE) probeStarted?.(now());
    else counter.hit();
    await sleep(p.handlerMs!);
  });
  const waits: number[] = [];
  let probeCapped = false;
  if (await counter.reach(Math.floor(p.n! / 10), deadline - now())) {
    for (let k = 0; counter.count < (p.n! * 9) / 10 && now() < deadline; k++) {
      const started = new Promise<number>((resolve) => (probeStarted = resolve));
      const tProbe = now();
      await a.enqueueUrgent(PROBE_BASE + k);
      const tStart = await Promise.race([started, sleep(Math.max(0, deadline - now())).then(() => null)]);
      probeStarted = null;
      if (tStart === null) {
        // Still waiting at the cap: what it waited so far is a lower bound, kept so a slow pickup is not hidden.
        waits.push(now() - tProbe);
        probeCapped = true;
        break;
      }
      waits.push(tStart - tProbe);
      await sleep(p.probeGapMs!);
    }
  }
  const all = await counter.reach(p.n!, Math.max(0, deadline - now()));
  const tEnd = all ? await drained(() => a.remaining(), 30_000) : now();
  const n = all ? p.n! : counter.count;
  waits.sort((x, y) => x - y);
  return {
    rate: (n / (tEnd - t0)) * 1000,
    n,
    capped: all && !probeCapped ? 0 : 1,
    pickupP50: percentile(waits, 50),
    pickupP99: percentile(waits, 99),
    probes: waits.length,
  };
}
