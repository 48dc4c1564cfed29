import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { newJob } from '../../../src/testing/store-jobs.js';
import { type Child, forkReady } from '../../support/child-process.js';
import { databaseUrl, openStore } from './database.js';

const replayer = fileURLToPath(new URL('./replayer.ts', import.meta.url));

describe('postgres: dlq.replayAll racing across processes', () => {
  const children: Child[] = [];
  let cleanup: (() => Promise<void>) | null = null;
  afterEach(async () => {
    for (const { child } of children.splice(0)) child.kill();
    await cleanup?.();
  });

  it('replays each dead job exactly once, however many processes replay at the same moment', async () => {
    const opened = await openStore();
    cleanup = opened.cleanup;
    const { store, schema } = opened;
    const jobs = await store.insert(Array.from({ length: 300 }, (_, n) => newJob({ input: { n } })));
    expect(await store.write(jobs.map((j) => ({ id: j.id, from: 'pending' as const, to: 'dlq' as const })))).toEqual(jobs.map(() => true));
    for (let i = 0; i < 3; i++) children.push(await forkReady(replayer, [databaseUrl(), schema]));
    const answers = children.map(
      ({ child, output }) =>
        new Promise<number>((resolve, reject) => {
          child.on('message', (m) => resolve((m as { replayed: number }).replayed));
          child.on('exit', (code) => code !== 0 && reject(new Error(`replayer exited ${code}:\n${output()}`)));
        }),
    );
    for (const { child } of children) child.send('go');
    const replayed = await Promise.all(answers);
    expect(replayed.reduce((a, b) => a + b, 0)).toBe(300);
    expect(await store.counts()).toMatchObject({ pending: 300, dlq: 0 });
  });
});
