import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  createDispatcher,
  defineJob,
  type LeaseResult,
  memoryStore,
  type SqliteStore,
  sqliteStore,
  type Store,
  StoreConfigError,
  StoreError,
} from '../../src/index.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/sqlite/migrations.js';
import { SQL } from '../../src/store/sqlite/queries.js';
import { newJob } from '../../src/testing/store-jobs.js';
import { deferred } from '../support/harness.js';
import { spawnScript } from './sqlite/processes.js';
import { until } from '../support/until.js';
import { sqliteFileFixture } from './sqlite/file-fixture.js';
import { tempDatabase } from './sqlite/temp-file.js';

const fixture = sqliteFileFixture();
const { openStore, rawConnection, opened, children } = fixture;

afterEach(() => {
  vi.restoreAllMocks();
});

function configError(run: () => unknown): StoreConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreConfigError);
    return error as StoreConfigError;
  }
  throw new Error('expected a StoreConfigError');
}

describe('sqlite store options', () => {
  it.each([
    ['no options', () => undefined, 'options', /object/],
    ['no path', () => ({}), 'path', /required/],
    ['a path that is not a string', () => ({ path: 42 }), 'path', /string/],
    ['an empty path', () => ({ path: '' }), 'path', /empty/],
    ['an in-memory database', () => ({ path: ':memory:' }), 'path', /memoryStore/],
    ['a directory', () => ({ path: fixture.temp.dir }), 'path', /is a directory/],
    ['a folder that does not exist', () => ({ path: join(fixture.temp.dir, 'missing', 'jobs.db') }), 'path', /does not exist/],
    ['a path under a file', () => ({ path: join(fixture.temp.path, 'jobs.db') }), 'path', /not a folder/],
    ['an unknown synchronous level', () => ({ path: fixture.temp.path, synchronous: 'off' }), 'synchronous', /'full' or 'normal'/],
    ['a negative busyTimeout', () => ({ path: fixture.temp.path, busyTimeout: -1 }), 'busyTimeout', /must not be negative/],
    ['a busyTimeout that is no duration', () => ({ path: fixture.temp.path, busyTimeout: 'soon' }), 'busyTimeout', /not a duration/],
    ['a zero pollInterval', () => ({ path: fixture.temp.path, pollInterval: 0 }), 'pollInterval', /at least 1 ms/],
    ['a dutyExpiry too short to renew', () => ({ path: fixture.temp.path, dutyExpiry: 50 }), 'dutyExpiry', /at least 100 ms/],
    ['a misspelt option', () => ({ path: fixture.temp.path, pollIntervall: 100 }), 'pollIntervall', /not an option/],
  ])('refuses %s, naming the field', (_, options, field, reason) => {
    // The file a path under it points into must exist for that case to mean what it says.
    writeFileSync(fixture.temp.path, '');
    const error = configError(() => sqliteStore(options() as never));
    expect(error.field).toBe(field);
    expect(error.reason).toMatch(reason);
  });

  it('refuses at open a file that is not a SQLite database', async () => {
    writeFileSync(fixture.temp.path, 'just some text, long enough to fill the header of a database file....');
    const store = sqliteStore({ path: fixture.temp.path });
    const error = await store.open().then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StoreConfigError);
    expect(error).toMatchObject({ field: 'path', reason: expect.stringMatching(/not a SQLite database/) });
  });

  it('sleeps at most pollInterval, since other processes cannot wake it', () => {
    expect(sqliteStore({ path: fixture.temp.path }).maxSleepMs).toBe(250);
    expect(sqliteStore({ path: fixture.temp.path, pollInterval: '1s' }).maxSleepMs).toBe(1000);
    expect(sqliteStore({ path: fixture.temp.path }).kind).toBe('sqlite');
  });

  it('refuses a client to enqueue through', async () => {
    const store = await openStore();
    const error = await store.insert([newJob()], { client: {} }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(StoreConfigError);
    expect((error as StoreConfigError).field).toBe('client');
  });

  it('answers a StoreError before open and after close', async () => {
    const store = sqliteStore({ path: fixture.temp.path });
    await expect(store.get('1')).rejects.toThrow(StoreError);
    await store.open();
    await store.close();
    await expect(store.lease({ limit: 1, queueRoom: {}, leaseMs: 1000, names: ['job'] })).rejects.toThrow(/not open/);
  });
});

describe('sqlite store file and schema', () => {
  it('puts the file in WAL mode with the synchronous level asked for', async () => {
    const pragma = vi.spyOn(Database.prototype, 'pragma');
    await openStore();
    expect(pragma).toHaveBeenCalledWith('synchronous = FULL');
    const normal = sqliteStore({ path: join(fixture.temp.dir, 'normal.db'), synchronous: 'normal' });
    await normal.open();
    opened.push(normal);
    expect(pragma).toHaveBeenCalledWith('synchronous = NORMAL');
    expect(rawConnection().pragma('journal_mode', { simple: true })).toBe('wal');
  });

  it('records each migration once, however often the file is opened', async () => {
    const first = await openStore();
    const [job] = await first.insert([newJob({ input: { kept: true } })]);
    await first.close();
    await first.open();
    const second = await openStore();
    expect(await second.get(job!.id)).toMatchObject({ input: { kept: true } });
    const rows = rawConnection().prepare('SELECT version, name FROM dispatch_migrations ORDER BY version').all();
    expect(rows).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
    // Versions rise; gaps are allowed (a version is taken by the change that needs it).
    expect(MIGRATIONS.map((m) => m.version)).toEqual([...MIGRATIONS.map((m) => m.version)].sort((a, b) => a - b));
    expect(SCHEMA_VERSION).toBe(MIGRATIONS[MIGRATIONS.length - 1]!.version);
  });

  it('brings a file made by the first version up to date, keeping its jobs and leasing them by name', async () => {
    const db = rawConnection();
    db.exec(`CREATE TABLE dispatch_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
    db.exec(MIGRATIONS[0]!.sql);
    db.prepare('INSERT INTO dispatch_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(1, MIGRATIONS[0]!.name, Date.now());
    const insert = db.prepare(
      `INSERT INTO dispatch_jobs (name, queue, state, input, priority, run_at, attempt, max_retries, timeout_ms, created_at, updated_at) VALUES (?, 'default', 'pending', '{}', 0, 0, 0, 3, 1000, 0, 0)`,
    );
    for (const name of ['old', 'other', 'old']) insert.run(name);
    const store = await openStore();
    expect(db.prepare('SELECT max(version) AS v FROM dispatch_migrations').get()).toEqual({ v: SCHEMA_VERSION });
    const columns = db.prepare(`SELECT name FROM pragma_index_info('dispatch_jobs_leasable')`).all();
    expect(columns).toEqual([{ name: 'priority' }, { name: 'queue' }, { name: 'name' }, { name: 'run_at' }]);
    const { jobs } = await store.lease({ limit: 10, queueRoom: {}, leaseMs: 30_000, names: ['old'] });
    expect(jobs.map((j) => [j.id, j.name])).toEqual([
      ['1', 'old'],
      ['3', 'old'],
    ]);
  });

  it('lets several processes open and migrate one new file at once', async () => {
    const at = Date.now() + 2500;
    const children = Array.from({ length: 4 }, () => spawnScript('open-at-once.ts', [fixture.temp.path, String(at)]));
    for (const child of children) expect(await child.exited, child.output()).toBe(0);
    const db = rawConnection();
    expect(db.prepare('SELECT version FROM dispatch_migrations').all()).toEqual(MIGRATIONS.map(({ version }) => ({ version })));
    expect(db.prepare(`SELECT count(*) AS n FROM dispatch_jobs WHERE name = 'opened'`).get()).toEqual({ n: 4 });
  }, 30_000);

  it('refuses a file migrated by a newer version of the package', async () => {
    const store = await openStore();
    await store.close();
    rawConnection().prepare('INSERT INTO dispatch_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(SCHEMA_VERSION + 1, 'future', Date.now());
    await expect(store.open()).rejects.toThrow(StoreError);
    await expect(store.open()).rejects.toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 1}`));
  });

  it('keeps times as integer milliseconds and the input and last error as JSON text', async () => {
    const store = await openStore();
    const input = { to: 'a@b.c', n: [1, 2.5, null] };
    await store.insert([newJob({ input, runAt: 1_700_000_000_123 })]);
    const [job] = (await store.lease({ limit: 1, queueRoom: {}, leaseMs: 30_000, names: ['job'] })).jobs;
    const error = { name: 'Error', message: 'boom', stack: 'at line 1' };
    await store.write([{ id: job!.id, from: 'running', to: 'dlq', token: job!.leaseToken, lastError: error }]);
    const row = rawConnection()
      .prepare(
        `SELECT input, last_error, typeof(run_at) AS runAt, typeof(created_at) AS createdAt, typeof(updated_at) AS updatedAt, run_at FROM dispatch_jobs WHERE id = ?`,
      )
      .get(Number(job!.id));
    expect(row).toEqual({
      input: JSON.stringify(input),
      last_error: JSON.stringify(error),
      runAt: 'integer',
      createdAt: 'integer',
      updatedAt: 'integer',
      run_at: 1_700_000_000_123,
    });
  });

  it('never gives an id twice, even after the newest job is purged', async () => {
    const store = await openStore();
    const first = await store.insert([newJob(), newJob()]);
    const { jobs } = await store.lease({ limit: 2, queueRoom: {}, leaseMs: 30_000, names: ['job'] });
    await store.write(jobs.map((j) => ({ id: j.id, from: 'running' as const, to: 'dlq' as const, token: j.leaseToken })));
    expect(await store.purge('dlq', Date.now() + 1000)).toBe(2);
    const [next] = await store.insert([newJob()]);
    expect(Number(next!.id)).toBeGreaterThan(Math.max(...first.map((j) => Number(j.id))));
  });

  it('finds nothing under an id it never gave out, even one SQLite would read as a number', async () => {
    const store = await openStore();
    const [job] = await store.insert([newJob()]);
    expect(job!.id).toBe('1');
    for (const id of ['1.0', ' 1', '01', '1e0', '0x1', 'one', '']) {
      expect(await store.get(id), id).toBeNull();
      expect(await store.write([{ id, from: 'pending', to: 'cancelled' }]), id).toEqual([false]);
    }
    expect(await store.extend([{ id: '1.0', token: 'x' }], 1000)).toEqual([false]);
    await expect(store.list({ state: 'pending', limit: 5, cursor: 'page-2' })).rejects.toThrow(StoreConfigError);
    expect((await store.get('1'))!.state).toBe('pending');
  });
});

describe('sqlite store leasing and locking', () => {
  it('runs every leasing and reaping query through its index, with no sort and no table scan', async () => {
    await openStore();
    const db = rawConnection();
    const plan = (sql: string) => {
      const named = [...sql.matchAll(/@(\w+)/g)].map((m) => m[1]!);
      const args = named.length > 0 ? [Object.fromEntries(named.map((n) => [n, 1]))] : Array((sql.match(/\?/g) ?? []).length).fill(1);
      return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join(' / ');
    };
    const expected: Array<[keyof typeof SQL, string]> = [
      ['firstLane', 'USING INDEX dispatch_jobs_leasable'],
      ['nextName', 'USING INDEX dispatch_jobs_leasable (priority=? AND queue=? AND name>?)'],
      ['nextQueue', 'USING INDEX dispatch_jobs_leasable (priority=? AND queue>?)'],
      ['nextPriority', 'USING INDEX dispatch_jobs_leasable (priority<?)'],
      ['dueInLane', 'USING INDEX dispatch_jobs_leasable (priority=? AND queue=? AND name=? AND run_at<?)'],
      ['firstLaterInLane', 'USING INDEX dispatch_jobs_leasable (priority=? AND queue=? AND name=? AND run_at>?)'],
      ['take', 'USING INTEGER PRIMARY KEY (rowid=?)'],
      ['write', 'USING INTEGER PRIMARY KEY (rowid=?)'],
      ['extend', 'USING INTEGER PRIMARY KEY (rowid=?)'],
      ['expired', 'USING INDEX dispatch_jobs_lease_deadline (lease_expires_at<?)'],
      ['list', 'USING INDEX dispatch_jobs_state (state=? AND rowid>?)'],
    ];
    for (const [name, index] of expected) {
      const detail = plan(SQL[name]);
      expect(detail, name).toContain(index);
      expect(detail, name).not.toContain('TEMP B-TREE');
    }
  });

  it('leases as the memory store does, whatever the mix of names and queues asked for, priorities, due times, caps and retries', async () => {
    const job = fc.record({
      priority: fc.integer({ min: 0, max: 3 }),
      queue: fc.constantFrom('a', 'b', 'c'),
      name: fc.constantFrom('x', 'y', 'z'),
      // Well clear of now either way, so the clock moving during a run changes nothing.
      runAtOffset: fc.oneof(fc.integer({ min: -100_000, max: -1000 }), fc.integer({ min: 60_000, max: 100_000 })),
    });
    const room = fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined });
    const step = fc.oneof(
      fc.record({
        kind: fc.constant('lease' as const),
        limit: fc.integer({ min: 0, max: 12 }),
        a: room,
        b: room,
        names: fc.subarray(['x', 'y', 'z']),
        queues: fc.option(fc.subarray(['a', 'b', 'c'], { minLength: 1 }), { nil: undefined }),
      }),
      fc.record({ kind: fc.constant('retry' as const), pick: fc.nat(), runAtOffset: job.map((j) => j.runAtOffset) }),
      fc.record({ kind: fc.constant('enqueue' as const), job }),
    );
    const summary = (r: LeaseResult) => ({
      jobs: r.jobs.map((j) => ({ id: j.id, name: j.name, queue: j.queue, priority: j.priority, runAt: j.runAt, attempt: j.attempt, leasedFrom: j.leasedFrom })),
      nextRunAt: r.nextRunAt,
    });

    await fc.assert(
      fc.asyncProperty(fc.array(job, { maxLength: 30 }), fc.array(step, { minLength: 1, maxLength: 8 }), async (initial, steps) => {
        const file = tempDatabase();
        const sqlite = sqliteStore({ path: file.path });
        const memory = memoryStore();
        await sqlite.open();
        try {
          const now = Date.now();
          const enqueue = async (specs: typeof initial) => {
            const jobs = specs.map((s) => newJob({ priority: s.priority, queue: s.queue, name: s.name, runAt: now + s.runAtOffset }));
            const [a, b] = await Promise.all([sqlite.insert(jobs), memory.insert(jobs)]);
            expect(a.map((j) => j.id)).toEqual(b.map((j) => j.id));
          };
          await enqueue(initial);
          // Running jobs with each store's own lease token.
          const running: Array<{ id: string; tokens: [string, string] }> = [];
          for (const s of steps) {
            if (s.kind === 'enqueue') await enqueue([s.job]);
            if (s.kind === 'lease') {
              const queueRoom: Record<string, number> = {};
              if (s.a !== undefined) queueRoom.a = s.a;
              if (s.b !== undefined) queueRoom.b = s.b;
              const request = { limit: s.limit, queueRoom, leaseMs: 30_000, names: s.names, ...(s.queues ? { queues: s.queues } : {}) };
              const a = await sqlite.lease(request);
              const b = await memory.lease(request);
              expect(summary(a)).toEqual(summary(b));
              a.jobs.forEach((j, i) => running.push({ id: j.id, tokens: [j.leaseToken!, b.jobs[i]!.leaseToken!] }));
            }
            if (s.kind === 'retry' && running.length > 0) {
              const [{ id, tokens }] = running.splice(s.pick % running.length, 1) as [(typeof running)[number]];
              const write = { id, from: 'running' as const, to: 'retrying' as const, runAt: now + s.runAtOffset };
              expect(await sqlite.write([{ ...write, token: tokens[0] }])).toEqual([true]);
              expect(await memory.write([{ ...write, token: tokens[1] }])).toEqual([true]);
            }
          }
          expect(await sqlite.counts()).toEqual(await memory.counts());
        } finally {
          await sqlite.close();
          file.remove();
        }
      }),
      { numRuns: 60 },
    );
  }, 60_000);

  it('waits for another connection holding the write lock without blocking the event loop, then writes', async () => {
    const store = await openStore({ busyTimeout: '5s' });
    const other = rawConnection();
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    setTimeout(() => other.exec('COMMIT'), 150);
    try {
      const [job] = await store.insert([newJob({ input: 'after the lock' })]);
      expect(ticks).toBeGreaterThan(0);
      expect(await store.get(job!.id)).toMatchObject({ input: 'after the lock' });
    } finally {
      clearInterval(ticker);
    }
  });

  it('gives up with a StoreError carrying the cause once busyTimeout has passed', async () => {
    const store = await openStore({ busyTimeout: 100 });
    const other = rawConnection();
    other.exec('BEGIN IMMEDIATE');
    const error = await store.insert([newJob()]).then(() => null, (e: unknown) => e);
    other.exec('COMMIT');
    expect(error).toBeInstanceOf(StoreError);
    expect((error as StoreError).message).toMatch(/busyTimeout \(100 ms\)/);
    expect(((error as StoreError).cause as { code: string }).code).toMatch(/^SQLITE_BUSY/);
    expect((await store.counts()).pending).toBe(0);
  });

  it('shares jobs between two connections to one file and never leases one job to both', async () => {
    const a = await openStore();
    const b = await openStore();
    await a.insert(Array.from({ length: 20 }, (_, i) => newJob({ input: i })));
    const request = { limit: 7, queueRoom: {}, leaseMs: 30_000, names: ['job'] };
    const leased = await Promise.all([a.lease(request), b.lease(request), a.lease(request), b.lease(request)]);
    const ids = leased.flatMap((r) => r.jobs.map((j) => j.id));
    expect(ids).toHaveLength(20);
    expect(new Set(ids).size).toBe(20);
    const taken = leased[0]!.jobs[0]!;
    expect(await b.get(taken.id)).toMatchObject({ state: 'running', leaseToken: taken.leaseToken });
    expect(await b.write([{ id: taken.id, from: 'running', to: 'completed', token: taken.leaseToken }])).toEqual([true]);
    expect((await a.get(taken.id))!.state).toBe('completed');
  });
});

describe('sqlite store wake-ups within one process', () => {
  it('tells subscribers of inserts (earliest runAt) and of jobs put back where a lease takes them, until they unsubscribe', async () => {
    const store = await openStore();
    const heard: number[] = [];
    const unsubscribe = store.subscribe((runAt) => heard.push(runAt));
    await store.insert([newJob({ runAt: 5000 }), newJob({ runAt: 3000 }), newJob({ runAt: 4000 })]);
    const [job] = (await store.lease({ limit: 1, queueRoom: {}, leaseMs: 30_000, names: ['job'] })).jobs;
    await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: job!.leaseToken, runAt: 7000 }]);
    // A retrying job is leased once its backoff is over: the chart's `after backoff` leads to pending.
    expect(heard).toEqual([3000, 7000]);
    await store.write([{ id: job!.id, from: 'retrying', to: 'pending', runAt: 6000 }]);
    expect(heard).toEqual([3000, 7000, 6000]);
    unsubscribe();
    await store.insert([newJob()]);
    expect(heard).toEqual([3000, 7000, 6000]);
  });

  it('lets a worker start a job enqueued by another dispatcher sharing its store without waiting for the poll', async () => {
    const store = sqliteStore({ path: fixture.temp.path, pollInterval: '1h' });
    const ran = deferred<string>();
    const job = defineJob({ name: 'ping', input: z.object({ n: z.number() }), handler: (_input, ctx) => ran.resolve(ctx.job.id) });
    const worker = createDispatcher({ store }).register(job);
    const producer = createDispatcher({ store }).register(job);
    await worker.start();
    try {
      // Long enough for the worker's first lease to find nothing and put it to sleep for the poll.
      await sleep(100);
      const record = await producer.enqueue(job, { n: 1 });
      expect(await ran.promise).toBe(record.id);
    } finally {
      await producer.stop();
      await worker.stop();
    }
  });
});

describe('sqlite store wake-ups across processes', () => {
  it('tells subscribers of enqueues made through another connection, and of nothing else that connection does', async () => {
    const listener = await openStore({ pollInterval: '1h' });
    const other = await openStore();
    const heard: number[] = [];
    listener.subscribe((runAt) => heard.push(runAt));
    await other.insert([newJob({ runAt: 5000 }), newJob({ runAt: 3000 })]);
    await until(() => heard.length > 0, 'the enqueue to be heard', 5000, 10);
    expect(heard).toEqual([3000]);

    // Leases and outcome writes by the other connection wake nobody; the listener's own enqueue is told once.
    const [job] = (await other.lease({ limit: 1, queueRoom: {}, leaseMs: 30_000, names: ['job'] })).jobs;
    await other.write([{ id: job!.id, from: 'running', to: 'completed', token: job!.leaseToken }]);
    await listener.insert([newJob({ runAt: 7000 })]);
    await sleep(300);
    expect(heard).toEqual([3000, 7000]);
  });

  it('watches the file only while a worker or a waiter here listens, telling of nothing committed before', async () => {
    const listener = await openStore({ pollInterval: '1h' });
    const other = await openStore();
    const watching = () => (listener as unknown as { foreign: { watching: boolean } }).foreign.watching;
    expect(watching()).toBe(false);
    await other.insert([newJob({ runAt: 1000 })]);
    await listener.insert([newJob({ runAt: 1500 })]);

    const heard: number[] = [];
    const unsubscribe = listener.subscribe((runAt) => heard.push(runAt));
    expect(watching()).toBe(true);
    await other.insert([newJob({ runAt: 2000 })]);
    await until(() => heard.length > 0, 'the enqueue to be heard', 5000, 10);
    expect(heard).toEqual([2000]);
    unsubscribe();
    expect(watching()).toBe(false);

    // A waiter listens as a worker does: another connection's completion reaches it.
    const [job] = (await other.lease({ limit: 1, queueRoom: {}, leaseMs: 30_000, names: ['job'] })).jobs;
    let rested = false;
    const unwatch = await listener.watchRest(job!.id, () => (rested = true));
    expect(watching()).toBe(true);
    await other.write([{ id: job!.id, from: 'running', to: 'completed', token: job!.leaseToken }]);
    await until(() => rested, 'the completion to be heard', 5000, 10);
    unwatch();
    expect(watching()).toBe(false);
    expect(heard).toEqual([2000]);
  });

  it('starts a job enqueued by another process at once, not after the poll', async () => {
    const ran = deferred<number>();
    const mark = defineJob({ name: 'mark', input: z.object({ batch: z.number(), i: z.number() }), handler: () => ran.resolve(Date.now()) });
    const worker = createDispatcher({ store: sqliteStore({ path: fixture.temp.path, pollInterval: '1h' }) }).register(mark);
    await worker.start();
    try {
      // The worker's first lease finds nothing, and it goes to sleep for the hour-long poll.
      await sleep(100);
      const enqueuer = spawnScript('enqueuer.ts', [fixture.temp.path]);
      children.push(enqueuer);
      let resolvedAt: number | null = null;
      enqueuer.stdout!.once('data', () => (resolvedAt = Date.now()));
      let ranAt: number | null = null;
      void ran.promise.then((at) => (ranAt = at));
      await until(() => resolvedAt !== null && ranAt !== null, 'the enqueued job to start', 10_000, 5);
      // Within a second, with room for a busy machine: the poll alone would take an hour.
      expect(ranAt! - resolvedAt!).toBeLessThan(1000);
    } finally {
      await worker.stop({ grace: 0 });
    }
  }, 30_000);
});

describe('the engine on a file shared by several workers', () => {
  it('keeps its own newer lease on a job when its reaper acts on a stale expired row of that job', async () => {
    const store = await openStore();
    const [job] = await store.insert([newJob({ name: 'hold' })]);
    // Another worker's lease on the job runs out; this worker's reaper reads the expired row...
    const [first] = (await store.lease({ limit: 1, queueRoom: {}, leaseMs: 1, names: ['hold'] })).jobs;
    await sleep(5);
    const [stale] = await store.expired(10);
    expect(stale).toMatchObject({ id: job!.id, leaseToken: first!.leaseToken });
    // ...but a third worker's reaper returns the job to the queue first, and this worker leases it afresh.
    expect(await store.write([{ id: job!.id, from: 'running', to: 'pending', token: first!.leaseToken }])).toEqual([true]);

    const started = deferred();
    const release = deferred();
    let runs = 0;
    let aborted = false;
    let staleServed = false;
    const hold = defineJob({
      name: 'hold',
      input: z.object({ n: z.number() }),
      handler: async (_input, ctx) => {
        runs++;
        started.resolve();
        await release.promise;
        aborted ||= ctx.signal.aborted;
      },
    });
    // The store as this worker's reaper sees it: the stale row comes back once the job runs here.
    const lagging = new Proxy(store, {
      get(target, key) {
        if (key === 'expired') {
          return async (limit: number) => {
            if (runs === 0 || staleServed) return target.expired(limit);
            staleServed = true;
            return [stale!];
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const errors: unknown[] = [];
    const dispatcher = createDispatcher({ store: lagging, reapInterval: 20, onError: (e) => errors.push(e) });
    dispatcher.register(hold);
    await dispatcher.start();
    try {
      await started.promise;
      await until(() => staleServed, 'the reaper to read the stale row');
      // Time for a wrongly expired lease to abort the handler and run the job again.
      await sleep(150);
      release.resolve();
      await dispatcher.stop();
    } finally {
      release.resolve();
    }
    expect(errors).toEqual([]);
    expect({ runs, aborted }).toEqual({ runs: 1, aborted: false });
    await store.open(); // stop() closed it
    expect(await store.get(job!.id)).toMatchObject({ state: 'completed', attempt: 2, leaseToken: null });
  });
});
