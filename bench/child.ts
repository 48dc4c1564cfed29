/**
 * One measurement in a fresh process: `node --expose-gc child.js '<spec json>'`.
 * Prints one line `BENCH_RESULT <json>` for the runner.
 */
import { fork } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { AllocationMeter, Counter, collect, drained, heapUsed, now, percentile, profileStart, sleep, StallMeter } from './lib/measure.js';
import { loadAdapter } from './lib/targets.js';
import { footprint } from './lib/footprint-scenario.js';
import { concurrentProducers } from './lib/producers-scenario.js';
import { realHandlers } from './lib/real-scenario.js';
import { scaleOut, scaleOutWorker } from './lib/scaleout-scenario.js';
import { uniqueRun } from './lib/unique-scenario.js';
import { CPU_SPLIT, cpuSplitStart, trackPools } from './lib/cpu-split.js';
import { type Adapter, type ChildResult, type MeasureSpec, Unavailable } from './lib/types.js';

if (CPU_SPLIT) trackPools();

type Metrics = Record<string, number>;
type Params = Record<string, number>;

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

async function enqueueSeq(a: Adapter, p: Params): Promise<Metrics> {
  await a.open({ concurrency: 1, retry: false, reset: true });
  const t0 = now();
  let n = 0;
  while (n < p.n!) {
    await a.enqueue(n++);
    if (n % 100 === 0 && now() - t0 > p.capMs!) break;
  }
  const ms = now() - t0;
  await checkCount(a, n);
  return { rate: (n / ms) * 1000, n };
}

async function enqueueBulk(a: Adapter, p: Params): Promise<Metrics> {
  await a.open({ concurrency: 1, retry: false, reset: true });
  const t0 = now();
  await a.enqueueBulk(0, p.n!);
  const ms = now() - t0;
  await checkCount(a, p.n!);
  return { rate: (p.n! / ms) * 1000, n: p.n! };
}

/** A sanity check outside the timing: everything enqueued is in the queue. */
async function checkCount(a: Adapter, expected: number): Promise<void> {
  const found = await a.remaining();
  if (found !== expected) throw new Error(`enqueued ${expected} jobs but the queue holds ${found}`);
}

async function processRun(a: Adapter, p: Params): Promise<Metrics> {
  const rateLimit = p.rateMax === undefined ? {} : { rateLimit: { max: p.rateMax, perMs: p.ratePerMs! } };
  await a.open({ concurrency: p.concurrency!, retry: false, reset: true, ...rateLimit });
  await a.fill(0, p.n!);
  collect();
  const counter = new Counter();
  const meter = new AllocationMeter();
  const stalls = new StallMeter();
  const profileStop = await profileStart();
  meter.start();
  stalls.start();
  const split = CPU_SPLIT ? cpuSplitStart() : null;
  const t0 = now();
  await a.startWorker(() => void counter.hit());
  const all = await counter.reach(p.n!, p.capMs);
  // Done when the store says so, not when the last handler returned.
  const tEnd = all ? await drained(() => a.remaining(), 30_000) : now();
  if (split) console.error(`CPU_SPLIT ${JSON.stringify(await split(all ? p.n! : counter.count))}`);
  const allocated = meter.stop();
  const maxStallMs = stalls.stop();
  await profileStop();
  const n = all ? p.n! : counter.count;
  return {
    rate: (n / (tEnd - t0)) * 1000,
    n,
    capped: all ? 0 : 1,
    peakRssMb: peakRssMb(),
    allocKbPerJob: allocated / n / 1024,
    maxStallMs,
  };
}

async function latency(a: Adapter, p: Params): Promise<Metrics> {
  await a.open({ concurrency: p.concurrency!, retry: false, reset: true });
  let started: ((t: number) => void) | null = null;
  await a.startWorker(() => started?.(now()));
  // Let the worker settle into its idle wait (connections, LISTEN, first empty poll).
  await sleep(p.settleMs!);
  const samples: number[] = [];
  const tStart = now();
  for (let i = 0; i < p.samples! && now() - tStart < p.capMs!; i++) {
    const handlerStart = new Promise<number>((resolve) => (started = resolve));
    const t0 = now();
    await a.enqueue(i);
    samples.push((await handlerStart) - t0);
    started = null;
    if (i === p.samples! - 1) break;
    // Idle again before the next one: its completion written, the worker back to waiting;
    // a polling worker is met at a random point of its cycle, not right after a poll.
    await sleep(p.gapMs! + Math.random() * (a.pollMs ?? 0));
  }
  samples.sort((x, y) => x - y);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99), n: samples.length };
}

/**
 * Milliseconds on the machine's monotonic clock, which every process on it
 * reads alike. Not `performance.timeOrigin + performance.now()`: each
 * process fixes its time origin from the wall clock when it starts, so a
 * clock adjustment between the starts of the two processes shows up as a
 * skew (a run once measured a pickup p50 of -1.35 ms that way).
 */
const sharedNow = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Pickup latency with the enqueue in another process: the wake-up has to
 * cross processes (LISTEN/NOTIFY, Redis, polling), as it does for a web
 * process that enqueues and a worker process that runs.
 */
async function latencyRemote(a: Adapter, spec: MeasureSpec): Promise<Metrics> {
  const p = spec.params;
  await a.open({ concurrency: p.concurrency!, retry: false, reset: true });
  let started: ((t: number) => void) | null = null;
  await a.startWorker(() => started?.(sharedNow()));
  const producer = fork(fileURLToPath(import.meta.url), [JSON.stringify({ ...spec, role: 'producer' } satisfies MeasureSpec)], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const replies: Array<(m: { t0?: number; error?: string }) => void> = [];
  producer.on('message', (m: { t0?: number; error?: string; ready?: boolean }) => replies.shift()?.(m));
  const ask = (message: object) =>
    new Promise<{ t0?: number; error?: string }>((resolve) => {
      replies.push(resolve);
      producer.send(message);
    });
  try {
    const ready = await ask({ open: true });
    if (ready.error) throw new Error(`producer: ${ready.error}`);
    await sleep(p.settleMs!);
    const samples: number[] = [];
    const tStart = now();
    for (let i = 0; i < p.samples! && now() - tStart < p.capMs!; i++) {
      const handlerStart = new Promise<number>((resolve) => (started = resolve));
      const reply = await ask({ i });
      if (reply.t0 === undefined) throw new Error(`producer: ${reply.error}`);
      samples.push((await handlerStart) - reply.t0);
      started = null;
      await sleep(p.gapMs! + Math.random() * (a.pollMs ?? 0));
    }
    samples.sort((x, y) => x - y);
    return { p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99), n: samples.length };
  } finally {
    producer.kill();
  }
}

/** The producer side of latencyRemote: opens the same queue without a worker and enqueues on request. */
async function produce(spec: MeasureSpec): Promise<void> {
  let adapter: Adapter | null = null;
  process.on('message', (m: { open?: boolean; i?: number }) => {
    void (async () => {
      try {
        if (m.open) {
          adapter = await loadAdapter(spec.target, spec.scenario);
          await adapter.open({ concurrency: 1, retry: false, reset: false });
          process.send!({ ready: true });
        } else {
          const t0 = sharedNow();
          await adapter!.enqueue(m.i!);
          process.send!({ t0 });
        }
      } catch (error) {
        process.send!({ error: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
  process.on('disconnect', () => void Promise.race([adapter?.close(), sleep(2000)]).finally(() => process.exit(0)));
}

async function retry(a: Adapter, p: Params): Promise<Metrics> {
  await a.open({ concurrency: p.concurrency!, retry: true, reset: true });
  await a.fill(0, p.n!);
  const attempts = new Uint8Array(p.n!);
  const succeeded = new Counter();
  const profileStop = await profileStart();
  const t0 = now();
  await a.startWorker((i) => {
    if (++attempts[i]! === 1) throw new Error('fails once by design');
    succeeded.hit();
  });
  if (!(await succeeded.reach(p.n!, p.capMs))) throw new Error(`only ${succeeded.count} of ${p.n} jobs succeeded within ${p.capMs} ms`);
  const tEnd = await drained(() => a.remaining(), 30_000);
  await profileStop();
  return { totalMs: tEnd - t0, n: p.n! };
}

async function backlog(a: Adapter, p: Params, reset: boolean): Promise<Metrics> {
  await a.open({ concurrency: p.concurrency!, retry: false, reset });
  const have = await a.remaining();
  const tFill = now();
  if (have < p.backlog!) await a.fill(1e9 + have, p.backlog! - have);
  const fillMs = now() - tFill;
  collect();
  const counter = new Counter();
  const marks: number[] = [];
  const warmup = p.warmup!;
  const end = warmup + p.window!;
  const profileStop = await profileStart();
  await a.startWorker(() => {
    const n = counter.hit();
    if (n === warmup || n === end) marks.push(now());
  });
  const all = await counter.reach(end, p.capMs);
  const tEnd = all ? marks[1]! : now();
  await profileStop();
  const measured = (all ? end : counter.count) - warmup;
  if (marks.length === 0 || measured <= 0) throw new Error(`only ${counter.count} jobs ran within ${p.capMs} ms`);
  return { rate: (measured / (tEnd - marks[0]!)) * 1000, n: measured, capped: all ? 0 : 1, backlog: Math.max(have, p.backlog!), fillMs, peakRssMb: peakRssMb() };
}

async function memory(a: Adapter, p: Params): Promise<Metrics> {
  const inflight = p.inflight!;
  await a.open({ concurrency: inflight, retry: false, reset: true });
  const running = new Counter();
  let release!: () => void;
  let gate!: Promise<void>;
  const close = () => (gate = new Promise<void>((resolve) => (release = resolve)));
  close();
  await a.startWorker(async () => {
    running.hit();
    await gate;
  });
  // A first round, not measured: the code a job runs is compiled once, and would otherwise count as held per job.
  await a.fill(0, inflight);
  if (!(await running.reach(inflight, p.capMs))) throw new Error(`only ${running.count} of ${inflight} jobs started within ${p.capMs} ms`);
  release();
  await drained(() => a.remaining(), 30_000);
  close();
  await sleep(p.settleMs!);
  collect();
  const before = heapUsed();
  await a.fill(inflight, inflight);
  if (!(await running.reach(2 * inflight, p.capMs))) throw new Error(`only ${running.count - inflight} of ${inflight} jobs started within ${p.capMs} ms`);
  collect();
  const held = heapUsed() - before;
  release();
  await drained(() => a.remaining(), 30_000);
  return { heapKbPerJob: held / inflight / 1024, n: inflight, peakRssMb: peakRssMb() };
}

/** The floor: the engine's own job chart as a bare actor, created, started, sent LEASE and SUCCEED, stopped. */
async function floor(p: Params): Promise<Metrics> {
  // Loaded here, so peers' processes never load the engine.
  const { createActor } = await import('xstate');
  const { jobMachine } = await import('../src/index.js');
  const lifecycle = (i: number) => {
    const actor = createActor(jobMachine, {
      input: { id: String(i), name: 'bench', queue: 'default', attempt: 0, maxRetries: 3, timeoutMs: 300_000 },
    });
    actor.start();
    actor.send({ type: 'LEASE' });
    actor.send({ type: 'SUCCEED' });
    actor.stop();
  };
  for (let i = 0; i < p.warmup!; i++) lifecycle(i);
  collect();
  const meter = new AllocationMeter();
  meter.start();
  const t0 = now();
  for (let i = 0; i < p.n!; i++) lifecycle(i);
  const ms = now() - t0;
  const allocated = meter.stop();
  return { usPerJob: (ms * 1000) / p.n!, rate: (p.n! / ms) * 1000, allocKbPerJob: allocated / p.n! / 1024, n: p.n! };
}

async function measure(spec: MeasureSpec): Promise<ChildResult> {
  const p = spec.params;
  if (spec.scenario === 'floor') return { ok: true, metrics: await floor(p), settings: { chart: 'the engine job chart (jobMachine), no-op actions' } };
  let adapter: Adapter;
  try {
    adapter = await loadAdapter(spec.target, spec.scenario);
  } catch (error) {
    if (error instanceof Unavailable) return { ok: false, unavailable: error.message };
    throw error;
  }
  try {
    const group = spec.scenario.replace(/-.*/, '');
    let metrics: Metrics;
    if (spec.scenario === 'enqueue-seq') metrics = await enqueueSeq(adapter, p);
    else if (spec.scenario === 'enqueue-bulk') metrics = await enqueueBulk(adapter, p);
    else if (group === 'process' || group === 'ratelimit') metrics = await processRun(adapter, p);
    else if (spec.scenario === 'latency-remote') metrics = await latencyRemote(adapter, spec);
    else if (group === 'latency' || group === 'sporadic') metrics = await latency(adapter, p);
    else if (group === 'retry') metrics = await retry(adapter, p);
    else if (group === 'backlog' || group === 'engine') metrics = await backlog(adapter, p, spec.reset);
    else if (group === 'memory') metrics = await memory(adapter, p);
    else if (group === 'unique') metrics = await uniqueRun(adapter, p);
    else if (group === 'scaleout') metrics = await scaleOut(adapter, spec, fileURLToPath(import.meta.url));
    else if (group === 'real') metrics = await realHandlers(adapter, p);
    else if (group === 'producers') metrics = await concurrentProducers(adapter, p);
    else if (group === 'footprint') metrics = await footprint(adapter, p);
    else throw new Error(`unknown scenario ${spec.scenario}`);
    return { ok: true, metrics, settings: adapter.settings };
  } catch (error) {
    if (error instanceof Unavailable) return { ok: false, unavailable: error.message, settings: adapter.settings };
    return { ok: false, error: error instanceof Error ? error.message : String(error), settings: adapter.settings };
  } finally {
    await Promise.race([adapter.close().catch(() => undefined), sleep(10_000)]);
  }
}

const spec = JSON.parse(process.argv[2] ?? '{}') as MeasureSpec;
if (spec.role === 'producer') void produce(spec);
else if (spec.role === 'worker') scaleOutWorker(spec);
else measure(spec).then(
  (result) => {
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stdout.write(`BENCH_RESULT ${JSON.stringify({ ok: false, error: message } satisfies ChildResult)}\n`);
    process.exit(0);
  },
);
