import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDispatcher, defineJob, JobKeyConflictError, type SqliteStore, sqliteStore, type StoredJob, StoreError } from '../../src/index.js';
import { newJob } from '../../src/testing/store-jobs.js';
import { until } from '../support/until.js';
import { spawnScript } from './sqlite/processes.js';
import { sqliteFileFixture } from './sqlite/file-fixture.js';

const fixture = sqliteFileFixture('dispatch-sqlite-group-');
const { openStore, rawConnection, opened, children } = fixture;

/**
 * Commits in the WAL file since its last restart, read from the file: each
 * commit ends with one frame whose header gives the database size (the
 * others say 0), and frames of this generation carry the header's salts.
 * The tests write far less than a checkpoint's 1,000 pages, so none restarts it.
 */
function commitsInWal(): number {
  const fd = openSync(`${fixture.temp.path}-wal`, 'r');
  try {
    const size = fstatSync(fd).size;
    const header = Buffer.alloc(32);
    if (readSync(fd, header, 0, 32, 0) < 32) return 0;
    const pageSize = header.readUInt32BE(8);
    const salts = header.subarray(16, 24);
    const frame = Buffer.alloc(24);
    let commits = 0;
    for (let at = 32; at + 24 + pageSize <= size; at += 24 + pageSize) {
      readSync(fd, frame, 0, 24, at);
      if (!frame.subarray(8, 16).equals(salts)) break;
      if (frame.readUInt32BE(4) !== 0) commits++;
    }
    return commits;
  } finally {
    closeSync(fd);
  }
}

/** The outcome of each promise, in order: the record or the error. */
async function outcomes(calls: Array<Promise<StoredJob[]>>): Promise<Array<StoredJob[] | Error>> {
  return Promise.all(calls.map((call) => call.catch((error: Error) => error)));
}

describe('sqlite group commit: inserts called together share one transaction', () => {
  it('commits 50 concurrent inserts once, each caller answered with its own job, ids in call order', async () => {
    const store = await openStore();
    const before = commitsInWal();
    const stored = await Promise.all(Array.from({ length: 50 }, (_, i) => store.insert([newJob({ input: { i } })])));
    expect(commitsInWal() - before).toBe(1);
    expect(stored.map(([job]) => job!.input)).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
    const ids = stored.map(([job]) => Number(job!.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(50);
    for (const [job] of stored) expect(await store.get(job!.id)).toMatchObject({ id: job!.id, input: job!.input, state: 'pending' });
  });

  it('gathers inserts called from separate callbacks of one turn of the event loop, as requests arriving together are', async () => {
    const store = await openStore();
    const before = commitsInWal();
    // Node runs the microtasks between two such callbacks: a flush on a microtask would commit each on its own.
    const stored = await Promise.all(
      Array.from({ length: 20 }, (_, i) => new Promise<StoredJob[]>((resolve, reject) => setImmediate(() => store.insert([newJob({ input: i })]).then(resolve, reject)))),
    );
    expect(commitsInWal() - before).toBe(1);
    expect(stored.map(([job]) => job!.input)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('commits each insert on its own when each waits for the last, as before', async () => {
    const store = await openStore();
    const before = commitsInWal();
    for (let i = 0; i < 5; i++) await store.insert([newJob({ input: { i } })]);
    expect(commitsInWal() - before).toBe(5);
  });

  it('shares one commit among concurrent enqueues through the dispatcher, and tells this process of them once', async () => {
    const mark = defineJob({ name: 'mark', input: z.object({ i: z.number() }), handler: () => {} });
    const store = sqliteStore({ path: fixture.temp.path });
    // Only enqueues: no worker of its own commits beside them.
    const dispatcher = createDispatcher({ store }).register(mark);
    try {
      await dispatcher.enqueue(mark, { i: -1 });
      const heard: number[] = [];
      store.subscribe((runAt) => heard.push(runAt));
      const before = commitsInWal();
      const records = await Promise.all(Array.from({ length: 30 }, (_, i) => dispatcher.enqueue(mark, { i })));
      expect(commitsInWal() - before).toBe(1);
      expect(records.map((r) => r.input)).toEqual(Array.from({ length: 30 }, (_, i) => ({ i })));
      expect(heard).toEqual([Math.min(...records.map((r) => r.runAt.getTime()))]);
    } finally {
      await dispatcher.stop();
    }
  });

  it('reads the commit of a batch from another connection as soon as each caller is answered', async () => {
    const store = await openStore();
    const other = rawConnection();
    const read = other.prepare<[number], { input: string }>('SELECT input FROM dispatch_jobs WHERE id = ?');
    const calls = Array.from({ length: 20 }, (_, i) =>
      store.insert([newJob({ input: { i } })]).then(([job]) => read.get(Number(job!.id))?.input),
    );
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, (_, i) => JSON.stringify({ i })));
  });
});

describe('sqlite group commit: a failing call fails alone', () => {
  it('rejects only the caller whose row a trigger refuses; the others of the batch are stored, in one commit', async () => {
    const store = await openStore();
    rawConnection().exec(`CREATE TRIGGER refuse_poison BEFORE INSERT ON dispatch_jobs WHEN NEW.name = 'poison'
      BEGIN SELECT RAISE(ABORT, 'poison refused'); END`);
    const before = commitsInWal();
    const results = await outcomes([
      store.insert([newJob({ input: 0 })]),
      store.insert([newJob({ input: 1 }), newJob({ name: 'poison', input: 2 }), newJob({ input: 3 })]),
      store.insert([newJob({ input: 4 })]),
      store.insert([newJob({ name: 'poison', input: 5 })]),
      store.insert([newJob({ input: 6 }), newJob({ input: 7 })]),
    ]);
    expect(commitsInWal() - before).toBe(1);
    for (const i of [1, 3]) {
      expect(results[i]).toBeInstanceOf(StoreError);
      expect((results[i] as StoreError).message).toMatch(/inserting jobs failed: poison refused/);
      expect(((results[i] as StoreError).cause as { code: string }).code).toMatch(/^SQLITE_CONSTRAINT/);
    }
    const stored = [results[0], results[2], results[4]] as StoredJob[][];
    expect(stored.map((jobs) => jobs.map((j) => j.input))).toEqual([[0], [4], [6, 7]]);
    // Nothing of the refused callers' batches is left, not even the rows before the refused one.
    const inputs = rawConnection().prepare('SELECT input FROM dispatch_jobs ORDER BY id').pluck().all();
    expect(inputs).toEqual(['0', '4', '6', '7']);
    const ids = stored.flat().map((j) => Number(j.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('rejects only the caller whose input cannot be read back, leaving nothing of its row', async () => {
    const store = await openStore();
    const results = await outcomes([
      store.insert([newJob({ input: 'a' })]),
      store.insert([newJob({ inputJson: '{not json' })]),
      store.insert([newJob({ input: 'b' })]),
    ]);
    expect(results[1]).toBeInstanceOf(StoreError);
    expect((results[0] as StoredJob[])[0]!.input).toBe('a');
    expect((results[2] as StoredJob[])[0]!.input).toBe('b');
    expect((await store.counts()).pending).toBe(2);
  });

  it('keeps keyed inserts in call order inside the batch: a later one sees an earlier one, a conflict fails only its caller', async () => {
    const store = await openStore();
    const key = (onConflict: 'ignore' | 'error') => ({ key: 'k', keepForMs: 0, onConflict, debounce: false });
    const results = await outcomes([
      store.insert([newJob({ input: 'plain' })]),
      store.insert([newJob({ input: 'first', unique: key('ignore') })]),
      store.insert([newJob({ input: 'second', unique: key('ignore') })]),
      store.insert([newJob({ input: 'third', unique: key('error') })]),
      store.insert([newJob({ input: 'after' })]),
    ]);
    const [plain, first, second, third, after] = results;
    const holder = (first as StoredJob[])[0]!;
    expect(holder).toMatchObject({ input: 'first' });
    expect(holder.duplicate).toBeUndefined();
    expect((second as StoredJob[])[0]).toMatchObject({ id: holder.id, input: 'first', duplicate: 'kept' });
    expect(third).toBeInstanceOf(JobKeyConflictError);
    expect((after as StoredJob[])[0]).toMatchObject({ input: 'after' });
    expect(Number((plain as StoredJob[])[0]!.id)).toBeLessThan(Number(holder.id));
    expect(Number(holder.id)).toBeLessThan(Number((after as StoredJob[])[0]!.id));
    expect((await store.counts()).pending).toBe(3);
  });

  it('fails every caller of a batch whose transaction cannot take the lock in busyTimeout, storing none', async () => {
    const store = await openStore({ busyTimeout: 100 });
    const other = rawConnection();
    other.exec('BEGIN IMMEDIATE');
    const results = await outcomes(Array.from({ length: 5 }, (_, i) => store.insert([newJob({ input: i })])));
    other.exec('COMMIT');
    for (const result of results) {
      expect(result).toBeInstanceOf(StoreError);
      expect((result as StoreError).message).toMatch(/busyTimeout \(100 ms\)/);
    }
    expect((await store.counts()).pending).toBe(0);
  });

  it('commits the callers that came while a batch waited for the lock after it, ids in call order', async () => {
    const store = await openStore({ busyTimeout: '5s' });
    const other = rawConnection();
    other.exec('BEGIN IMMEDIATE');
    const waiting = Array.from({ length: 5 }, (_, i) => store.insert([newJob({ input: i })]));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const later = Array.from({ length: 5 }, (_, i) => store.insert([newJob({ input: 5 + i })]));
    setTimeout(() => other.exec('COMMIT'), 50);
    const stored = (await Promise.all([...waiting, ...later])).map(([job]) => job!);
    expect(stored.map((j) => j.input)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    const ids = stored.map((j) => Number(j.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });
});

describe('sqlite group commit: closing with callers waiting', () => {
  it('commits and answers the inserts called before close, refuses those called after, and leaves none hanging', async () => {
    const store = sqliteStore({ path: fixture.temp.path });
    await store.open();
    const before = Array.from({ length: 10 }, (_, i) => store.insert([newJob({ input: i })]));
    const closing = store.close();
    const after = store.insert([newJob({ input: 'late' })]);
    await closing;
    const stored = (await Promise.all(before)).map(([job]) => job!);
    await expect(after).rejects.toThrow(StoreError);
    const reopened = await openStore();
    for (const job of stored) expect(await reopened.get(job.id)).toMatchObject({ input: job.input });
    expect((await reopened.counts()).pending).toBe(10);
  });

  it('waits at close for a batch waiting on another connection\'s lock, then commits it', async () => {
    const store = sqliteStore({ path: fixture.temp.path, busyTimeout: '5s' });
    await store.open();
    const other = rawConnection();
    other.exec('BEGIN IMMEDIATE');
    const calls = Array.from({ length: 3 }, (_, i) => store.insert([newJob({ input: i })]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closing = store.close();
    setTimeout(() => other.exec('COMMIT'), 50);
    await closing;
    expect((await Promise.all(calls)).map(([job]) => job!.input)).toEqual([0, 1, 2]);
    expect(other.prepare('SELECT count(*) FROM dispatch_jobs').pluck().get()).toBe(3);
  });

  it('rejects at close a batch whose lock never comes, and closes', async () => {
    const store = sqliteStore({ path: fixture.temp.path, busyTimeout: 100 });
    await store.open();
    const other = rawConnection();
    other.exec('BEGIN IMMEDIATE');
    const calls = outcomes(Array.from({ length: 3 }, (_, i) => store.insert([newJob({ input: i })])));
    await store.close();
    other.exec('COMMIT');
    for (const result of await calls) expect(result).toBeInstanceOf(StoreError);
    expect(other.prepare('SELECT count(*) FROM dispatch_jobs').pluck().get()).toBe(0);
  });

  it('can be opened again after close and groups inserts as before', async () => {
    const store = await openStore();
    await store.insert([newJob()]);
    await store.close();
    await store.open();
    const before = commitsInWal();
    await Promise.all(Array.from({ length: 10 }, () => store.insert([newJob()])));
    expect(commitsInWal() - before).toBe(1);
  });
});

describe('sqlite group commit: durability', () => {
  it('a process of concurrent producers killed at any moment leaves every enqueue that resolved in the file', async () => {
    const enqueuer = spawnScript('concurrent-enqueuer.ts', [fixture.temp.path]);
    children.push(enqueuer);
    const resolved = () => enqueuer.output().split('\n').filter((l) => l.startsWith('resolved '));
    await until(() => resolved().length >= 300, '300 enqueues to resolve', 30_000, 5);
    enqueuer.kill('SIGKILL');
    expect(await enqueuer.exited).toBeNull();
    const reported = resolved().map((line) => line.split(' ').slice(1).map(Number) as [number, number, number]);
    const raw = rawConnection();
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    const inputOf = raw.prepare<[number], string>('SELECT input FROM dispatch_jobs WHERE id = ?').pluck();
    for (const [id, p, i] of reported) expect(JSON.parse(inputOf.get(id)!)).toEqual({ p, i });
    // Each producer's jobs are in the file without a gap: an enqueue is stored before the next one starts.
    const rows = raw.prepare<[], string>('SELECT input FROM dispatch_jobs ORDER BY id').pluck().all().map((s) => JSON.parse(s) as { p: number; i: number });
    for (let p = 0; p < 20; p++) {
      const mine = rows.filter((r) => r.p === p).map((r) => r.i);
      expect(mine).toEqual(mine.map((_, i) => i));
    }
  }, 60_000);
});
