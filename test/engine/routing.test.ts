import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createDispatcher,
  defineJob,
  type Dispatcher,
  type DispatcherOptions,
  InvalidOptionError,
  memoryStore,
  sqliteStore,
  type Store,
} from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { databaseUrl, dropSchema, freshSchema } from '../store/postgres/database.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import { harness } from '../support/harness.js';

/** One backing store, and a way to open it again as another process would (memory: the same store). */
interface Target {
  open: (options?: { pollInterval?: string }) => Store;
  cleanup: () => Promise<void>;
}

const targets: Record<string, () => Target> = {
  memory: () => {
    const store = memoryStore();
    return { open: () => store, cleanup: async () => undefined };
  },
  sqlite: () => {
    const temp = tempDatabase('dispatch-routing-');
    return { open: (o) => sqliteStore({ path: temp.path, ...o }), cleanup: async () => temp.remove() };
  },
  postgres: () => {
    const schema = freshSchema();
    return {
      open: (o) => postgresStore({ connectionString: databaseUrl(), schema, onError: () => undefined, ...o }),
      cleanup: async () => void (await dropSchema(schema)),
    };
  },
};

const input = z.object({ n: z.number() });
/** A definition whose handler notes which worker ran which job. */
const job = (name: string, worker: string, ran: Array<[string, string]>) =>
  defineJob({ name, input, handler: (_input, ctx) => void ran.push([worker, ctx.job.id]) });

describe.each(Object.keys(targets))('routing: %s store', (kind) => {
  let target: Target;
  const stops: Array<() => Promise<void>> = [];

  beforeEach(() => {
    target = targets[kind]!();
  });

  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await target.cleanup();
  });

  /** A dispatcher that knows every job and only enqueues; it is never started. */
  const producer = (...names: string[]) => {
    const d = createDispatcher({ store: target.open() });
    for (const name of names) d.register(job(name, 'producer', []));
    stops.push(() => d.stop());
    return d;
  };

  /** A started worker knowing `names`, recording its events and errors. */
  const worker = async (label: string, names: string[], ran: Array<[string, string]>, options: DispatcherOptions = {}) => {
    const h = harness({ store: target.open(), ...options });
    for (const name of names) h.dispatcher.register(job(name, label, ran));
    stops.push(() => h.dispatcher.stop());
    await h.dispatcher.start();
    return h;
  };

  const enqueue = async (d: Dispatcher, name: string, count: number, queue?: string) => {
    const ids: string[] = [];
    for (let n = 0; n < count; n++) ids.push((await d.enqueue(name, { n }, queue ? { queue } : undefined)).id);
    return ids;
  };

  it('runs each job on the worker that knows it; a job no worker knows waits in pending until one does', async () => {
    const ran: Array<[string, string]> = [];
    const p = producer('a', 'b', 'c');
    const a = await worker('A', ['a'], ran);
    const b = await worker('B', ['b'], ran);
    const ids = { a: await enqueue(p, 'a', 4), b: await enqueue(p, 'b', 4), c: await enqueue(p, 'c', 2) };

    await Promise.all([...ids.a.map((id) => a.reached(id, 'completed')), ...ids.b.map((id) => b.reached(id, 'completed'))]);
    expect(ran.filter(([w]) => w === 'A').map(([, id]) => id).sort()).toEqual([...ids.a].sort());
    expect(ran.filter(([w]) => w === 'B').map(([, id]) => id).sort()).toEqual([...ids.b].sort());
    // Each worker moved only its own jobs, and neither ever touched a `c`.
    expect(new Set(a.events.map((e) => e.name))).toEqual(new Set(['a']));
    expect(new Set(b.events.map((e) => e.name))).toEqual(new Set(['b']));

    // Given time, still untouched: not leased, not tried, not dead.
    await sleep(300);
    for (const id of ids.c) expect(await p.getJob(id)).toMatchObject({ state: 'pending', attempt: 0 });
    expect((await p.dlq.list()).jobs).toEqual([]);

    const c = await worker('C', ['c'], ran);
    for (const id of ids.c) expect(await c.reached(id, 'completed')).toMatchObject({ from: 'running', attempt: 1 });
    expect(ran.filter(([w]) => w === 'C').map(([, id]) => id).sort()).toEqual([...ids.c].sort());
    expect(await p.counts()).toMatchObject({ completed: 10, pending: 0, running: 0, dlq: 0, failed: 0 });
    expect([...a.errors, ...b.errors, ...c.errors]).toEqual([]);
  });

  it('picks up the waiting jobs of a definition a running worker registers later', async () => {
    const ran: Array<[string, string]> = [];
    const p = producer('a', 'late');
    // Polls only hourly: the register itself must wake it.
    const w = await worker('W', ['a'], ran, { store: target.open({ pollInterval: '1h' }) });
    const [id] = await enqueue(p, 'late', 1);
    await sleep(200);
    expect(await p.getJob(id!)).toMatchObject({ state: 'pending', attempt: 0 });
    w.dispatcher.register(job('late', 'W', ran));
    await w.reached(id!, 'completed');
    expect(ran).toEqual([['W', id]]);
  });

  it('leases only from the queues it serves', async () => {
    const ran: Array<[string, string]> = [];
    const p = producer('send');
    const mail = await worker('mail', ['send'], ran, { serve: ['mail'], queues: { other: { concurrency: 5 } } });
    const other = await enqueue(p, 'send', 3, 'other');
    const onMail = await enqueue(p, 'send', 3, 'mail');
    for (const id of onMail) await mail.reached(id, 'completed');
    await sleep(300);
    for (const id of other) expect(await p.getJob(id)).toMatchObject({ state: 'pending', attempt: 0 });
    expect(mail.events.every((e) => e.queue === 'mail')).toBe(true);

    const rest = await worker('rest', ['send'], ran);
    for (const id of other) await rest.reached(id, 'completed');
    expect(ran.filter(([w]) => w === 'mail').map(([, id]) => id).sort()).toEqual([...onMail].sort());
    expect(mail.errors).toEqual([]);
  });

  it('does not spin: a worker that knows none of the waiting jobs, or no job at all, sleeps', async () => {
    const p = producer('a', 'b');
    const store = target.open({ pollInterval: '1h' });
    let leases = 0;
    const lease = store.lease.bind(store);
    store.lease = (request) => {
      leases++;
      return lease(request);
    };
    const idle = harness({ store });
    stops.push(() => idle.dispatcher.stop());
    await idle.dispatcher.start();
    const ids = await enqueue(p, 'a', 5);
    await sleep(300);
    // Knowing no job, it never asked the store.
    expect(leases).toBe(0);
    expect(idle.dispatcher.supervisorActor.getSnapshot().matches({ running: 'waiting' })).toBe(true);

    idle.dispatcher.register(job('b', 'idle', []));
    await sleep(200);
    const settled = leases;
    // Each wake for a job it cannot take costs at most one empty lease; then it sleeps again.
    await enqueue(p, 'a', 3);
    await sleep(300);
    expect(leases - settled).toBeLessThanOrEqual(3);
    const after = leases;
    await sleep(300);
    expect(leases).toBe(after);
    expect(idle.dispatcher.supervisorActor.getSnapshot().matches({ running: 'waiting' })).toBe(true);
    for (const id of ids) expect(await p.getJob(id)).toMatchObject({ state: 'pending', attempt: 0 });
    expect(idle.errors).toEqual([]);
  });
});

describe('the serve option', () => {
  const refusal = (serve: unknown) => {
    try {
      createDispatcher({ serve: serve as string[] });
    } catch (error) {
      return error;
    }
    throw new Error('accepted');
  };

  it.each([
    ['mail', 'serve', 'must be an array of queue names; got string mail'],
    [[], 'serve', 'must name at least one queue (leave it out to serve every queue)'],
    [['mail', ''], 'serve[1]', 'must not be empty'],
    [['mail', 3], 'serve[1]', 'must be a string'],
    [[, 'mail'], 'serve[0]', 'must be a string'],
    [['x'.repeat(201)], 'serve[0]', 'must be at most 200 characters'],
  ])('refuses %j, naming %s', (serve, field, reason) => {
    const error = refusal(serve);
    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(error).toMatchObject({ field, reason });
  });
});
