/**
 * The soak run: many jobs through real worker processes that fail at random
 * and are killed and restarted at random, then an account of every job.
 *
 *   npm run soak                         200,000 jobs on SQLite
 *   npm run soak -- --jobs 20000         a quick run
 *   npm run soak -- --store postgres     on DATABASE_URL, or on a throwaway server when it is unset
 *
 * Flags: --jobs, --store sqlite|postgres, --workers, --concurrency,
 * --fail-rate, --restart-min-ms, --restart-max-ms, --bucket-s, --timeout-min,
 * --out <file.json>. Exits 1 when a job was lost, a duplicate has no lease
 * expiry to explain it, or a worker crashed on its own.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sqliteStore, type Store } from '../../../src/index.js';
import { postgresStore } from '../../../src/postgres.js';
import { freshSchema } from '../../store/postgres/database.js';
import { startThrowawayPostgres } from '../../support/throwaway-postgres.js';
import { allJobs } from '../support/all-jobs.js';
import { enqueueCounts, producer } from '../support/producer.js';
import { account, readRuns } from '../support/runs.js';
import type { WorkerSettings, WorkerStore } from '../support/worker.js';
import { killWorker, startWorker, stopWorker, type Worker } from '../support/workers.js';
import { renderReport, type Restart, type Sample, type SoakResult, type SoakSettings } from './report.js';

const { values: flags } = parseArgs({
  options: {
    jobs: { type: 'string', default: '200000' },
    store: { type: 'string', default: 'sqlite' },
    workers: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '20' },
    'fail-rate': { type: 'string', default: '0.02' },
    'restart-min-ms': { type: 'string', default: '2000' },
    'restart-max-ms': { type: 'string', default: '6000' },
    'bucket-s': { type: 'string', default: '10' },
    'timeout-min': { type: 'string', default: '30' },
    out: { type: 'string' },
  },
});

function count(name: string, value: string | undefined, min: number): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min) throw new Error(`--${name} must be a number of at least ${min}, got ${value}`);
  return parsed;
}

if (flags.store !== 'sqlite' && flags.store !== 'postgres') throw new Error(`--store must be sqlite or postgres, got ${flags.store}`);
const settings: SoakSettings = {
  jobs: Math.floor(count('jobs', flags.jobs, 1)),
  store: flags.store,
  workers: Math.floor(count('workers', flags.workers, 1)),
  concurrency: Math.floor(count('concurrency', flags.concurrency, 1)),
  failRate: count('fail-rate', flags['fail-rate'], 0),
  restartEveryMs: [count('restart-min-ms', flags['restart-min-ms'], 1), count('restart-max-ms', flags['restart-max-ms'], 1)],
};
const bucketMs = count('bucket-s', flags['bucket-s'], 1) * 1000;
const deadline = Date.now() + count('timeout-min', flags['timeout-min'], 1) * 60_000;

const dir = mkdtempSync(join(tmpdir(), 'dispatch-soak-'));
const cleanups: Array<() => Promise<void>> = [async () => rmSync(dir, { recursive: true, force: true })];
/** The workers running now, each with the index of its log. */
const live = new Map<Worker, number>();
process.on('SIGINT', () => {
  for (const worker of live.keys()) worker.child.kill('SIGKILL');
  process.exit(130);
});

/** Where the jobs live, and a store on it for this process (enqueue, watch, account). */
async function prepare(): Promise<{ where: WorkerStore; store: Store }> {
  if (settings.store === 'sqlite') {
    const path = join(dir, 'soak.db');
    const store = sqliteStore({ path });
    await store.open();
    return { where: { kind: 'sqlite', path }, store };
  }
  let url = process.env.DATABASE_URL;
  if (!url) {
    const server = await startThrowawayPostgres();
    cleanups.unshift(server.stop);
    url = server.url;
  }
  const schema = freshSchema();
  const store = postgresStore({ connectionString: url, schema, onError: () => undefined });
  await store.open();
  return { where: { kind: 'postgres', url, schema }, store };
}

const { where, store } = await prepare();
const logs: string[] = [];
const died = new Set<number>();
const restarts: Restart[] = [];
const samples: Sample[] = [];
let crashes = 0;
let stopping = false;
/** The clock starts once the first workers are up. */
let started = Date.now();
const elapsed = () => Date.now() - started;

/** Starts one more worker; if it exits without being told to, that is a crash, and it is replaced. */
async function spawn(): Promise<Worker> {
  const index = logs.push(join(dir, `worker-${logs.length}.log`)) - 1;
  const workerSettings: WorkerSettings = {
    store: where,
    log: logs[index]!,
    concurrency: settings.concurrency,
    workMs: 2,
    failRate: settings.failRate,
    lease: '2s',
    heartbeat: '500ms',
    reapInterval: '500ms',
  };
  const worker = await startWorker(workerSettings);
  live.set(worker, index);
  void worker.exited.then(({ code, signal }) => {
    live.delete(worker);
    if (worker.told) return;
    crashes++;
    died.add(index);
    process.stderr.write(`worker ${index} exited by itself (${code ?? signal}):\n${worker.output()}\n`);
    if (!stopping) void spawn();
  });
  return worker;
}

/** Every few seconds, a random worker is killed (three times in four) or stopped, and another takes its place. */
async function chaos(): Promise<void> {
  while (!stopping) {
    const [min, max] = settings.restartEveryMs;
    await new Promise((resolve) => setTimeout(resolve, min + Math.random() * (max - min)));
    if (stopping) return;
    const victims = [...live];
    const [victim, index] = victims[Math.floor(Math.random() * victims.length)] ?? [];
    if (!victim || index === undefined) continue;
    const how = Math.random() < 0.75 ? 'SIGKILL' : 'stop';
    restarts.push({ atMs: elapsed(), how });
    if (how === 'SIGKILL') {
      died.add(index);
      await killWorker(victim);
    } else {
      await stopWorker(victim, '2s');
    }
    await spawn();
  }
}

try {
  await Promise.all(Array.from({ length: settings.workers }, spawn));
  started = Date.now();
  let chaosFailed: unknown = null;
  const chaosDone = chaos().catch((error: unknown) => void (chaosFailed = error));
  // Jobs are enqueued while the workers already run, as in life.
  const enqueuer = producer(store);
  let ids: string[] | null = null;
  const enqueued = enqueueCounts(enqueuer, settings.jobs, 1000).then((accepted) => {
    ids = accepted;
    process.stdout.write(`enqueued ${accepted.length} jobs in ${(elapsed() / 1000).toFixed(1)} s\n`);
  });
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const c = await store.counts();
    samples.push({ atMs: elapsed(), finished: c.completed + c.dlq });
    if (samples.length % 10 === 0) process.stdout.write(`${Math.round(elapsed() / 1000)} s: ${c.completed + c.dlq} finished, ${c.pending + c.retrying} waiting, ${c.running} running\n`);
    if (ids && c.pending + c.running + c.retrying === 0) break;
    if (Date.now() > deadline) {
      process.stdout.write('timed out: the jobs still waiting count as lost\n');
      break;
    }
  }
  await enqueued;
  const elapsedMs = elapsed();
  stopping = true;
  await chaosDone;
  // A worker that would not stop cleanly when told is a finding too.
  if (chaosFailed) throw chaosFailed;
  for (const worker of [...live.keys()]) await stopWorker(worker, '2s');

  const result: SoakResult = {
    settings,
    elapsedMs,
    accounting: account(ids!, await allJobs(store), readRuns(logs), died),
    restarts,
    crashes,
    samples,
  };
  // The producer holds the store open; it closes it when it stops.
  await enqueuer.stop();
  process.stdout.write(`\n${renderReport(result, bucketMs)}\n`);
  if (flags.out) writeFileSync(flags.out, `${JSON.stringify({ ...result, accounting: { ...result.accounting, lost: result.accounting.lost.slice(0, 100) } }, null, 2)}\n`);
  const { lost, unexplained } = result.accounting;
  if (lost.length > 0) process.stdout.write(`lost: ${lost.slice(0, 20).join(', ')}\n`);
  if (unexplained.length > 0) process.stdout.write(`unexplained duplicates: ${unexplained.slice(0, 20).join(', ')}\n`);
  process.exitCode = lost.length > 0 || unexplained.length > 0 || crashes > 0 ? 1 : 0;
} finally {
  stopping = true;
  for (const worker of live.keys()) worker.child.kill('SIGKILL');
  await store.close().catch(() => undefined);
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
}
