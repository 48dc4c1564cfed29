/**
 * The demo: a small workload on the embedded default store (one SQLite file),
 * showing jobs move through the statechart: retries with backoff, a timeout,
 * the DLQ and a replay, a cancel, a scheduled job and priorities. Then it
 * serves the dashboard and keeps a trickle of jobs flowing (some retried,
 * some dead-lettered, a cron schedule) until Ctrl-C.
 *
 *   npm run demo            DISPATCH_DB=path to choose the file, DEMO_PORT=4300 the dashboard's port,
 *                           DEMO_SECONDS=n to stop by itself after n seconds of trickle
 */
import { rm } from 'node:fs/promises';
import { z } from 'zod';
import { backoff, createDispatcher, defineJob, PermanentError, serveAdmin, sqliteStore, type TransitionEvent } from '../src/index.js';

const path = process.env.DISPATCH_DB ?? 'dispatch-demo.db';
const port = Number(process.env.DEMO_PORT ?? 4300);
const seconds = process.env.DEMO_SECONDS === undefined ? null : Number(process.env.DEMO_SECONDS);
await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(path + suffix, { force: true })));

let webhookFixed = false;

const sendEmail = defineJob({
  name: 'send_email',
  input: z.object({ to: z.string().email(), subject: z.string() }),
  queue: 'mail',
  maxRetries: 4,
  backoff: backoff.exponential({ base: '40ms', max: '1s', jitter: 'equal' }),
  handler: async ({ to }, ctx) => {
    await sleep(5);
    // Every fourth address bounces on its first try.
    if (ctx.attempt === 1 && to.startsWith('user3')) throw new Error(`mail server busy for ${to}`);
  },
});

const renderReport = defineJob({
  name: 'render_report',
  input: z.object({ report: z.string(), pages: z.number().int().positive() }),
  handler: async ({ pages }, ctx) => {
    await sleep(pages * 3, ctx.signal);
  },
});

const callWebhook = defineJob({
  name: 'call_webhook',
  input: z.object({ url: z.string().url() }),
  maxRetries: 2,
  backoff: backoff.constant('50ms'),
  handler: async ({ url }) => {
    if (!webhookFixed) throw new Error(`${url} answered 503`);
  },
});

const importFile = defineJob({
  name: 'import_file',
  input: z.object({ file: z.string() }),
  maxRetries: 0,
  timeout: '100ms',
  handler: async ({ file }) => {
    if (file.endsWith('.exe')) throw new PermanentError(`${file} is not a data file`);
    await sleep(400); // ignores its signal: the timeout still frees the slot
  },
});

const dispatcher = createDispatcher({ store: sqliteStore({ path }), concurrency: 8, queues: { mail: { concurrency: 3 } } });
dispatcher.registerAll([sendEmail, renderReport, callWebhook, importFile]);

const shown = new Set(['retrying', 'dlq', 'cancelled']);
const moves = new Map<string, number>();
let scripted = true;
dispatcher.events$.subscribe((e: TransitionEvent) => {
  const key = `${e.from} -> ${e.to}`;
  moves.set(key, (moves.get(key) ?? 0) + 1);
  if (scripted && shown.has(e.to)) console.log(`  job ${e.jobId.padStart(2)} ${e.name.padEnd(13)} ${key.padEnd(22)} ${e.error ? e.error.name + ': ' + e.error.message : ''}`);
});

console.log(`Dispatch demo on SQLite (${path})\n`);
const started = Date.now();
await dispatcher.start();

await dispatcher.enqueueMany(
  sendEmail,
  Array.from({ length: 12 }, (_, i) => ({ to: `user${i % 4}+${i}@example.com`, subject: `Welcome #${i}` })),
);
await dispatcher.enqueueMany(renderReport, [
  { report: 'weekly', pages: 20 },
  { report: 'monthly', pages: 40 },
]);
await dispatcher.enqueueWithPriority(renderReport, { report: 'board-meeting', pages: 10 }, 10);
await dispatcher.enqueueAt(renderReport, { report: 'scheduled', pages: 5 }, new Date(Date.now() + 300));
const hook = await dispatcher.enqueue(callWebhook, { url: 'https://hooks.example.com/orders' });
await dispatcher.enqueue(importFile, { file: 'customers.csv' });
await dispatcher.enqueue(importFile, { file: 'setup.exe' });
const later = await dispatcher.enqueue(renderReport, { report: 'never-mind', pages: 1 }, { delay: '1h' });
await dispatcher.cancel(later.id);

await until(async () => (await dispatcher.getJob(hook.id))?.state === 'dlq');
console.log('\nThe webhook endpoint is fixed; replaying the dead webhook job.');
webhookFixed = true;
await dispatcher.dlq.replay(hook.id);
await until(async () => {
  const c = await dispatcher.counts();
  return c.pending + c.running + c.retrying === 0;
});

const counts = await dispatcher.counts();
const dead = await dispatcher.dlq.list();
console.log(`\nDone in ${Date.now() - started} ms. Transitions seen:`);
for (const [move, n] of [...moves].sort()) console.log(`  ${move.padEnd(24)} ${n}`);
console.log('\nJobs by state:', Object.entries(counts).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', '));
console.log('Still in the DLQ:');
for (const job of dead.jobs) console.log(`  job ${job.id} ${job.name}: ${job.lastError?.name}: ${job.lastError?.message} (attempts ${job.attempt})`);

// The dashboard, and a steady trickle of work to watch move through the chart.
scripted = false;
const admin = await serveAdmin(dispatcher, { port }).catch((error: NodeJS.ErrnoException) => {
  if (error.code !== 'EADDRINUSE') throw error;
  return serveAdmin(dispatcher, { port: 0 }); // the port is taken: any free one
});
await dispatcher.schedule('digest', '*/20 * * * * *', renderReport, { report: 'digest', pages: 30 });
console.log(`\nDashboard: ${admin.url}  (jobs keep flowing; a digest is scheduled every 20 s; Ctrl-C to stop)`);

let n = 0;
const trickle = setInterval(() => {
  n++;
  const work = [
    dispatcher.enqueue(sendEmail, { to: `user${n % 4}+${n}@example.com`, subject: `Update #${n}` }),
    n % 3 === 0 ? dispatcher.enqueue(renderReport, { report: `report-${n}`, pages: 50 + (n % 7) * 40 }, { priority: n % 2 }) : null,
    n % 5 === 0 ? dispatcher.enqueue(importFile, { file: n % 10 === 0 ? `upload-${n}.exe` : `upload-${n}.csv` }) : null,
  ];
  Promise.all(work).catch((error: unknown) => console.error('enqueue failed:', error));
}, 700);
const status = setInterval(async () => {
  const c = await dispatcher.counts().catch(() => null);
  if (c) console.log(`  ${new Date().toLocaleTimeString()}  ${Object.entries(c).map(([s, k]) => `${s} ${k}`).join(', ')}`);
}, 10_000);

let stopping = false;
async function shutdown(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(trickle);
  clearInterval(status);
  console.log('\nStopping: the dashboard, then the jobs still running (2 s grace).');
  await admin.close();
  await dispatcher.stop({ grace: '2s' });
  console.log(`Stopped. The jobs are kept in ${path}; run again to start afresh.`);
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
if (seconds !== null) setTimeout(() => void shutdown(), seconds * 1000);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await sleep(20);
}
