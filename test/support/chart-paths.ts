/**
 * Model-based tests: paths generated from the job statechart with xstate's
 * graph tools, each replayed against the real engine (dispatchers sharing one
 * store), checking after every step that the stored job is where the chart
 * says it should be.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type AnyMachineSnapshot, createActor } from 'xstate';
import { z } from 'zod';
import { type JobInput, jobMachine } from '../../machines/job.machine.js';
import {
  createDispatcher,
  defineJob,
  type Dispatcher,
  PermanentError,
  type Store,
  type StoredJob,
} from '../../src/index.js';
import { AFTER_BACKOFF, AFTER_TIMEOUT, CHART_EVENTS, type ChartEvent } from '../../src/testing/job-events.js';
import { deferred } from './harness.js';
import { chartTests } from '../../src/testing/chart-tests.js';

const TIMEOUT_MS = 150;
// The check after a FAIL must see `retrying` before the backoff ends and the worker leases the job
// again: 100 ms was outlasted once by a pause of the Postgres run in CI.
const BACKOFF_MS = 300;
const label = (e: ChartEvent) =>
  e.type === 'FAIL' ? (e.retryable ? 'FAIL' : 'FAIL(permanent)') : e.type.replace('xstate.after.', 'after ').replace(/\.job\..*/, '');

/** Two snapshots are one state for the walk when they agree on what the store keeps. */
const serializeState = (s: AnyMachineSnapshot) => `${String(s.value)}|${s.context.attempt}|${s.context.lastError?.name ?? ''}`;

/** The chart's `pending` is stored as pending, or as retrying once its backoff is over. */
function matches(stored: StoredJob, model: AnyMachineSnapshot): boolean {
  const value = String(model.value);
  const stateOk =
    stored.state === value || (value === 'pending' && stored.state === 'retrying' && stored.runAt <= Date.now());
  return (
    stateOk &&
    stored.attempt === model.context.attempt &&
    (stored.lastError?.name ?? null) === (model.context.lastError?.name ?? null)
  );
}

async function until(check: () => Promise<boolean>, what: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never reached: ${await what()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function replay(store: Store, path: ChartEvent[], config: { maxRetries: number; deadLetter: boolean }) {
  let attempt: ReturnType<typeof deferred<void>> | null = null;
  const started: Array<() => void> = [];
  const job = defineJob({
    name: 'model',
    input: z.object({}),
    deadLetter: config.deadLetter,
    backoff: () => BACKOFF_MS,
    handler: async () => {
      attempt = deferred();
      started.shift()?.();
      await attempt.promise;
    },
  });
  // The admin never works; it holds the store open and does what an operator does.
  const admin = createDispatcher({ store }).register(job);
  let worker: Dispatcher | null = null;
  // With a unique key, so REPLACE is an enqueue with the same key.
  const enqueue = (onConflict: 'ignore' | 'replace') => admin.enqueue(job, {}, { maxRetries: config.maxRetries, timeout: TIMEOUT_MS, key: 'model', onConflict });
  const { id } = await enqueue('ignore');

  const model = createActor(jobMachine, {
    input: { id, name: 'model', queue: 'default', attempt: 0, maxRetries: config.maxRetries, timeoutMs: TIMEOUT_MS, deadLetter: config.deadLetter },
  }).start();
  const seen: string[] = [];

  for (let i = 0; i < path.length; i++) {
    const event = path[i]!;
    const before = String(model.getSnapshot().value);
    seen.push(label(event));
    switch (event.type) {
      case 'LEASE':
        if (path[i + 1]?.type === 'LEASE_EXPIRED') {
          // A worker that takes the job and dies: its lease runs out unextended.
          await store.lease({ limit: 1, queueRoom: {}, leaseMs: 1, names: [job.name] });
        } else {
          const running = new Promise<void>((resolve) => started.push(resolve));
          worker = createDispatcher({ store, concurrency: 1 }).register(job);
          await worker.start();
          await running;
        }
        break;
      case 'SUCCEED':
        attempt!.resolve();
        break;
      case 'FAIL':
        attempt!.reject(event.retryable ? new Error('boom') : new PermanentError('no'));
        break;
      case AFTER_TIMEOUT:
        break; // the engine's own timer fires
      case AFTER_BACKOFF:
        await new Promise((r) => setTimeout(r, BACKOFF_MS + 10));
        break;
      case 'CANCEL':
        await (before === 'running' ? worker! : admin).cancel(id);
        break;
      case 'ABANDON':
        await worker!.stop({ grace: 0 });
        worker = null;
        break;
      case 'LEASE_EXPIRED':
        await new Promise((r) => setTimeout(r, 5));
        expect(await admin.reap()).toBe(1);
        break;
      case 'REPLAY':
        await admin.dlq.replay(id);
        break;
      case 'REPLACE': {
        const replaced = await enqueue('replace');
        expect(replaced).toMatchObject({ id, duplicate: true });
        break;
      }
    }
    model.send(event as never);
    const expected = model.getSnapshot();
    await until(
      async () => matches((await store.get(id))!, expected),
      async () => {
        const s = await store.get(id);
        return `${seen.join(' > ')}: chart says ${String(expected.value)} (attempt ${expected.context.attempt}), store has ${s?.state} (attempt ${s?.attempt}, error ${s?.lastError?.name})`;
      },
    );
    if (String(expected.value) !== 'running' && worker) {
      await worker.stop({ grace: 0 });
      worker = null;
    }
  }
  await worker?.stop({ grace: 0 });
  await admin.stop();
}

/**
 * Replays every transition of the job chart against the engine on the stores
 * `makeStore` gives (a fresh, empty, unopened store per path).
 */
export function describeChartPaths(kind: string, makeStore: () => Promise<Store>, cleanup?: () => Promise<void>): void {
  if (cleanup) afterAll(cleanup);
  describe.each([
    { maxRetries: 1, deadLetter: true },
    { maxRetries: 0, deadLetter: false },
  ])(`${kind}: the engine follows every transition of the job chart (maxRetries $maxRetries, deadLetter $deadLetter)`, (config) => {
    const input: JobInput = { id: 'm', name: 'model', queue: 'default', attempt: 0, maxRetries: config.maxRetries, timeoutMs: TIMEOUT_MS, deadLetter: config.deadLetter };
    // Every transition of the chart, through the generator the package ships (dispatch-ts/testing).
    const paths = chartTests(jobMachine, { name: 'paths', events: CHART_EVENTS, input, serializeState, label }, async (path) => {
      await replay(await makeStore(), path.events, config);
    });

    it('keeps a job of a paused queue pending, with no LEASE, until the queue is resumed', async () => {
      const store = await makeStore();
      const job = defineJob({ name: 'model', input: z.object({}), deadLetter: config.deadLetter, handler: () => undefined });
      const admin = createDispatcher({ store }).register(job);
      const worker = createDispatcher({ store, concurrency: 1 }).register(job);
      const steps: string[] = [];
      worker.events$.subscribe((e) => steps.push(`${e.from} -${e.event}-> ${e.to}`));
      try {
        await admin.queues.pause('default');
        const { id } = await admin.enqueue(job, {}, { maxRetries: config.maxRetries });
        await worker.start();
        await new Promise((r) => setTimeout(r, 200));
        // Pausing is no state of the chart: the job is where enqueue left it.
        expect(await store.get(id)).toMatchObject({ state: 'pending', attempt: 0, leaseToken: null });
        expect(steps).toEqual([]);
        await admin.queues.resume('default');
        expect((await worker.waitFor(id, { timeout: '3s' })).state).toBe('completed');
        // waitFor hears the stored rest, which can come before the worker reports its step.
        await until(async () => steps.length >= 2, async () => `the worker reporting the SUCCEED step (steps: ${steps.join(', ')})`);
        expect(steps).toEqual(['pending -LEASE-> running', 'running -SUCCEED-> completed']);
      } finally {
        await worker.stop({ grace: 0 });
        await admin.stop();
      }
    });

    it('covers every event the chart accepts', () => {
      const covered = new Set(paths.map((p) => label(p.events.at(-1)!)));
      const expected = ['LEASE', 'SUCCEED', 'FAIL', 'FAIL(permanent)', 'CANCEL', 'ABANDON', 'LEASE_EXPIRED', 'REPLAY', 'REPLACE', 'after timeout'];
      if (config.deadLetter) expected.push('after backoff');
      expect([...covered].sort()).toEqual(expected.sort());
    });
  });
}
