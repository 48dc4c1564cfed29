import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Dispatcher, sqliteStore, type Store } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { type Child, forkReady } from '../support/child-process.js';
import { databaseUrl, dropSchema, freshSchema } from '../store/postgres/database.js';
import { maxInWindow, maxOverlap, type Span } from './queues/spans.js';
import type { QueueWorkerSettings } from './queues/worker.js';

const script = fileURLToPath(new URL('./queues/worker.ts', import.meta.url));
const work = defineJob({ name: 'work', input: z.object({ n: z.number() }), handler: () => undefined });

interface Target {
  kind: 'sqlite' | 'postgres';
  where: string;
  schema: string;
  store: () => Store;
  cleanup: () => Promise<void>;
}

const targets: Record<string, () => Target> = {
  sqlite: () => {
    const dir = mkdtempSync(join(tmpdir(), 'dispatch-queue-processes-'));
    const path = join(dir, 'jobs.db');
    return { kind: 'sqlite', where: path, schema: '-', store: () => sqliteStore({ path }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  },
  postgres: () => {
    const schema = freshSchema();
    return {
      kind: 'postgres',
      where: databaseUrl(),
      schema,
      store: () => postgresStore({ connectionString: databaseUrl(), schema }),
      cleanup: async () => void (await dropSchema(schema)),
    };
  },
};

/** Each job's handler run, from the workers' logs. */
function spansIn(logs: readonly string[]): Span[] {
  const spans = new Map<string, Span>();
  for (const log of logs) {
    for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
      const [what, id, at] = line.split(' ') as [string, string, string];
      const span = spans.get(id) ?? { id, start: NaN, end: NaN };
      if (what === 'start') span.start = Number(at);
      else span.end = Number(at);
      spans.set(id, span);
    }
  }
  return [...spans.values()];
}

describe.each(Object.keys(targets))('queue limits across processes: %s', (name) => {
  let target: Target;
  let client: Dispatcher;
  const children: Child[] = [];

  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.child.send('stop');
      await child.exited;
    }
    await client?.stop();
    await target.cleanup();
  });

  async function setUp(
    jobs: number,
    settings: QueueWorkerSettings,
    configure: (d: Dispatcher) => Promise<unknown>,
    processes = 2,
    beforeDone: (logs: string[]) => Promise<void> = async () => undefined,
  ): Promise<string[]> {
    target = targets[name]!();
    // A process that runs no worker sets the limits and enqueues.
    client = createDispatcher({ store: target.store() }).register(work);
    await configure(client);
    const dir = mkdtempSync(join(tmpdir(), 'dispatch-queue-logs-'));
    const logs = Array.from({ length: processes }, (_, i) => join(dir, `${i}.log`));
    // Both workers run before the jobs come, so both are woken by the enqueue and take part.
    for (const log of logs) children.push(await forkReady(script, [target.kind, target.where, target.schema, log, JSON.stringify(settings)]));
    await client.enqueueMany(work, Array.from({ length: jobs }, (_, n) => ({ n })), { queue: 'q' });
    await beforeDone(logs);
    const deadline = Date.now() + 60_000;
    while ((await client.counts()).completed < jobs) {
      if (Date.now() > deadline) throw new Error(`not all jobs completed:\n${children.map((c) => c.output()).join('\n')}`);
      await sleep(50);
    }
    return logs;
  }

  it('never runs more than the queue’s concurrency at once, whatever each process could run', async () => {
    const logs = await setUp(16, { concurrency: 5, workMs: 60 }, (d) => d.queues.configure('q', { concurrency: 2 }));
    const spans = spansIn(logs);
    expect(spans).toHaveLength(16);
    expect(maxOverlap(spans)).toBe(2);
  });

  it('holds the cap when three processes, each allowed one job of the queue, could run three', async () => {
    const logs = await setUp(12, { concurrency: 5, workMs: 60, queues: { q: { concurrency: 1 } } }, (d) => d.queues.configure('q', { concurrency: 2 }), 3);
    const spans = spansIn(logs);
    expect(spans).toHaveLength(12);
    // Two at once means two processes at once: each runs one at most.
    expect(maxOverlap(spans)).toBe(2);
    for (const log of logs) expect(maxOverlap(spansIn([log]))).toBeLessThanOrEqual(1);
  });

  it('leases nothing of a paused queue in any process, and a resume wakes them at once', async () => {
    let resumedAt = 0;
    const logs = await setUp(4, { concurrency: 5, workMs: 5, pollInterval: '20s' }, (d) => d.queues.pause('q'), 2, async (logs) => {
      await sleep(500);
      expect((await client.counts()).pending).toBe(4);
      expect(spansIn(logs)).toEqual([]);
      resumedAt = Date.now();
      await client.queues.resume('q');
    });
    const first = Math.min(...spansIn(logs).map((s) => s.start));
    // Woken by the resume: their poll is 20 s away.
    expect(first - resumedAt).toBeLessThan(3000);
  });

  it('never starts more than the rate limit allows in any window, across processes', async () => {
    const perMs = 1000;
    const logs = await setUp(12, { concurrency: 5, workMs: 5 }, (d) => d.queues.configure('q', { rateLimit: { max: 4, per: perMs } }));
    const spans = spansIn(logs);
    expect(spans).toHaveLength(12);
    // The limit counts leases; a handler starts a moment after its lease, later on a busy machine: a
    // window shorter by that slack must hold no more (with no limit, all twelve start within it).
    expect(maxInWindow(spans.map((s) => s.start), perMs - 300)).toBeLessThanOrEqual(4);
    // The limit paces the work rather than stopping it: twelve starts need three windows. The same
    // slack: the first handlers start later after their lease (a process's first jobs) than the last,
    // which are taken as their window opens (without a limit, all twelve start within a few ms).
    const starts = spans.map((s) => s.start).sort((a, b) => a - b);
    expect(starts[11]! - starts[0]!).toBeGreaterThanOrEqual(2 * perMs - 300);
  });
});
