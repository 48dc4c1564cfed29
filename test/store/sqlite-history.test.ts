import { describe, expect, it } from 'vitest';
import { CorruptJobError } from '../../src/index.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { newJob, room } from '../../src/testing/store-jobs.js';
import { sqliteFileFixture } from './sqlite/file-fixture.js';

const fixture = sqliteFileFixture();
const { openStore, rawConnection } = fixture;

const WORKER = 'worker-pod-7d9f8b6c5-x2k4p:4242:a1b2c3';

/** Leases one job as `worker` and completes it. */
async function runOne(store: Awaited<ReturnType<typeof openStore>>, worker: string): Promise<string> {
  const [job] = await store.insert([newJob()]);
  const { jobs } = await store.lease({ ...room(1), leaseMs: 30_000, worker });
  const leased = jobs[0]!;
  expect(leased.id).toBe(job!.id);
  expect(await store.write([{ id: job!.id, from: 'running', to: 'completed', token: leased.leaseToken, attempt: 1, event: 'SUCCEED', worker }])).toEqual([true]);
  return job!.id;
}

const historyText = (id: string) => (rawConnection().prepare('SELECT history FROM dispatch_jobs WHERE id = ?').get(Number(id)) as { history: string }).history;

describe('sqlite job history: the compact entry', () => {
  it('keeps a worker name once, in dispatch_workers, however many steps name it; entries hold its number and the time since creation', async () => {
    const store = await openStore();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await runOne(store, WORKER));
    expect(rawConnection().prepare('SELECT name FROM dispatch_workers').all()).toEqual([{ name: WORKER }]);
    const text = historyText(ids[0]!);
    expect(text).not.toContain(WORKER);
    // Whole numbers as integers: a bound JS number is a real to SQLite, which JSON would spell 1.0.
    expect(text).not.toMatch(/\.0\b/);
    const [lease, done] = JSON.parse(`[${text}]`) as unknown[][];
    expect(lease!.slice(1)).toEqual(['pending', 'running', 'LEASE', 1, expect.any(Number)]);
    expect(done!.slice(1)).toEqual(['running', 'completed', 'SUCCEED', 1, lease![5]]);
    // Milliseconds since the row's creation, not epoch times: a few digits.
    expect(lease![0]).toBeGreaterThanOrEqual(0);
    expect(lease![0]).toBeLessThan(60_000);
    // The first shape took about 190 bytes for these two steps with this worker's name.
    expect(text.length).toBeLessThan(90);
    const history = await store.history(ids[0]!);
    expect(history.slice(1).map((e) => e.worker)).toEqual([WORKER, WORKER]);
    expect(history[1]!.at).toBe(history[0]!.at + (lease![0] as number));
  });

  it('reads a worker named by another process, from the file', async () => {
    const writer = await openStore();
    const id = await runOne(writer, 'elsewhere:1:abcdef');
    const reader = await openStore();
    expect((await reader.history(id)).slice(1).map((e) => [e.event, e.worker])).toEqual([
      ['LEASE', 'elsewhere:1:abcdef'],
      ['SUCCEED', 'elsewhere:1:abcdef'],
    ]);
  });

  it('keeps the error as a seventh element only on a step that stops short of success', async () => {
    const store = await openStore();
    const [job] = await store.insert([newJob()]);
    const [leased] = (await store.lease({ ...room(1), leaseMs: 30_000, worker: WORKER })).jobs;
    const error = { name: 'Error', message: 'boom' };
    await store.write([{ id: job!.id, from: 'running', to: 'retrying', token: leased!.leaseToken, attempt: 1, runAt: Date.now() + 60_000, lastError: error, event: 'FAIL', worker: WORKER }]);
    const entries = JSON.parse(`[${historyText(job!.id)}]`) as unknown[][];
    expect(entries.map((e) => e.length)).toEqual([6, 7]);
    expect(entries[1]![6]).toEqual(error);
    expect((await store.history(job!.id))[2]).toMatchObject({ from: 'running', to: 'retrying', event: 'FAIL', error, worker: WORKER });
  });

  it('reads a row whose entries were kept in the first shape, and one that holds both shapes', async () => {
    const store = await openStore();
    const [job] = await store.insert([newJob()]);
    // A lease taken by a version before the compact entry, running still as this one starts.
    const at = Date.now();
    const old = JSON.stringify(['pending', 'running', 'LEASE', 1, 'old-version:1:aaaaaa', at, null]);
    rawConnection()
      .prepare(`UPDATE dispatch_jobs SET state = 'running', attempt = 1, lease_token = 't', lease_expires_at = ?, history = ? WHERE id = ?`)
      .run(at + 30_000, old, Number(job!.id));
    expect((await store.history(job!.id)).slice(1)).toEqual([{ from: 'pending', to: 'running', event: 'LEASE', attempt: 1, worker: 'old-version:1:aaaaaa', at, error: null }]);
    await store.write([{ id: job!.id, from: 'running', to: 'completed', token: 't', attempt: 1, event: 'SUCCEED', worker: WORKER }]);
    expect((await store.history(job!.id)).slice(1).map((e) => [e.event, e.worker])).toEqual([
      ['LEASE', 'old-version:1:aaaaaa'],
      ['SUCCEED', WORKER],
    ]);
  });

  it('refuses, as corrupt, an entry that names a worker the file does not hold', async () => {
    const store = await openStore();
    const [job] = await store.insert([newJob()]);
    rawConnection().prepare('UPDATE dispatch_jobs SET history = ? WHERE id = ?').run(JSON.stringify([5, 'pending', 'running', 'LEASE', 1, 999]), Number(job!.id));
    const failure = await store.history(job!.id).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CorruptJobError);
    expect(String(failure)).toMatch(/worker 999/);
  });

  it('brings a file from before the compact entry up to date: the REPLACE trigger then writes it too', async () => {
    const db = rawConnection();
    db.exec(`CREATE TABLE dispatch_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
    const record = db.prepare('INSERT INTO dispatch_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const step of MIGRATIONS.filter((m) => m.version <= 10)) {
      db.exec(step.sql);
      record.run(step.version, step.name, Date.now());
    }
    // The trigger as version 10 left it wrote the first shape: put that one back, as an old file holds it.
    db.exec(`DROP TRIGGER dispatch_jobs_replaced;
      CREATE TRIGGER dispatch_jobs_replaced AFTER UPDATE OF input ON dispatch_jobs BEGIN
        UPDATE dispatch_jobs SET history = coalesce(history || ',', '') || json_array(NEW.state, NEW.state, 'REPLACE', NEW.attempt, NULL, NEW.updated_at, NULL) WHERE id = NEW.id;
      END;`);
    const store = await openStore();
    const unique = { key: 'k', keepForMs: 0, onConflict: 'replace' as const, debounce: false };
    const [job] = await store.insert([newJob({ unique })]);
    await store.insert([newJob({ unique, input: { n: 2 } })]);
    const entries = JSON.parse(`[${historyText(job!.id)}]`) as unknown[][];
    expect(entries).toHaveLength(1);
    expect(typeof entries[0]![0]).toBe('number');
    expect((await store.history(job!.id)).slice(1)).toMatchObject([{ from: 'pending', to: 'pending', event: 'REPLACE', worker: null }]);
  });
});
