import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, type Store, sqliteStore, type StoredJob } from '../../src/index.js';
import { postgresStore } from '../../src/postgres.js';
import { type Child, forkReady } from '../support/child-process.js';
import { databaseUrl, dropSchema, freshSchema } from '../store/postgres/database.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';

const script = new URL('./cron-process.ts', import.meta.url).pathname;
const tick = defineJob({ name: 'tick', input: z.object({}), handler: async () => undefined });

interface Place {
  kind: 'sqlite' | 'postgres';
  location: string;
  schema: string;
  open(): Store;
  cleanup(): Promise<void>;
}

function sqlitePlace(): Place {
  const temp = tempDatabase();
  return { kind: 'sqlite', location: temp.path, schema: '-', open: () => sqliteStore({ path: temp.path, dutyExpiry: 500 }), cleanup: async () => temp.remove() };
}

function postgresPlace(): Place {
  const schema = freshSchema();
  return {
    kind: 'postgres',
    location: databaseUrl(),
    schema,
    open: () => postgresStore({ connectionString: databaseUrl(), schema, onError: () => undefined }),
    cleanup: async () => void (await dropSchema(schema)),
  };
}

async function allJobs(store: Store): Promise<StoredJob[]> {
  const jobs: StoredJob[] = [];
  for (const state of ['pending', 'running', 'completed', 'retrying', 'failed', 'dlq', 'cancelled'] as const) {
    jobs.push(...(await store.list({ state, limit: 10_000 })).jobs);
  }
  return jobs;
}

/** Every tick from the first to the last fired has exactly one job: no tick twice, none left out. */
function expectOnePerTick(jobs: readonly StoredJob[], from?: number): void {
  const ticks = jobs.map((j) => j.runAt).sort((a, b) => a - b);
  const first = from ?? ticks[0]!;
  const last = ticks[ticks.length - 1]!;
  const expected = Array.from({ length: (last - first) / 1000 + 1 }, (_, i) => first + i * 1000);
  expect(ticks).toEqual(expected);
}

const fork = (place: Place, mode: string, forMs = 0) => forkReady(script, [place.kind, place.location, place.schema, mode, String(forMs)]);

describe.each([
  ['sqlite', sqlitePlace],
  ['postgres', postgresPlace],
])('cron across real processes on %s', (_, makePlace) => {
  let place: Place;
  const children: Child[] = [];
  const stores: Store[] = [];

  afterEach(async () => {
    for (const { child } of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await place.cleanup();
  });

  const open = async () => {
    const store = place.open();
    stores.push(store);
    await store.open();
    return store;
  };

  it('three processes started together make exactly one job per tick', async () => {
    place = makePlace();
    const started = await Promise.all([0, 1, 2].map(() => fork(place, 'run', 3500)));
    children.push(...started);
    for (const { child } of started) child.send('go');
    for (const { exited, output } of started) {
      const { code } = await exited;
      expect(code, output()).toBe(0);
    }
    const jobs = await allJobs(await open());
    // Three seconds and a half of ticks, whatever the start-up took.
    expect(jobs.length).toBeGreaterThanOrEqual(2);
    expectOnePerTick(jobs);
  }, 30_000);

  it.each(['hold', 'fire'])('a leader killed mid-pass (%s): the next process fires every tick once', async (mode) => {
    place = makePlace();
    const store = await open();
    const producer = createDispatcher({ store }).register(tick);
    // Saved before anyone fires: with catchUp 'all', every tick after this is owed one job.
    const saved = await producer.schedule('every-second', '* * * * * *', tick, {}, { catchUp: 'all' });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const leader = await fork(place, mode);
    children.push(leader);
    const said = new Promise<string>((resolve) => leader.child.once('message', (m) => resolve(String(m))));
    leader.child.send('go');
    const message = await said;
    let firedTick: number | null = null;
    if (mode === 'fire') {
      const [, at, recorded] = message.split(' ');
      expect(recorded).toBe('true');
      firedTick = Number(at);
    } else {
      expect(message).toBe('holding');
    }
    leader.child.kill('SIGKILL');
    await leader.exited;
    // The next leader: a dispatcher that starts after the kill.
    const next = createDispatcher({ store: place.open() }).register(tick);
    stores.push(next.store);
    await next.start();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await next.stop();
    await producer.stop();
    const jobs = await allJobs(await open());
    const firstTick = Math.floor(saved.updatedAt.getTime() / 1000) * 1000 + 1000;
    expectOnePerTick(jobs, firstTick);
    if (firedTick !== null) expect(jobs.filter((j) => j.runAt === firedTick)).toHaveLength(1);
    expect(jobs.length).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
