import { afterEach, describe, expect, it } from 'vitest';
import { sqliteStore, type Store } from '../../src/index.js';
import { forkReady } from '../support/child-process.js';
import { until } from '../support/until.js';
import { databaseUrl, openStore, sql } from '../store/postgres/database.js';
import { tempDatabase } from '../store/sqlite/temp-file.js';
import Database from 'better-sqlite3';

const SCRIPT = new URL('./support/keyed-enqueuer.ts', import.meta.url).pathname;

/**
 * Kills a process busy enqueuing keyed jobs, three times over, and checks
 * after each kill that keys and jobs agree: no job was inserted without its
 * key nor a key left pointing at no job, and no key has two jobs (nothing
 * runs, so every job waits and each key holds exactly one).
 */
async function killMidEnqueues(args: string[], check: () => Promise<{ jobs: number; keys: number; dangling: number }>): Promise<void> {
  for (let kill = 0; kill < 3; kill++) {
    const victim = await forkReady(SCRIPT, args);
    const before = victim.output().length;
    await until(() => (victim.output().length - before) / 'enqueued 0\n'.length > 200, 'the enqueuer to be busy', 30_000, 10);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const { jobs, keys, dangling } = await check();
    expect(dangling, 'keys pointing at no job').toBe(0);
    expect(jobs, 'one job per key').toBe(keys);
    expect(keys).toBeLessThanOrEqual(50);
  }
}

describe('unique keys: a process killed in the middle of keyed enqueues', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('leaves keys and jobs in agreement on SQLite', { timeout: 120_000 }, async () => {
    const temp = tempDatabase('dispatch-keys-kill-');
    const store: Store = sqliteStore({ path: temp.path });
    await store.open();
    await store.close();
    cleanups.push(async () => temp.remove());
    await killMidEnqueues(['sqlite', temp.path], async () => {
      const raw = new Database(temp.path);
      try {
        expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
        const count = (text: string) => (raw.prepare(text).get() as { n: number }).n;
        return {
          jobs: count('SELECT count(*) AS n FROM dispatch_jobs'),
          keys: count('SELECT count(*) AS n FROM dispatch_job_keys'),
          dangling: count('SELECT count(*) AS n FROM dispatch_job_keys k LEFT JOIN dispatch_jobs j ON j.id = k.job_id WHERE j.id IS NULL'),
        };
      } finally {
        raw.close();
      }
    });
  });

  it('leaves keys and jobs in agreement on Postgres', { timeout: 120_000 }, async () => {
    const { schema, cleanup } = await openStore({ onError: () => undefined });
    cleanups.push(cleanup);
    const s = `"${schema}"`;
    await killMidEnqueues(['postgres', databaseUrl(), schema], async () => {
      const count = async (text: string) => (await sql<{ n: number }>(text))[0]!.n;
      return {
        jobs: await count(`SELECT count(*)::int AS n FROM ${s}.jobs`),
        keys: await count(`SELECT count(*)::int AS n FROM ${s}.job_keys`),
        dangling: await count(`SELECT count(*)::int AS n FROM ${s}.job_keys k LEFT JOIN ${s}.jobs j ON j.id = k.job_id WHERE j.id IS NULL`),
      };
    });
  });
});
