import { afterEach, describe, expect, it } from 'vitest';
import { sqliteStore, type Store } from '../../src/index.js';
import { forkReady, type Child } from '../support/child-process.js';
import { databaseUrl, openStore } from './postgres/database.js';
import { tempDatabase } from './sqlite/temp-file.js';

const SCRIPT = new URL('./unique-enqueuer.ts', import.meta.url).pathname;

interface Answer {
  id: string;
  duplicate: boolean;
}

/** Two processes, each enqueuing one key ten times at once: twenty racing enqueues. */
async function race(args: string[], store: Store): Promise<Answer[]> {
  const children: Child[] = await Promise.all([forkReady(SCRIPT, [...args, 'k', '10']), forkReady(SCRIPT, [...args, 'k', '10'])]);
  const answered = children.map(
    ({ child, output }) =>
      new Promise<Answer[]>((resolve, reject) => {
        child.once('message', (m) => resolve(m as Answer[]));
        child.once('exit', (code) => reject(new Error(`enqueuer exited (${code}) without answering:\n${output()}`)));
      }),
  );
  for (const { child } of children) child.send('go');
  const answers = (await Promise.all(answered)).flat();
  await Promise.all(children.map((c) => c.exited));
  expect(answers).toHaveLength(20);
  const counts = await store.counts();
  expect(counts.pending).toBe(1);
  return answers;
}

function oneJob(answers: Answer[]): void {
  expect(new Set(answers.map((a) => a.id)).size).toBe(1);
  expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);
}

describe('unique keys across processes: twenty racing enqueues from two processes make one job', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  it('on SQLite', async () => {
    const temp = tempDatabase();
    const store = sqliteStore({ path: temp.path });
    await store.open();
    cleanups.push(async () => {
      await store.close();
      temp.remove();
    });
    oneJob(await race(['sqlite', temp.path], store));
  }, 60_000);

  it('on Postgres', async () => {
    const { store, schema, cleanup } = await openStore({ onError: () => undefined });
    cleanups.push(cleanup);
    oneJob(await race(['postgres', databaseUrl(), schema], store));
  }, 60_000);
});
