import { type ChildProcess, fork } from 'node:child_process';
import { drained, now, sleep } from './measure.js';
import { loadAdapter } from './targets.js';
import type { Adapter, MeasureSpec } from './types.js';

type Params = Record<string, number>;

/** What a worker process sends: how many jobs it ran since its last message, or at the end every job index it ran. */
type WorkerMessage = { ready: true } | { hits: number } | { ran: number[] } | { error: string };

/**
 * Scale-out: `n` jobs queued once, then `procs` worker processes on the same
 * store, each a worker of its own at `concurrency`. Timed from the moment
 * every process has opened its store and is told to start, to the store
 * reporting every job completed. Every process records the jobs it ran; a job
 * run twice is a duplicate (must be 0), a job never run is an error.
 */
export async function scaleOut(a: Adapter, spec: MeasureSpec, script: string): Promise<Record<string, number>> {
  const p = spec.params;
  await a.open({ concurrency: p.concurrency!, retry: false, reset: true });
  await a.fill(0, p.n!);
  const workers: ChildProcess[] = [];
  const hits = { total: 0 };
  const waiting: Array<() => void> = [];
  const failures: string[] = [];
  const ran: number[][] = [];
  const replies = new Map<ChildProcess, (m: WorkerMessage) => void>();
  try {
    for (let k = 0; k < p.procs!; k++) {
      const worker = fork(script, [JSON.stringify({ ...spec, role: 'worker' } satisfies MeasureSpec)], {
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      });
      worker.on('message', (m: WorkerMessage) => {
        if ('hits' in m) {
          hits.total += m.hits;
          if (hits.total >= p.n!) for (const wake of waiting.splice(0)) wake();
        } else if ('error' in m) {
          failures.push(m.error);
          for (const wake of waiting.splice(0)) wake();
        } else replies.get(worker)?.(m);
      });
      workers.push(worker);
    }
    const ask = (worker: ChildProcess, message: object) =>
      new Promise<WorkerMessage>((resolve) => {
        replies.set(worker, resolve);
        worker.send(message);
      });
    const ready = await Promise.all(workers.map((w) => ask(w, { open: true })));
    for (const r of ready) if ('error' in r) throw new Error(`worker: ${r.error}`);
    const allRan = new Promise<void>((resolve) => waiting.push(resolve));
    const t0 = now();
    for (const w of workers) w.send({ go: true });
    const capped = await Promise.race([allRan.then(() => false), sleep(p.capMs!).then(() => true)]);
    if (failures.length > 0) throw new Error(`worker: ${failures[0]}`);
    // Done when the store says so, not when the last handler returned.
    const tEnd = capped ? now() : await drained(() => a.remaining(), 30_000);
    const done = capped ? hits.total : p.n!;
    for (const w of workers) {
      const r = await ask(w, { report: true });
      if ('ran' in r) ran.push(r.ran);
    }
    const runs = new Uint8Array(p.n!);
    for (const list of ran) for (const i of list) runs[i] = Math.min(255, runs[i]! + 1);
    let duplicates = 0;
    let never = 0;
    for (const count of runs) {
      if (count > 1) duplicates++;
      else if (count === 0) never++;
    }
    if (!capped && never > 0) throw new Error(`${never} of ${p.n} jobs never ran, yet the store reports none left`);
    return { rate: (done / (tEnd - t0)) * 1000, n: done, capped: capped ? 1 : 0, duplicates, procs: p.procs! };
  } finally {
    // Disconnecting lets each close its store; one that does not exit soon is killed.
    await Promise.all(
      workers.map(async (w) => {
        const exited = new Promise<void>((resolve) => (w.exitCode !== null ? resolve() : w.once('exit', () => resolve())));
        if (w.connected) w.disconnect();
        await Promise.race([exited, sleep(5000)]);
        w.kill('SIGKILL');
      }),
    );
  }
}

/** The worker side: opens the queue without wiping it, starts a worker when told, counts and records what it runs. */
export function scaleOutWorker(spec: MeasureSpec): void {
  let adapter: Adapter | null = null;
  const ran: number[] = [];
  let unreported = 0;
  let flusher: NodeJS.Timeout | undefined;
  const flush = () => {
    if (unreported > 0) process.send!({ hits: unreported } satisfies WorkerMessage);
    unreported = 0;
  };
  process.on('message', (m: { open?: boolean; go?: boolean; report?: boolean }) => {
    void (async () => {
      try {
        if (m.open) {
          adapter = await loadAdapter(spec.target, spec.scenario);
          await adapter.open({ concurrency: spec.params.concurrency!, retry: false, reset: false });
          process.send!({ ready: true } satisfies WorkerMessage);
        } else if (m.go) {
          // Progress in batches: a message per job would cost more than the job.
          flusher = setInterval(flush, 5);
          await adapter!.startWorker((i) => {
            ran.push(i);
            if (++unreported >= 500) flush();
          });
        } else if (m.report) {
          clearInterval(flusher);
          flush();
          process.send!({ ran } satisfies WorkerMessage);
        }
      } catch (error) {
        process.send!({ error: error instanceof Error ? error.message : String(error) } satisfies WorkerMessage);
      }
    })();
  });
  process.on('disconnect', () => void Promise.race([adapter?.close(), sleep(3000)]).finally(() => process.exit(0)));
}
